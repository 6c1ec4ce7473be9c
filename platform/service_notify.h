// Tells the service manager (systemd) that the daemon is ready, alive, or
// stopping. A no-op when the process was not started by a service manager.
#ifndef ATMHEALTH_PLATFORM_SERVICE_NOTIFY_H_
#define ATMHEALTH_PLATFORM_SERVICE_NOTIFY_H_

#include <chrono>
#include <optional>
#include <string_view>

namespace atmhealth::platform {

void NotifyReady(std::string_view status);
void NotifyStatus(std::string_view status);
void NotifyStopping();
void NotifyWatchdog();
// The interval at which NotifyWatchdog must be called, when the service
// manager asked for one (WatchdogSec=).
std::optional<std::chrono::microseconds> WatchdogInterval();

}  // namespace atmhealth::platform

#endif  // ATMHEALTH_PLATFORM_SERVICE_NOTIFY_H_
