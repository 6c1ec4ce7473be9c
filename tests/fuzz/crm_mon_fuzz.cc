// Arbitrary bytes as crm_mon XML, both the old <crm_mon> and the new
// <pacemaker-result> form: a cluster status or an error naming its line.
// Never a crash.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "platform/pacemaker.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view xml(reinterpret_cast<const char*>(data), size);
  const auto status = atmhealth::platform::ParseCrmMonXml(xml, "crm_mon");
  if (!status.ok()) {
    if (status.error().message().rfind("crm_mon:", 0) != 0) std::abort();
    return 0;
  }
  for (const auto& node : status->nodes) {
    if (node.name.empty()) std::abort();
  }
  for (const auto& resource : status->resources) {
    if (resource.id.empty()) std::abort();
  }
  return 0;
}
