// Where a daemon's log goes, chosen once at start:
//   - the systemd journal when the service manager connected stderr to it
//     (JOURNAL_STREAM names this process's stderr), each entry with
//     structured fields: the process's own (ATMHEALTH_DEVICE) and those of
//     the call (ATMHEALTH_ALERT_KEY, ATMHEALTH_SEVERITY, ...), so that
//     `journalctl ATMHEALTH_ALERT_KEY=storage:/var` finds one alert's history;
//   - otherwise a size-rotated file when one is configured: at most
//     max_file_bytes per file and max_files rotated files beside it
//     (spdlog's names: "atmhealthd.1.log" newest .. "atmhealthd.5.log"
//     oldest for "atmhealthd.log"), so the log never takes more than
//     (max_files + 1) x max_file_bytes;
//   - otherwise stderr.
// Every destination gets each message through the one escaping formatter
// (platform/log_text.h): one log call is one line, whatever text from
// outside it holds. Journal field values are escaped the same way.
#ifndef ATMHEALTH_PLATFORM_LOG_OUTPUT_H_
#define ATMHEALTH_PLATFORM_LOG_OUTPUT_H_

#include <spdlog/common.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "platform/status.h"

namespace atmhealth::platform {

struct LogOutput {
  std::string identifier;  // SYSLOG_IDENTIFIER in the journal: the program's name
  std::string file;        // empty: stderr when not under systemd
  std::uint64_t max_file_bytes = 10 * 1024 * 1024;  // bytes per file before it rotates
  std::size_t max_files = 5;                        // rotated files kept beside `file`
};

enum class LogDestination { kJournal, kFile, kStderr };

// Under systemd: JOURNAL_STREAM ("<device>:<inode>") is set when stdout or
// stderr is the journal, and is taken only when it names this process's
// stderr. INVOCATION_ID alone is not enough: every process a unit starts
// inherits it, a test harness run by a CI service included, whose programs'
// stderr is a pipe the harness reads. The environment value is an argument
// so tests need not change the process's own.
LogDestination ChooseLogDestination(const LogOutput& output, const char* journal_stream);

// Makes the default logger write to `destination`; messages escaped.
// Fails (naming the file) when the log file cannot be opened.
Status ConfigureLogging(const LogOutput& output, LogDestination destination);
// The same, with the destination chosen from this process's environment.
Status ConfigureLogging(const LogOutput& output);

// A field every journal entry of this process carries, e.g.
// ("ATMHEALTH_DEVICE", "atm-tokyo-0412"). Names: A-Z, 0-9 and _, not
// starting with _ (journald's rule). Set at start, before other threads log.
void SetProcessLogField(std::string name, std::string value);

// Fields the log calls made on this thread carry while this object lives:
//   ScopedLogFields fields({{"ATMHEALTH_ALERT_KEY", event.alert_key()}});
//   spdlog::warn("{}", event.summary());
// Nested scopes add to the outer ones.
class ScopedLogFields {
 public:
  explicit ScopedLogFields(
      std::initializer_list<std::pair<std::string_view, std::string_view>> fields);
  ~ScopedLogFields();
  ScopedLogFields(const ScopedLogFields&) = delete;
  ScopedLogFields& operator=(const ScopedLogFields&) = delete;

 private:
  std::size_t added_ = 0;
};

// The journal entry of one message, as "NAME=value" strings: MESSAGE (the
// escaped message), PRIORITY (syslog's 0..7 from the spdlog level),
// SYSLOG_IDENTIFIER, the process's fields, then the calling thread's; every
// value escaped. Public for tests; the journal sink sends exactly this.
std::vector<std::string> JournalEntry(std::string_view identifier, spdlog::level::level_enum level,
                                      std::string_view message);

// The OS backend (platform/linux/journal_linux.cc):
// Sends one entry to the journal (sd_journal_sendv).
Status SendToJournal(const std::vector<std::string>& fields);
// Whether JOURNAL_STREAM's "<device>:<inode>" is this process's stderr.
bool StderrIsJournalStream(std::string_view journal_stream);

}  // namespace atmhealth::platform

#endif  // ATMHEALTH_PLATFORM_LOG_OUTPUT_H_
