// Arbitrary text as atmhealthd.toml: either a valid config or an error that
// names the file and a line. Never a crash.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "agent/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = atmhealth::agent::ParseAgentConfig(text, "fuzz.toml");
  if (!config.ok() && config.error().message().rfind("fuzz.toml:", 0) != 0) std::abort();
  return 0;
}
