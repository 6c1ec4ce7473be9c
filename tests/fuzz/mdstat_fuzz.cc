// Arbitrary text as /proc/mdstat: arrays or an error naming its line. Never
// a crash; every fact stays within what the text can say.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "platform/md_raid.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto stat = atmhealth::platform::ParseMdStat(text, "mdstat");
  if (!stat.ok()) {
    if (stat.error().message().rfind("mdstat:", 0) != 0) std::abort();
    return 0;
  }
  for (const auto& array : stat->arrays) {
    if (array.name.empty() || array.slot_status.size() > size) std::abort();
    for (const int slot : array.MissingSlots()) {
      if (slot < 0 || static_cast<std::size_t>(slot) >= array.slot_status.size()) std::abort();
    }
    if (array.sync && (array.sync->percent < 0 || array.sync->percent > 100)) std::abort();
    (void)array.Degraded();
  }
  return 0;
}
