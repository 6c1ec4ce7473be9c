// `atmhealthctl export`: one bounded bundle for the second-line team, in
// one .tar.gz file (tools/ctl/bundle_archive.h) with these members:
//   README.txt        what is inside, what was redacted, cut or missing, and why
//   manifest.json     the same for scripts: every file with its size, the notes
//   events.jsonl      events from the buffer (read-only, as `events`), newest
//                     kept when --max-events or the size bound cuts, one JSON
//                     object per line as `events --json`
//   config/<name>     the configuration file with secrets redacted
//                     (tools/ctl/config_redaction.h)
//   diagnostics.json  versions (atmhealthctl, buffer schema, protocol), the
//                     host, the buffer's summary, the configuration's
//                     problems, the running daemon's `status` answer or why
//                     there is none
//   logs/...          the rotated log files ([log] file), newest bytes kept,
//                     and the journal of the unit when the system runs
//                     systemd (journalctl through platform/command_runner.h)
// The whole file is at most max_bytes: the fixed members are small, events
// get up to half of what remains and the logs the rest.
#ifndef ATMHEALTH_TOOLS_CTL_EXPORT_COMMAND_H_
#define ATMHEALTH_TOOLS_CTL_EXPORT_COMMAND_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>

#include "tools/ctl/event_history.h"

namespace atmhealth::ctl {

inline constexpr std::uint64_t kMinExportBytes = 256 * 1024;
inline constexpr std::uint64_t kDefaultExportBytes = 8 * 1024 * 1024;

struct ExportRequest {
  std::string config_path;  // --config; empty: the packaged file, else the defaults
  std::string store_path;   // the buffer, instead of the config's
  std::string socket_path;  // the control socket, instead of the config's
  std::string output;       // empty: atmhealth-export-<device>-<UTC time>.tar.gz here
  EventFilter filter;       // since/until
  std::size_t max_events = 10000;
  std::uint64_t max_bytes = kDefaultExportBytes;  // the whole file, at least kMinExportBytes
  std::size_t journal_lines = 2000;               // journalctl -n
  std::string unit = "atmhealthd";                // journalctl -u
  // For the daemon's status answer and for journalctl each.
  std::chrono::milliseconds timeout{5000};
};

// Writes the bundle, then its name, size and notes to `out`; errors to
// `err`. kExitOk when written (whatever it had to leave out is said inside),
// kExitFailure when it could not be written, kExitUsage when `output`
// exists.
int RunExport(const ExportRequest& request, std::ostream& out, std::ostream& err);

}  // namespace atmhealth::ctl

#endif  // ATMHEALTH_TOOLS_CTL_EXPORT_COMMAND_H_
