// Arbitrary text as /sys/class/net/<if>/operstate and carrier: a state or an
// error naming the file. Never a crash.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "platform/link_state.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto oper = atmhealth::platform::ParseOperState(text, "operstate");
  if (!oper.ok() && oper.error().message().rfind("operstate:1: ", 0) != 0) std::abort();
  const auto carrier = atmhealth::platform::ParseCarrier(text, "carrier");
  if (!carrier.ok() && carrier.error().message().rfind("carrier:1: ", 0) != 0) std::abort();
  return 0;
}
