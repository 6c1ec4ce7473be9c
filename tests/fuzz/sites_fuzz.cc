// Arbitrary text as a sites file: a registry or an error that names the
// file. Never a crash; every parsed site has coordinates in range.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "collector/fleet/sites.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto registry = atmhealth::collector::fleet::SiteRegistry::Parse(text, "fuzz.toml");
  if (!registry.ok()) {
    if (registry.error().message().rfind("fuzz.toml", 0) != 0) std::abort();
    return 0;
  }
  for (const auto& site : registry->sites()) {
    if (site.latitude < -90 || site.latitude > 90 || site.longitude < -180 ||
        site.longitude > 180 || site.id.empty()) {
      std::abort();
    }
    (void)site.OpenAt(static_cast<std::int64_t>(size) * 1'000'000'007LL);
  }
  return 0;
}
