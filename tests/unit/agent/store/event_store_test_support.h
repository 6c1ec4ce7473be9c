// What the event store tests share: a clock the test moves, reading a whole store back, and a
// second, raw SQLite connection to look at (or tamper with) the file the way another program would.
#ifndef ATMHEALTH_TESTS_UNIT_AGENT_STORE_EVENT_STORE_TEST_SUPPORT_H_
#define ATMHEALTH_TESTS_UNIT_AGENT_STORE_EVENT_STORE_TEST_SUPPORT_H_

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "agent/store/event_store.h"
#include "platform/clock.h"
#include "tests/support/sample_events.h"

namespace atmhealth::agent::testing {

// Time that moves only when the test says so.
class ManualClock final : public platform::Clock {
 public:
  std::chrono::system_clock::time_point WallNow() const override { return wall_; }
  std::chrono::steady_clock::time_point MonotonicNow() const override { return monotonic_; }
  void Advance(std::chrono::nanoseconds by) {
    wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(by);
    monotonic_ += by;
  }

 private:
  std::chrono::system_clock::time_point wall_{std::chrono::seconds(1'700'000'000)};
  std::chrono::steady_clock::time_point monotonic_{std::chrono::seconds(5000)};
};

using ::atmhealth::testing::SampleEvent;

inline EventStoreOptions OptionsAt(const std::filesystem::path& path,
                                   std::uint64_t max_bytes = 64 * 1024 * 1024,
                                   std::size_t max_pending_events = 10000) {
  EventStoreOptions options;
  options.path = path.string();
  options.max_bytes = max_bytes;
  options.max_pending_events = max_pending_events;
  return options;
}

inline std::unique_ptr<EventStore> OpenOrFail(const EventStoreOptions& options,
                                              platform::Clock& clock) {
  Result<std::unique_ptr<EventStore>> store = EventStore::Open(options, clock);
  if (!store.ok()) {
    ADD_FAILURE() << "EventStore::Open: " << store.error().message();
    return nullptr;
  }
  return std::move(store).value();
}

// Every committed event, in the order ReadAfter gives them.
inline std::vector<v1::Event> ReadAll(EventStore& store) {
  Result<std::vector<v1::Event>> events = store.ReadAfter(
      0, std::numeric_limits<std::size_t>::max(), std::numeric_limits<std::size_t>::max());
  if (!events.ok()) {
    ADD_FAILURE() << "ReadAfter: " << events.error().message();
    return {};
  }
  return std::move(events).value();
}

inline std::vector<std::uint64_t> SeqsOf(const std::vector<v1::Event>& events) {
  std::vector<std::uint64_t> seqs;
  for (const v1::Event& event : events) seqs.push_back(event.seq());
  return seqs;
}

// A plain SQLite connection to the store's file, as another program (or a
// damaged disk) would see it.
class RawDatabase {
 public:
  explicit RawDatabase(const std::filesystem::path& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
      ADD_FAILURE() << "sqlite3_open " << path << ": " << sqlite3_errmsg(db_);
    }
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDatabase() { sqlite3_close(db_); }
  RawDatabase(const RawDatabase&) = delete;
  RawDatabase& operator=(const RawDatabase&) = delete;

  void Exec(const std::string& sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << (message != nullptr ? message : "?");
    }
    sqlite3_free(message);
  }

  // The first column of the first row, as text; "" when there is no row.
  std::string QueryText(const std::string& sql) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
      return "";
    }
    std::string text;
    const int rc = sqlite3_step(statement);
    if (rc == SQLITE_ROW) {
      const unsigned char* value = sqlite3_column_text(statement, 0);
      if (value != nullptr) text = reinterpret_cast<const char*>(value);
    } else if (rc != SQLITE_DONE) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
    }
    sqlite3_finalize(statement);
    return text;
  }
  std::int64_t QueryInt(const std::string& sql) {
    const std::string text = QueryText(sql);
    return text.empty() ? 0 : std::stoll(text);
  }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace atmhealth::agent::testing

#endif  // ATMHEALTH_TESTS_UNIT_AGENT_STORE_EVENT_STORE_TEST_SUPPORT_H_
