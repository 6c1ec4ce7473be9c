// Facts about the machine the agent runs on.
#ifndef ATMHEALTH_PLATFORM_HOST_H_
#define ATMHEALTH_PLATFORM_HOST_H_

#include <string>

namespace atmhealth::platform {

// The machine's host name (gethostname(2) on Linux), used as the default
// device id. Empty when the OS reports none.
std::string HostName();

}  // namespace atmhealth::platform

#endif  // ATMHEALTH_PLATFORM_HOST_H_
