#include <systemd/sd-daemon.h>

#include <string>

#include "platform/service_notify.h"

namespace atmhealth::platform {

void NotifyReady(std::string_view status) {
  sd_notify(0, ("READY=1\nSTATUS=" + std::string(status)).c_str());
}

void NotifyStatus(std::string_view status) {
  sd_notify(0, ("STATUS=" + std::string(status)).c_str());
}

void NotifyStopping() { sd_notify(0, "STOPPING=1"); }

void NotifyWatchdog() { sd_notify(0, "WATCHDOG=1"); }

std::optional<std::chrono::microseconds> WatchdogInterval() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) return std::chrono::microseconds(usec);
  return std::nullopt;
}

}  // namespace atmhealth::platform
