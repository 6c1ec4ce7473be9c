// Arbitrary text as /proc/net/bonding/<bond>: a status or an error naming its
// line. Never a crash.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "platform/bonding.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto bond = atmhealth::platform::ParseBondStatus(text, "bond0", "bond0");
  if (!bond.ok()) {
    if (bond.error().message().rfind("bond0:", 0) != 0) std::abort();
    return 0;
  }
  if (bond->SlavesDown().size() > bond->slaves.size()) std::abort();
  return 0;
}
