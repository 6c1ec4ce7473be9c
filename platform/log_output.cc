#include "platform/log_output.h"

#include <fmt/format.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>

#include "platform/log_text.h"

namespace atmhealth::platform {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

std::mutex process_fields_mutex;
Fields& ProcessFields() {
  static Fields fields;
  return fields;
}
thread_local Fields thread_fields;

// syslog(3) priorities, as journald reads PRIORITY.
int SyslogPriority(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::critical:
      return 2;  // LOG_CRIT
    case spdlog::level::err:
      return 3;  // LOG_ERR
    case spdlog::level::warn:
      return 4;  // LOG_WARNING
    case spdlog::level::info:
      return 6;  // LOG_INFO
    default:
      return 7;  // LOG_DEBUG
  }
}

// One journal entry per log call, on the calling thread (the default logger
// is synchronous), so the thread's ScopedLogFields are the call's.
class JournalSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit JournalSink(std::string identifier) : identifier_(std::move(identifier)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const std::vector<std::string> entry = JournalEntry(
        identifier_, msg.level, std::string_view(msg.payload.data(), msg.payload.size()));
    if (SendToJournal(entry).ok()) return;
    // No journal after all (its socket gone): the line goes to stderr, which
    // the service manager also collects.
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }

 private:
  const std::string identifier_;
};

}  // namespace

LogDestination ChooseLogDestination(const LogOutput& output, const char* journal_stream) {
  if (journal_stream != nullptr && StderrIsJournalStream(journal_stream)) {
    return LogDestination::kJournal;
  }
  return output.file.empty() ? LogDestination::kStderr : LogDestination::kFile;
}

Status ConfigureLogging(const LogOutput& output, LogDestination destination) {
  std::shared_ptr<spdlog::sinks::sink> sink;
  switch (destination) {
    case LogDestination::kStderr:
      EscapeEveryLogMessage();
      return OkStatus();
    case LogDestination::kJournal:
      sink = std::make_shared<JournalSink>(output.identifier);
      break;
    case LogDestination::kFile:
      try {
        sink = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
            output.file, static_cast<std::size_t>(output.max_file_bytes), output.max_files);
      } catch (const spdlog::spdlog_ex& e) {
        return Error(ErrorCode::kIo, fmt::format("log file \"{}\": {}", output.file, e.what()));
      }
      break;
  }
  // Replaces the default logger with one of the same (empty) name, keeping
  // the level already set.
  const spdlog::level::level_enum level = spdlog::default_logger()->level();
  auto logger = std::make_shared<spdlog::logger>("", std::move(sink));
  logger->set_level(level);
  logger->set_formatter(EscapingFormatter(kEscapedDefaultPattern));
  // A warning or worse is on disk at once: it may be the last line before a
  // crash or power loss.
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
  return OkStatus();
}

Status ConfigureLogging(const LogOutput& output) {
  return ConfigureLogging(output, ChooseLogDestination(output, std::getenv("JOURNAL_STREAM")));
}

void SetProcessLogField(std::string name, std::string value) {
  std::lock_guard lock(process_fields_mutex);
  ProcessFields().emplace_back(std::move(name), std::move(value));
}

ScopedLogFields::ScopedLogFields(
    std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
  for (const auto& [name, value] : fields) {
    thread_fields.emplace_back(std::string(name), std::string(value));
    ++added_;
  }
}

ScopedLogFields::~ScopedLogFields() { thread_fields.resize(thread_fields.size() - added_); }

std::vector<std::string> JournalEntry(std::string_view identifier, spdlog::level::level_enum level,
                                      std::string_view message) {
  std::vector<std::string> entry;
  entry.push_back("MESSAGE=" + EscapeControlCharacters(message));
  entry.push_back(fmt::format("PRIORITY={}", SyslogPriority(level)));
  entry.push_back("SYSLOG_IDENTIFIER=" + EscapeControlCharacters(identifier));
  {
    std::lock_guard lock(process_fields_mutex);
    for (const auto& [name, value] : ProcessFields()) {
      entry.push_back(name + "=" + EscapeControlCharacters(value));
    }
  }
  for (const auto& [name, value] : thread_fields) {
    entry.push_back(name + "=" + EscapeControlCharacters(value));
  }
  return entry;
}

}  // namespace atmhealth::platform
