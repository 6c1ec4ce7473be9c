#include "agent/store/corrupt_buffer.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <system_error>

#include "agent/agent_notice.h"

namespace atmhealth::agent {
namespace {

constexpr char kSubject[] = "event_buffer";
// The collector refuses longer summaries and context values
// (collector/ingest/message_validation.h): a notice must never be refused.
constexpr std::size_t kMaxSummaryBytes = 500;
constexpr std::size_t kMaxContextValueBytes = 1000;

// `text` cut to at most `max` bytes, never inside a UTF-8 sequence.
std::string CutTo(std::string text, std::size_t max) {
  if (text.size() <= max) return text;
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xc0) == 0x80) --end;
  text.resize(end);
  return text;
}

std::string UtcStamp(std::chrono::system_clock::time_point wall) {
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(wall.time_since_epoch()).count() % 1000;
  return fmt::format("{:%Y%m%dT%H%M%S}.{:03}Z",
                     fmt::gmtime(std::chrono::system_clock::to_time_t(wall)), millis);
}

}  // namespace

Result<OpenedBuffer> OpenEventStoreSettingAsideCorrupt(const EventStoreOptions& options,
                                                       platform::Clock& clock) {
  Result<std::unique_ptr<EventStore>> store = EventStore::Open(options, clock);
  if (store.ok()) return OpenedBuffer{std::move(store).value(), std::nullopt};
  if (store.error().code() != ErrorCode::kCorrupt) return store.error();

  SetAsideBuffer set_aside{options.path + ".corrupt-" + UtcStamp(clock.WallNow()),
                           store.error().message()};
  // The WAL first: a main file moved without its WAL would lose what the WAL
  // holds, and the WAL would be applied to the new buffer.
  for (const char* suffix : {"-wal", "-shm", ""}) {
    const std::filesystem::path from = options.path + suffix;
    std::error_code ec;
    if (!std::filesystem::exists(from, ec)) continue;
    std::filesystem::rename(from, set_aside.file + suffix, ec);
    if (ec) {
      return Error(ErrorCode::kIo,
                   fmt::format("{}; setting it aside as {}: {}", store.error().message(),
                               set_aside.file + suffix, ec.message()));
    }
  }
  spdlog::error(
      "event buffer {} failed its checks ({}); set aside as {}, never deleted, and a new buffer "
      "started: what was not delivered from it is still in that file",
      options.path, set_aside.reason, set_aside.file);
  Result<std::unique_ptr<EventStore>> fresh = EventStore::Open(options, clock);
  if (!fresh.ok()) return fresh.error();
  return OpenedBuffer{std::move(fresh).value(), std::move(set_aside)};
}

v1::Event SetAsideNotice(const SetAsideBuffer& set_aside, platform::Clock& clock) {
  v1::Event event = AgentNotice(
      clock, v1::SEVERITY_CRITICAL, v1::FAILURE_CATEGORY_DAILY_OPERATION_STORAGE, kSubject,
      CutTo(fmt::format("event buffer failed its checks and was set aside as {}; events not yet "
                        "delivered from it are still there: {}",
                        set_aside.file, set_aside.reason),
            kMaxSummaryBytes));
  event.set_value(1);
  for (const auto& [key, value] : {std::pair{"buffer.set_aside_as", set_aside.file},
                                   std::pair{"buffer.check", set_aside.reason}}) {
    v1::ContextEntry* entry = event.add_context();
    entry->set_key(key);
    entry->set_value(CutTo(value, kMaxContextValueBytes));
  }
  return event;
}

}  // namespace atmhealth::agent
