#include "agent/store/event_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "agent/store/sqlite_event_store.h"
#include "tests/support/message_text.h"
#include "tests/support/test_paths.h"
#include "tests/unit/agent/store/event_store_test_support.h"

namespace atmhealth::agent {
namespace {

using ::atmhealth::agent::testing::ManualClock;
using ::atmhealth::agent::testing::OpenOrFail;
using ::atmhealth::agent::testing::OptionsAt;
using ::atmhealth::agent::testing::RawDatabase;
using ::atmhealth::agent::testing::ReadAll;
using ::atmhealth::agent::testing::SeqsOf;
using ::atmhealth::testing::Describe;
using ::atmhealth::testing::SameMessage;
using ::atmhealth::testing::SampleEvent;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class EventStoreTest : public ::testing::Test {
 protected:
  std::filesystem::path db_path() const { return scratch_ / "events.db"; }

  atmhealth::testing::ScratchDir scratch_;
  ManualClock clock_;
};

TEST_F(EventStoreTest, SequenceStartsAtOneAndContinuesAcrossReopen) {
  {
    auto store = OpenOrFail(OptionsAt(db_path()), clock_);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->Append(SampleEvent(v1::SEVERITY_INFO, "/var")), 1u);
    EXPECT_EQ(store->Append(SampleEvent(v1::SEVERITY_INFO, "/var")), 2u);
    EXPECT_EQ(store->Append(SampleEvent(v1::SEVERITY_INFO, "/var")), 3u);
    ASSERT_TRUE(store->Commit());
  }
  auto store = OpenOrFail(OptionsAt(db_path()), clock_);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Stats().last_seq, 3u);
  EXPECT_EQ(store->Stats().committed_seq, 3u);
  EXPECT_EQ(store->Append(SampleEvent(v1::SEVERITY_INFO, "/var")), 4u);
  ASSERT_TRUE(store->Commit());
  EXPECT_THAT(SeqsOf(ReadAll(*store)), ElementsAre(1, 2, 3, 4));
}

// What a restarted agent starts its rules from: the latest firing event of
// each alert still firing, and the latest change notice of each watched
// file (its fingerprint), whatever was delivered or evicted since.
TEST_F(EventStoreTest, FiringAlertsAndTheLatestFileChangeNoticeSurviveReopening) {
  auto change = [](const std::string& fingerprint) {
    v1::Event notice = SampleEvent(v1::SEVERITY_WARNING, "/etc/atm/app.conf");
    notice.set_kind(v1::ALERT_KIND_CONFIG_CHANGE);
    notice.set_state(v1::ALERT_STATE_NOTICE);
    notice.set_alert_key("config_change:/etc/atm/app.conf");
    notice.clear_context();
    v1::ContextEntry* entry = notice.add_context();
    entry->set_key("fingerprint");
    entry->set_value(fingerprint);
    return notice;
  };
  {
    auto store = OpenOrFail(OptionsAt(db_path()), clock_);
    ASSERT_NE(store, nullptr);
    store->Append(SampleEvent(v1::SEVERITY_WARNING, "/var"));
    store->Append(change("sha256:aaaa"));
    v1::Event resolved = SampleEvent(v1::SEVERITY_WARNING, "/data");
    store->Append(resolved);
    resolved.set_state(v1::ALERT_STATE_RESOLVED);
    store->Append(resolved);
    store->Append(change("sha256:bbbb"));
    ASSERT_TRUE(store->Commit());
    ASSERT_TRUE(store->MarkDelivered(5).ok());
  }
  auto store = OpenOrFail(OptionsAt(db_path()), clock_);
  ASSERT_NE(store, nullptr);
  auto latest = store->FiringAlerts();
  ASSERT_TRUE(latest.ok()) << latest.error().message();
  ASSERT_EQ(latest->size(), 2u);
  EXPECT_EQ((*latest)[0].alert_key(), "storage:/var");
  EXPECT_EQ((*latest)[1].alert_key(), "config_change:/etc/atm/app.conf");
  EXPECT_EQ((*latest)[1].context(0).value(), "sha256:bbbb");
}

TEST_F(EventStoreTest, SequenceNeverGoesBackAfterEveryRowIsDeleted) {
  {
    auto store = OpenOrFail(OptionsAt(db_path()), clock_);
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 5; ++i) store->Append(SampleEvent(v1::SEVERITY_WARNING, "/var"));
    ASSERT_TRUE(store->Commit());
  }
  {
    RawDatabase raw(db_path());
    raw.Exec("DELETE FROM events");
    ASSERT_EQ(raw.QueryInt("SELECT count(*) FROM events"), 0);
  }
  auto store = OpenOrFail(OptionsAt(db_path()), clock_);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(ReadAll(*store).empty());
  EXPECT_EQ(store->Append(SampleEvent(v1::SEVERITY_WARNING, "/var")), 6u);
  ASSERT_TRUE(store->Commit());
  EXPECT_THAT(SeqsOf(ReadAll(*store)), ElementsAre(6));
}

TEST_F(EventStoreTest, CommittedEventsReadBackInOrderWithAllFields) {
  std::vector<v1::Event> appended;
  {
    auto store = OpenOrFail(OptionsAt(db_path()), clock_);
    ASSERT_NE(store, nullptr);
    for (v1::Severity severity : {v1::SEVERITY_CRITICAL, v1::SEVERITY_INFO, v1::SEVERITY_WARNING}) {
      v1::Event event = SampleEvent(severity, "/var/spool/ej", 100);
      event.mutable_impact()->add_unavailable(v1::CUSTOMER_SERVICE_WITHDRAWAL);
      event.mutable_impact()->add_degraded(v1::CUSTOMER_SERVICE_INQUIRY);
      event.set_wall_time_unix_ns(event.wall_time_unix_ns() + severity);
      const std::uint64_t seq = store->Append(event);
      event.set_seq(seq);
      appended.push_back(event);
    }
    ASSERT_TRUE(store->Commit());
  }
  auto store = OpenOrFail(OptionsAt(db_path()), clock_);
  ASSERT_NE(store, nullptr);
  const std::vector<v1::Event> read = ReadAll(*store);
  ASSERT_EQ(read.size(), appended.size());
  for (std::size_t i = 0; i < read.size(); ++i) {
    EXPECT_TRUE(SameMessage(read[i], appended[i]))
        << "read:     " << Describe(read[i]) << "\nappended: " << Describe(appended[i]);
  }
  // The indexed columns agree with the payload.
  RawDatabase raw(db_path());
  EXPECT_EQ(raw.QueryText("SELECT group_concat(severity || ':' || kind || ':' || state || ':' || "
                          "wall_time_unix_ns, ' ') FROM (SELECT * FROM events ORDER BY seq)"),
            "3:1:1:1700000000000000003 1:1:1:1700000000000000001 2:1:1:1700000000000000002");
}

TEST_F(EventStoreTest, UncommittedEventsAreNotReadable) {
  auto store = OpenOrFail(OptionsAt(db_path()), clock_);
  ASSERT_NE(store, nullptr);
  store->Append(SampleEvent(v1::SEVERITY_INFO, "/var"));
  ASSERT_TRUE(store->Commit());
  store->Append(SampleEvent(v1::SEVERITY_INFO, "/var"));
  EXPECT_THAT(SeqsOf(ReadAll(*store)), ElementsAre(1));
  EXPECT_EQ(store->Stats().last_seq, 2u);
  EXPECT_EQ(store->Stats().committed_seq, 1u);
  EXPECT_EQ(store->Stats().pending_events, 1u);
}

TEST_F(EventStoreTest, ReadAfterHonoursMaxEventsAndMaxBytesButReturnsAtLeastOne) {
  auto store = OpenOrFail(OptionsAt(db_path()), clock_);
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 10; ++i) store->Append(SampleEvent(v1::SEVERITY_INFO, "/var", 200));
  ASSERT_TRUE(store->Commit());

  Result<std::vector<v1::Event>> three = store->ReadAfter(4, 3, 1 << 20);
  ASSERT_TRUE(three) << three.error().message();
  EXPECT_THAT(SeqsOf(*three), ElementsAre(5, 6, 7));

  Result<std::vector<v1::Event>> one = store->ReadAfter(0, 10, 1);
  ASSERT_TRUE(one) << one.error().message();
  EXPECT_THAT(SeqsOf(*one), ElementsAre(1));

  const std::size_t event_bytes = (*one)[0].ByteSizeLong();
  Result<std::vector<v1::Event>> by_bytes = store->ReadAfter(0, 10, 3 * event_bytes + 10);
  ASSERT_TRUE(by_bytes) << by_bytes.error().message();
  EXPECT_THAT(SeqsOf(*by_bytes), ElementsAre(1, 2, 3));

  Result<std::vector<v1::Event>> none = store->ReadAfter(10, 10, 1 << 20);
  ASSERT_TRUE(none) << none.error().message();
  EXPECT_TRUE(none->empty());
}

TEST_F(EventStoreTest, MarkDeliveredPersistsAndNeverGoesBack) {
  {
    auto store = OpenOrFail(OptionsAt(db_path()), clock_);
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 5; ++i) store->Append(SampleEvent(v1::SEVERITY_INFO, "/var"));
    ASSERT_TRUE(store->Commit());
    ASSERT_TRUE(store->MarkDelivered(3));
    EXPECT_EQ(store->Stats().delivered_seq, 3u);
    EXPECT_EQ(store->Stats().backlog_events, 2u);
    ASSERT_TRUE(store->MarkDelivered(1));
    EXPECT_EQ(store->Stats().delivered_seq, 3u);
  }
  auto store = OpenOrFail(OptionsAt(db_path()), clock_);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Stats().delivered_seq, 3u);
  EXPECT_EQ(store->Stats().backlog_events, 2u);
  ASSERT_TRUE(store->MarkDelivered(2));
  EXPECT_EQ(store->Stats().delivered_seq, 3u);
  // Delivered events stay readable until the cap needs their room.
  EXPECT_THAT(SeqsOf(ReadAll(*store)), ElementsAre(1, 2, 3, 4, 5));
}

TEST_F(EventStoreTest, MarkDeliveredIsClampedToTheCommittedSeq) {
  auto store = OpenOrFail(OptionsAt(db_path()), clock_);
  ASSERT_NE(store, nullptr);
  store->Append(SampleEvent(v1::SEVERITY_INFO, "/var"));
  store->Append(SampleEvent(v1::SEVERITY_INFO, "/var"));
  ASSERT_TRUE(store->Commit());
  store->Append(SampleEvent(v1::SEVERITY_INFO, "/var"));  // pending, seq 3
  ASSERT_TRUE(store->MarkDelivered(1000));
  EXPECT_EQ(store->Stats().delivered_seq, 2u);
  EXPECT_EQ(store->Stats().backlog_events, 1u);
  RawDatabase raw(db_path());
  EXPECT_EQ(raw.QueryInt("SELECT delivered_seq FROM meta"), 2);
}

// Regression: a recreated buffer continued the old one's sequence by
// renumbering, and the collector could not tell two buffers of one device
// apart. Each buffer file now has its own random id, made with it.
TEST_F(EventStoreTest, EachNewBufferFileHasItsOwnRandomIdThatSurvivesReopening) {
  std::string first_id;
  {
    auto store = OpenOrFail(OptionsAt(db_path()), clock_);
    ASSERT_NE(store, nullptr);
    first_id = store->Stats().buffer_id;
  }
  EXPECT_THAT(first_id, ::testing::MatchesRegex("[0-9a-f]{32}"));
  auto reopened = OpenOrFail(OptionsAt(db_path()), clock_);
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->Stats().buffer_id, first_id);
  auto other = OpenOrFail(OptionsAt(scratch_ / "other.db"), clock_);
  ASSERT_NE(other, nullptr);
  EXPECT_THAT(other->Stats().buffer_id, ::testing::MatchesRegex("[0-9a-f]{32}"));
  EXPECT_NE(other->Stats().buffer_id, first_id);
}

// A buffer restored from an older copy takes a new id: its events keep their
// sequences, and what was delivered under the old id is not sent again.
TEST_F(EventStoreTest, RenewedBufferIdKeepsEventsAndSkipsDeliveredHistory) {
  std::string renewed_id;
  {
    auto store = OpenOrFail(OptionsAt(db_path()), clock_);
    ASSERT_NE(store, nullptr);
    const std::string old_id = store->Stats().buffer_id;
    for (int i = 0; i < 3; ++i) store->Append(SampleEvent(v1::SEVERITY_INFO, "/var"));
    ASSERT_TRUE(store->Commit());
    ASSERT_TRUE(store->MarkDelivered(2));
    ASSERT_TRUE(store->RenewBufferId());
    renewed_id = store->Stats().buffer_id;
    EXPECT_NE(renewed_id, old_id);
    EXPECT_EQ(store->Stats().buffer_base_seq, 2u);
    EXPECT_THAT(SeqsOf(ReadAll(*store)), ElementsAre(1, 2, 3));
  }
  auto store = OpenOrFail(OptionsAt(db_path()), clock_);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Stats().buffer_id, renewed_id);
  EXPECT_EQ(store->Stats().buffer_base_seq, 2u);
  EXPECT_EQ(store->Append(SampleEvent(v1::SEVERITY_INFO, "/var")), 4u);
}

// Regression: the sequence counter had no end; past 2^63-1 the collector
// cannot store a sequence. The counter stops there and drops instead.
TEST_F(EventStoreTest, SequenceNeverPassesTheLargestSqliteInteger) {
  constexpr std::uint64_t kMax = 9'223'372'036'854'775'807ULL;
  {
    auto store = OpenOrFail(OptionsAt(db_path()), clock_);
    ASSERT_NE(store, nullptr);
  }
  RawDatabase(db_path()).Exec("UPDATE meta SET last_seq = " + std::to_string(kMax - 3));
  auto store = OpenOrFail(OptionsAt(db_path()), clock_);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Append(SampleEvent(v1::SEVERITY_INFO, "/a")), kMax - 2);
  EXPECT_EQ(store->Append(SampleEvent(v1::SEVERITY_INFO, "/b")), kMax - 1);
  EXPECT_EQ(store->Append(SampleEvent(v1::SEVERITY_INFO, "/c")), 0u);  // dropped, not wrapped
  ASSERT_TRUE(store->Commit());
  EXPECT_LE(store->Stats().last_seq, kMax);
  EXPECT_EQ(store->Stats().dropped_total, 1u);
  EXPECT_THAT(SeqsOf(ReadAll(*store)), ElementsAre(kMax - 2, kMax - 1));
}

// An event the collector refuses again and again is taken out of the queue,
// kept in the set_aside table, counted, and reported by a notice.
TEST_F(EventStoreTest, SetAsideEventLeavesTheQueueIsKeptAndReported) {
  auto store = OpenOrFail(OptionsAt(db_path()), clock_);
  ASSERT_NE(store, nullptr);
  for (const char* subject : {"/a", "/poison", "/c"}) {
    store->Append(SampleEvent(v1::SEVERITY_WARNING, subject));
  }
  ASSERT_TRUE(store->Commit());
  ASSERT_TRUE(store->SetAside(2, "REASON_PROTOCOL_VIOLATION: summary is too long"));
  ASSERT_TRUE(store->Commit());
  EXPECT_EQ(store->Stats().set_aside_total, 1u);
  const std::vector<v1::Event> events = ReadAll(*store);
  ASSERT_THAT(SeqsOf(events), ElementsAre(1, 3, 4));
  EXPECT_EQ(events[2].kind(), v1::ALERT_KIND_AGENT_HEALTH);
  EXPECT_THAT(events[2].summary(), ::testing::HasSubstr("event seq 2"));
  RawDatabase raw(db_path());
  EXPECT_EQ(raw.QueryInt("SELECT count(*) FROM set_aside WHERE seq = 2 AND reason LIKE "
                         "'REASON_PROTOCOL_VIOLATION%'"),
            1);
  EXPECT_EQ(raw.QueryInt("SELECT set_aside_total FROM meta"), 1);
  ASSERT_TRUE(store->SetAside(2, "again"));  // no longer queued: nothing happens
  EXPECT_EQ(store->Stats().set_aside_total, 1u);
}

// Regression: under the byte cap a RESOLVED event of low severity went
// before warnings, leaving the collector showing the alert firing forever.
// The latest transition of an alert key is never dropped; superseded ones go.
TEST_F(EventStoreTest, LatestTransitionOfAnAlertIsNeverDroppedUnderTheCap) {
  constexpr std::uint64_t kCap = 32 * 1024;
  auto store = OpenOrFail(OptionsAt(db_path(), kCap), clock_);
  ASSERT_NE(store, nullptr);
  v1::Event fired = SampleEvent(v1::SEVERITY_INFO, "/var", 1000);
  const std::uint64_t fired_seq = store->Append(fired);
  v1::Event resolved = SampleEvent(v1::SEVERITY_INFO, "/var", 1000);
  resolved.set_state(v1::ALERT_STATE_RESOLVED);
  const std::uint64_t resolved_seq = store->Append(resolved);
  ASSERT_TRUE(store->Commit());
  // Far more than the cap of warnings about other things, never delivered.
  for (int i = 0; i < 100; ++i) {
    v1::Event other = SampleEvent(v1::SEVERITY_WARNING, "/data" + std::to_string(i), 1000);
    other.set_state(v1::ALERT_STATE_NOTICE);
    store->Append(other);
    ASSERT_TRUE(store->Commit());
  }
  EXPECT_GT(store->Stats().dropped_total, 0u);
  const std::vector<std::uint64_t> seqs = SeqsOf(ReadAll(*store));
  EXPECT_THAT(seqs, ::testing::Contains(resolved_seq));
  EXPECT_THAT(seqs, ::testing::Not(::testing::Contains(fired_seq)));  // superseded: dropped first
}

// Appends events one commit at a time against a small cap and records, for
// every stored event, in which commit it disappeared. The order in which the
// store gives events up is then checked against the contract: delivered
// history first, then undelivered INFO, then WARNING, then CRITICAL, oldest
// first within each.
// The events are notices: the latest transition of an alert key is never
// dropped, a rule of its own with its own test.
TEST_F(EventStoreTest, CapDropsDeliveredFirstThenInfoThenWarningAlertsLast) {
  auto store = OpenOrFail(OptionsAt(db_path(), kEventStoreMinBytes), clock_);
  ASSERT_NE(store, nullptr);
  constexpr std::size_t kPadding = 600;
  const auto Notice = [](v1::Severity severity, const std::string& subject, std::size_t padding) {
    v1::Event event = SampleEvent(severity, subject, padding);
    event.set_state(v1::ALERT_STATE_NOTICE);
    return event;
  };
  // seq:            1 C,  2 W,  3 I,  4 C,  5 W,  6 I,  7 C,  8 W,  9 I
  for (int i = 0; i < 3; ++i) {
    for (v1::Severity severity : {v1::SEVERITY_CRITICAL, v1::SEVERITY_WARNING, v1::SEVERITY_INFO}) {
      store->Append(Notice(severity, "/original", kPadding));
    }
  }
  ASSERT_TRUE(store->Commit());
  ASSERT_TRUE(store->MarkDelivered(3));

  std::map<std::uint64_t, v1::Event> stored;
  for (const v1::Event& event : ReadAll(*store)) stored[event.seq()] = event;
  std::map<std::uint64_t, int> vanished_in_commit;
  std::uint64_t noticed_total = 0;
  for (int commit = 1; commit <= 200 && stored.count(7) == 1; ++commit) {
    store->Append(Notice(v1::SEVERITY_CRITICAL, "/new", kPadding));
    ASSERT_TRUE(store->Commit());
    ASSERT_LE(store->Stats().stored_bytes, kEventStoreMinBytes);
    std::map<std::uint64_t, v1::Event> now;
    for (const v1::Event& event : ReadAll(*store)) now[event.seq()] = event;

    std::vector<std::uint64_t> dropped_undelivered;
    for (const auto& [seq, event] : stored) {
      if (now.count(seq) == 1) continue;
      vanished_in_commit[seq] = commit;
      if (seq > 3) dropped_undelivered.push_back(seq);
      // Nothing of a higher class may go while a lower one is still there.
      const bool delivered = seq <= 3;
      for (const auto& [other_seq, other] : now) {
        if (other_seq <= 3) {
          EXPECT_TRUE(delivered && other_seq > seq)
              << "seq " << seq << " dropped while delivered seq " << other_seq << " is kept";
          continue;
        }
        if (delivered || other_seq == now.rbegin()->first) continue;  // newest: this commit's
        EXPECT_FALSE(other.severity() < event.severity() ||
                     (other.severity() == event.severity() && other_seq < seq))
            << "seq " << seq << " (" << v1::Severity_Name(event.severity())
            << ") dropped while seq " << other_seq << " (" << v1::Severity_Name(other.severity())
            << ") is kept";
      }
    }
    // A commit that dropped undelivered events recorded it, with the count.
    const v1::Event& newest = now.rbegin()->second;
    if (dropped_undelivered.empty()) {
      EXPECT_NE(newest.kind(), v1::ALERT_KIND_AGENT_HEALTH) << Describe(newest);
    } else {
      EXPECT_EQ(newest.kind(), v1::ALERT_KIND_AGENT_HEALTH) << Describe(newest);
      EXPECT_EQ(newest.value(), static_cast<double>(dropped_undelivered.size()));
      EXPECT_THAT(newest.summary(), HasSubstr("seq " + std::to_string(dropped_undelivered.front()) +
                                              " to " + std::to_string(dropped_undelivered.back())));
      noticed_total += dropped_undelivered.size();
    }
    stored = std::move(now);
  }
  ASSERT_EQ(stored.count(7), 0u) << "the cap never reached the original alerts";
  EXPECT_EQ(store->Stats().dropped_total, noticed_total);

  // The originals went in exactly this order (ties are one commit).
  const std::vector<std::uint64_t> expected_order = {1, 2, 3, 6, 9, 5, 8, 4, 7};
  for (std::size_t i = 1; i < expected_order.size(); ++i) {
    EXPECT_LE(vanished_in_commit[expected_order[i - 1]], vanished_in_commit[expected_order[i]])
        << "seq " << expected_order[i - 1] << " should go no later than seq " << expected_order[i];
  }
}

TEST_F(EventStoreTest, CapDropIsRecordedAsAnAgentHealthNoticeWithTheCount) {
  auto store = OpenOrFail(OptionsAt(db_path(), kEventStoreMinBytes), clock_);
  ASSERT_NE(store, nullptr);
  // Ten INFO events of about 2 KiB cannot all fit in 16 KiB with the
  // critical one: the oldest INFO events go, the alert stays.
  const std::uint64_t alert_seq = store->Append(SampleEvent(v1::SEVERITY_CRITICAL, "/alert", 2000));
  for (int i = 0; i < 10; ++i) store->Append(SampleEvent(v1::SEVERITY_INFO, "/info", 2000));
  clock_.Advance(std::chrono::seconds(30));
  ASSERT_TRUE(store->Commit());

  const std::vector<v1::Event> events = ReadAll(*store);
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events.front().seq(), alert_seq);
  const v1::Event& notice = events.back();
  EXPECT_EQ(notice.seq(), 12u);
  EXPECT_EQ(notice.kind(), v1::ALERT_KIND_AGENT_HEALTH);
  EXPECT_EQ(notice.state(), v1::ALERT_STATE_NOTICE);
  EXPECT_EQ(notice.severity(), v1::SEVERITY_WARNING);
  EXPECT_EQ(notice.category(), v1::FAILURE_CATEGORY_DAILY_OPERATION_STORAGE);
  EXPECT_EQ(notice.subject(), "event_buffer");
  EXPECT_EQ(notice.alert_key(), "agent_health:event_buffer");
  EXPECT_EQ(notice.unit(), v1::UNIT_COUNT);
  EXPECT_EQ(notice.wall_time_unix_ns(), platform::UnixNanos(clock_.WallNow()));
  EXPECT_EQ(notice.monotonic_ns(), platform::MonotonicNanos(clock_.MonotonicNow()));

  // Everything between the alert and the survivors was dropped, oldest first.
  const std::uint64_t first_kept_info = events[1].seq();
  const std::uint64_t dropped = first_kept_info - 2;
  EXPECT_GT(dropped, 0u);
  EXPECT_EQ(notice.value(), static_cast<double>(dropped));
  EXPECT_THAT(notice.summary(),
              HasSubstr("dropped " + std::to_string(dropped) + " undelivered events, seq 2 to " +
                        std::to_string(first_kept_info - 1)));
  EXPECT_THAT(notice.summary(), HasSubstr("16384-byte buffer cap"));
  for (std::size_t i = 1; i + 1 < events.size(); ++i) {
    EXPECT_EQ(events[i].seq(), first_kept_info + i - 1) << "survivors are the newest, in order";
  }
  EXPECT_EQ(store->Stats().dropped_total, dropped);
  EXPECT_LE(store->Stats().stored_bytes, kEventStoreMinBytes);

  store.reset();
  auto reopened = OpenOrFail(OptionsAt(db_path(), kEventStoreMinBytes), clock_);
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->Stats().dropped_total, dropped);
}

TEST_F(EventStoreTest, PendingOverflowDropsTheLowestSeverityOldestFirstAndRecordsIt) {
  auto store = OpenOrFail(OptionsAt(db_path(), 64 * 1024 * 1024, 5), clock_);
  ASSERT_NE(store, nullptr);
  // seq 1 I, 2 C, 3 W, 4 I, 5 C, 6 W, 7 I, 8 W
  for (v1::Severity severity :
       {v1::SEVERITY_INFO, v1::SEVERITY_CRITICAL, v1::SEVERITY_WARNING, v1::SEVERITY_INFO,
        v1::SEVERITY_CRITICAL, v1::SEVERITY_WARNING, v1::SEVERITY_INFO, v1::SEVERITY_WARNING}) {
    store->Append(SampleEvent(severity, "/var"));
  }
  EXPECT_EQ(store->Stats().pending_events, 5u);
  EXPECT_EQ(store->Stats().dropped_total, 3u);
  EXPECT_EQ(store->Stats().last_seq, 8u);
  ASSERT_TRUE(store->Commit());

  // INFO 1, 4 and 7 went (7 was the newest, but INFO goes before WARNING).
  const std::vector<v1::Event> events = ReadAll(*store);
  EXPECT_THAT(SeqsOf(events), ElementsAre(2, 3, 5, 6, 8, 9));
  const v1::Event& notice = events.back();
  EXPECT_EQ(notice.kind(), v1::ALERT_KIND_AGENT_HEALTH);
  EXPECT_EQ(notice.value(), 3);
  EXPECT_THAT(notice.summary(), HasSubstr("seq 1 to 7"));
  EXPECT_THAT(notice.summary(), HasSubstr("3 past 5 events waiting in memory"));

  // Past the INFO events, the oldest WARNING goes; alerts stay.
  for (v1::Severity severity :
       {v1::SEVERITY_WARNING, v1::SEVERITY_CRITICAL, v1::SEVERITY_CRITICAL, v1::SEVERITY_CRITICAL,
        v1::SEVERITY_CRITICAL, v1::SEVERITY_CRITICAL}) {
    store->Append(SampleEvent(severity, "/var"));
  }
  ASSERT_TRUE(store->Commit());
  EXPECT_THAT(SeqsOf(ReadAll(*store)), ElementsAre(2, 3, 5, 6, 8, 9, 11, 12, 13, 14, 15, 16));
  EXPECT_EQ(store->Stats().dropped_total, 4u);

  store.reset();
  auto reopened = OpenOrFail(OptionsAt(db_path(), 64 * 1024 * 1024, 5), clock_);
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->Stats().dropped_total, 4u);
  EXPECT_EQ(reopened->Stats().last_seq, 16u);
}

TEST_F(EventStoreTest, StatsCountersMatchTheFileAndSurviveReopen) {
  EventStoreStats before;
  {
    auto store = OpenOrFail(OptionsAt(db_path(), 1024 * 1024), clock_);
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 20; ++i) {
      v1::Event event = SampleEvent(v1::SEVERITY_WARNING, "/var", static_cast<std::size_t>(i * 10));
      event.set_wall_time_unix_ns(1000 * (i + 1));
      store->Append(event);
    }
    EXPECT_EQ(store->Stats().oldest_undelivered_unix_ns, 1000);
    ASSERT_TRUE(store->Commit());
    ASSERT_TRUE(store->MarkDelivered(5));
    before = store->Stats();
    EXPECT_EQ(before.last_seq, 20u);
    EXPECT_EQ(before.committed_seq, 20u);
    EXPECT_EQ(before.delivered_seq, 5u);
    EXPECT_EQ(before.backlog_events, 15u);
    EXPECT_EQ(before.pending_events, 0u);
    EXPECT_EQ(before.limit_bytes, 1024u * 1024u);
    EXPECT_EQ(before.oldest_undelivered_unix_ns, 6000);
    EXPECT_FALSE(before.degraded);
  }
  {
    RawDatabase raw(db_path());
    EXPECT_EQ(static_cast<std::uint64_t>(
                  raw.QueryInt("SELECT sum(length(payload)) + count(*) * 64 FROM events")),
              before.stored_bytes);
  }
  auto store = OpenOrFail(OptionsAt(db_path(), 1024 * 1024), clock_);
  ASSERT_NE(store, nullptr);
  const EventStoreStats after = store->Stats();
  EXPECT_EQ(after.last_seq, before.last_seq);
  EXPECT_EQ(after.committed_seq, before.committed_seq);
  EXPECT_EQ(after.delivered_seq, before.delivered_seq);
  EXPECT_EQ(after.backlog_events, before.backlog_events);
  EXPECT_EQ(after.stored_bytes, before.stored_bytes);
  EXPECT_EQ(after.oldest_undelivered_unix_ns, before.oldest_undelivered_unix_ns);

  ASSERT_TRUE(store->MarkDelivered(20));
  EXPECT_EQ(store->Stats().backlog_events, 0u);
  EXPECT_FALSE(store->Stats().oldest_undelivered_unix_ns.has_value());
  v1::Event waiting = SampleEvent(v1::SEVERITY_INFO, "/var");
  waiting.set_wall_time_unix_ns(99000);
  store->Append(waiting);
  EXPECT_EQ(store->Stats().oldest_undelivered_unix_ns, 99000);
  EXPECT_EQ(store->Stats().backlog_events, 1u);
}

TEST_F(EventStoreTest, FileIsWalWithIncrementalVacuumAndASchemaVersion) {
  auto store = OpenOrFail(OptionsAt(db_path()), clock_);
  ASSERT_NE(store, nullptr);
  store->Append(SampleEvent(v1::SEVERITY_INFO, "/var"));
  ASSERT_TRUE(store->Commit());
  RawDatabase raw(db_path());
  EXPECT_EQ(raw.QueryText("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw.QueryInt("PRAGMA auto_vacuum"), 2) << "2 is INCREMENTAL";
  EXPECT_EQ(raw.QueryInt("PRAGMA user_version"), kEventStoreSchemaVersion);
  EXPECT_EQ(raw.QueryInt("SELECT last_seq FROM meta"), 1);
}

TEST_F(EventStoreTest, FileStaysBoundedWhileTheCapKeepsDropping) {
  constexpr std::uint64_t kCap = 64 * 1024;
  auto store = OpenOrFail(OptionsAt(db_path(), kCap), clock_);
  ASSERT_NE(store, nullptr);
  // The database and its WAL: what the buffer takes from the disk.
  auto disk_bytes = [&] {
    std::filesystem::path wal = db_path();
    wal += "-wal";
    std::error_code no_wal;
    const std::uintmax_t wal_bytes = std::filesystem::file_size(wal, no_wal);
    return std::filesystem::file_size(db_path()) + (no_wal ? 0 : wal_bytes);
  };
  std::uintmax_t most = 0;
  // About 1.5 MiB through a 64 KiB buffer.
  for (int batch = 0; batch < 300; ++batch) {
    for (int i = 0; i < 10; ++i) store->Append(SampleEvent(v1::SEVERITY_INFO, "/var", 500));
    ASSERT_TRUE(store->Commit());
    ASSERT_LE(store->Stats().stored_bytes, kCap);
    most = std::max(most, disk_bytes());
  }
  EXPECT_LE(most, 4 * kCap);
}

TEST_F(EventStoreTest, LoweringTheCapShrinksTheFileAtTheNextCommit) {
  {
    auto store = OpenOrFail(OptionsAt(db_path(), 4 * 1024 * 1024), clock_);
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 1000; ++i) store->Append(SampleEvent(v1::SEVERITY_INFO, "/var", 1000));
    ASSERT_TRUE(store->Commit());
    ASSERT_TRUE(store->MarkDelivered(1000));
  }
  const std::uintmax_t big = std::filesystem::file_size(db_path());
  ASSERT_GT(big, 1000u * 1000u);
  {
    auto store = OpenOrFail(OptionsAt(db_path(), 64 * 1024), clock_);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Commit());
    EXPECT_LE(store->Stats().stored_bytes, 64u * 1024);
    EXPECT_EQ(store->Stats().dropped_total, 0u) << "only delivered history went";
  }
  EXPECT_LT(std::filesystem::file_size(db_path()), 256u * 1024) << "was " << big << " bytes";
}

TEST_F(EventStoreTest, NotAnSqliteFileIsCorruptNamingThePath) {
  {
    std::ofstream file(db_path());
    file << "[store]\npath = \"/var/lib/atmhealth/events.db\"\n" << std::string(4096, '#');
  }
  Result<std::unique_ptr<EventStore>> store = EventStore::Open(OptionsAt(db_path()), clock_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code(), ErrorCode::kCorrupt) << store.error().message();
  EXPECT_THAT(store.error().message(), HasSubstr(db_path().string()));
}

TEST_F(EventStoreTest, DamagedPagesAreCorruptNamingThePath) {
  {
    auto store = OpenOrFail(OptionsAt(db_path()), clock_);
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 200; ++i) store->Append(SampleEvent(v1::SEVERITY_INFO, "/var", 300));
    ASSERT_TRUE(store->Commit());
  }
  {
    std::fstream file(db_path(), std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(3 * 4096);
    const std::string garbage(8 * 4096, '\xA5');
    file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  Result<std::unique_ptr<EventStore>> store = EventStore::Open(OptionsAt(db_path()), clock_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code(), ErrorCode::kCorrupt) << store.error().message();
  EXPECT_THAT(store.error().message(), HasSubstr(db_path().string()));
}

TEST_F(EventStoreTest, UnreadablePayloadIsCorruptNamingThePathAndSeq) {
  {
    auto store = OpenOrFail(OptionsAt(db_path()), clock_);
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 3; ++i) store->Append(SampleEvent(v1::SEVERITY_INFO, "/var"));
    ASSERT_TRUE(store->Commit());
  }
  {
    RawDatabase raw(db_path());
    raw.Exec("UPDATE events SET payload = x'ffffffff' WHERE seq = 2");
  }
  auto store = OpenOrFail(OptionsAt(db_path()), clock_);
  ASSERT_NE(store, nullptr);
  Result<std::vector<v1::Event>> first = store->ReadAfter(0, 1, 1 << 20);
  ASSERT_TRUE(first) << first.error().message();
  Result<std::vector<v1::Event>> all = store->ReadAfter(0, 10, 1 << 20);
  ASSERT_FALSE(all.ok());
  EXPECT_EQ(all.error().code(), ErrorCode::kCorrupt);
  EXPECT_THAT(all.error().message(), HasSubstr(db_path().string()));
  EXPECT_THAT(all.error().message(), HasSubstr("seq 2"));
}

TEST_F(EventStoreTest, NewerSchemaVersionIsRefusedNamingThePath) {
  {
    auto store = OpenOrFail(OptionsAt(db_path()), clock_);
    ASSERT_NE(store, nullptr);
  }
  {
    RawDatabase raw(db_path());
    raw.Exec("PRAGMA user_version = 7");
  }
  Result<std::unique_ptr<EventStore>> store = EventStore::Open(OptionsAt(db_path()), clock_);
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.error().message(), HasSubstr(db_path().string()));
  EXPECT_THAT(store.error().message(), HasSubstr("schema version 7"));
}

TEST_F(EventStoreTest, ForeignSqliteDatabaseIsRefusedNamingThePath) {
  {
    RawDatabase raw(db_path());
    raw.Exec("CREATE TABLE journal (line TEXT)");
  }
  Result<std::unique_ptr<EventStore>> store = EventStore::Open(OptionsAt(db_path()), clock_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code(), ErrorCode::kCorrupt);
  EXPECT_THAT(store.error().message(), HasSubstr(db_path().string()));
  EXPECT_THAT(store.error().message(), HasSubstr("not an atmhealth event store"));
  RawDatabase raw(db_path());
  EXPECT_EQ(raw.QueryInt("SELECT count(*) FROM sqlite_master"), 1) << "left untouched";
}

TEST_F(EventStoreTest, MissingDirectoryIsNotFoundNamingThePath) {
  const std::filesystem::path path = scratch_ / "no-such-directory" / "events.db";
  Result<std::unique_ptr<EventStore>> store = EventStore::Open(OptionsAt(path), clock_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code(), ErrorCode::kNotFound) << store.error().message();
  EXPECT_THAT(store.error().message(), HasSubstr(path.string()));
}

TEST_F(EventStoreTest, OptionsOutOfRangeAreInvalidArguments) {
  Result<std::unique_ptr<EventStore>> tiny = EventStore::Open(OptionsAt(db_path(), 100), clock_);
  ASSERT_FALSE(tiny.ok());
  EXPECT_EQ(tiny.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(tiny.error().message(), HasSubstr("max_bytes 100"));

  Result<std::unique_ptr<EventStore>> no_pending =
      EventStore::Open(OptionsAt(db_path(), 1 << 20, 0), clock_);
  ASSERT_FALSE(no_pending.ok());
  EXPECT_EQ(no_pending.error().code(), ErrorCode::kInvalidArgument);

  Result<std::unique_ptr<EventStore>> no_path = EventStore::Open(OptionsAt(""), clock_);
  ASSERT_FALSE(no_path.ok());
  EXPECT_EQ(no_path.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(db_path()));
}

}  // namespace
}  // namespace atmhealth::agent
