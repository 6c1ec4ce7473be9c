// libsystemd, loaded with dlopen the first time a process started by systemd
// needs it (NOTIFY_SOCKET, WATCHDOG_USEC, the journal on stderr); the calls
// are libsystemd's own. A process that systemd did not start maps neither it
// nor the six libraries it needs (1.1 MiB of the agent's RSS, BENCHMARKS.md
// §5): nothing references libsystemd at link time, so it is not a needed
// library (platform/CMakeLists.txt still names it for its headers). The
// packages depend on libsystemd0 by name, as shlibdeps cannot see it.
// Defined in service_notify_linux.cc.
#ifndef ATMHEALTH_PLATFORM_LINUX_SYSTEMD_LIBRARY_LINUX_H_
#define ATMHEALTH_PLATFORM_LINUX_SYSTEMD_LIBRARY_LINUX_H_

#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

namespace atmhealth::platform {

struct SystemdLibrary {
  decltype(&sd_notify) notify = nullptr;
  decltype(&sd_watchdog_enabled) watchdog_enabled = nullptr;
  decltype(&sd_journal_sendv) journal_sendv = nullptr;
};

// libsystemd.so.0's functions, loaded on the first call (thread-safe); null
// when it cannot be loaded, which is written once to stderr.
const SystemdLibrary* Systemd();

}  // namespace atmhealth::platform

#endif  // ATMHEALTH_PLATFORM_LINUX_SYSTEMD_LIBRARY_LINUX_H_
