#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "platform/host.h"

namespace atmhealth::platform {

std::string HostName() {
  // POSIX leaves the name unterminated when it is truncated; the extra byte
  // and the explicit terminator make that case a truncated name, not garbage.
  char name[HOST_NAME_MAX + 2] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0) return {};
  name[sizeof(name) - 1] = '\0';
  return name;
}

bool BootedWithSystemd() {
  struct stat info {};
  return ::lstat("/run/systemd/system", &info) == 0 && S_ISDIR(info.st_mode);
}

}  // namespace atmhealth::platform
