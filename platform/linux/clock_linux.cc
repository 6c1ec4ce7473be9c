#include <fstream>
#include <string>

#include "platform/clock.h"

namespace atmhealth::platform {

std::string BootId() {
  static const std::string boot_id = [] {
    std::ifstream in("/proc/sys/kernel/random/boot_id");
    std::string id;
    std::getline(in, id);
    return id;
  }();
  return boot_id;
}

}  // namespace atmhealth::platform
