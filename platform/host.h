// Facts about the machine the agent runs on.
#ifndef ATMHEALTH_PLATFORM_HOST_H_
#define ATMHEALTH_PLATFORM_HOST_H_

#include <string>

namespace atmhealth::platform {

// The machine's host name (gethostname(2) on Linux), used as the default
// device id. Empty when the OS reports none.
std::string HostName();

// Whether the machine was booted with systemd as its service manager (its
// journal then holds the services' logs): sd_booted(3)'s test, the
// directory /run/systemd/system.
bool BootedWithSystemd();

}  // namespace atmhealth::platform

#endif  // ATMHEALTH_PLATFORM_HOST_H_
