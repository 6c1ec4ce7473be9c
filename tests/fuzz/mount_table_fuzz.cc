// Arbitrary text as /proc/self/mounts: every line either yields a mount or a
// problem naming its line. Never a crash.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "platform/filesystem_stats.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto table = atmhealth::platform::ParseDataMounts(text, "mounts");
  for (const auto& problem : table.problems) {
    if (problem.rfind("mounts:", 0) != 0) std::abort();
  }
  return 0;
}
