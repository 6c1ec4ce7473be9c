// libsystemd's notify protocol, and the loader of libsystemd itself
// (platform/linux/systemd_library_linux.h).
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "platform/linux/systemd_library_linux.h"
#include "platform/service_notify.h"

namespace atmhealth::platform {
namespace {

template <typename Function>
bool Resolve(void* library, const char* name, Function& function) {
  function = reinterpret_cast<Function>(dlsym(library, name));
  return function != nullptr;
}

const SystemdLibrary* LoadSystemd() {
  void* library = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
  static SystemdLibrary loaded;
  if (library != nullptr && Resolve(library, "sd_notify", loaded.notify) &&
      Resolve(library, "sd_watchdog_enabled", loaded.watchdog_enabled) &&
      Resolve(library, "sd_journal_sendv", loaded.journal_sendv)) {
    return &loaded;
  }
  std::fprintf(stderr,
               "libsystemd.so.0 could not be loaded (%s): no systemd notifications or journal\n",
               dlerror());
  return nullptr;
}

// sd_notify, when a service manager listens (NOTIFY_SOCKET): without one,
// sd_notify does nothing, so libsystemd is not even loaded.
void Notify(const std::string& message) {
  if (std::getenv("NOTIFY_SOCKET") == nullptr) return;
  if (const SystemdLibrary* systemd = Systemd()) systemd->notify(0, message.c_str());
}

}  // namespace

const SystemdLibrary* Systemd() {
  static const SystemdLibrary* const library = LoadSystemd();
  return library;
}

void NotifyReady(std::string_view status) { Notify("READY=1\nSTATUS=" + std::string(status)); }

void NotifyStatus(std::string_view status) { Notify("STATUS=" + std::string(status)); }

void NotifyStopping() { Notify("STOPPING=1"); }

void NotifyWatchdog() { Notify("WATCHDOG=1"); }

std::optional<std::chrono::microseconds> WatchdogInterval() {
  // sd_watchdog_enabled reads WATCHDOG_USEC; without it there is no watchdog.
  if (std::getenv("WATCHDOG_USEC") == nullptr) return std::nullopt;
  const SystemdLibrary* systemd = Systemd();
  std::uint64_t usec = 0;
  if (systemd != nullptr && systemd->watchdog_enabled(0, &usec) > 0 && usec > 0) {
    return std::chrono::microseconds(usec);
  }
  return std::nullopt;
}

}  // namespace atmhealth::platform
