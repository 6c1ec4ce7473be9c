#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <utility>

#include "collector/store/collector_schema.h"
#include "collector/store/sqlite_collector_store.h"
#include "tests/support/message_text.h"
#include "tests/support/sample_events.h"
#include "tests/support/test_paths.h"
#include "tests/unit/collector/store/plain_sql.h"
#include "tests/unit/collector/store/store_under_test.h"

namespace atmhealth::collector {
namespace {

using ::atmhealth::testing::Describe;
using ::atmhealth::testing::kReceivedAt1;
using ::atmhealth::testing::kReceivedAt2;
using ::atmhealth::testing::kReceivedAt3;
using ::atmhealth::testing::PlainSql;
using ::atmhealth::testing::SameMessage;
using ::atmhealth::testing::SampleEvent;
using ::atmhealth::testing::SampleEvents;
using ::atmhealth::testing::SampleHello;
using ::atmhealth::testing::Service;
using ::atmhealth::testing::SqlRow;
using ::atmhealth::testing::SqlValue;
using ::testing::HasSubstr;

SqlValue Integer(std::int64_t value) { return value; }
SqlValue Text(std::string value) { return value; }
SqlValue Real(double value) { return value; }

template <typename T>
std::string ErrorText(const Result<T>& result) {
  return result.ok() ? "ok" : result.error().message();
}

// SampleEvent(seq) as an event of the alert `key`.
v1::Event AlertEventOf(std::uint64_t seq, const std::string& key, v1::AlertState state,
                       v1::Severity severity) {
  v1::Event event = SampleEvent(seq);
  event.set_alert_key(key);
  event.set_state(state);
  event.set_severity(severity);
  return event;
}

// The operator queries of docs/collector-database.md, word for word, so that
// the documentation cannot drift from what the schema answers (and how fast).
constexpr const char* kLatestEventsOfDevice = R"sql(
SELECT seq, wall_time_unix_ns, severity, kind, state, alert_key, summary
FROM events
WHERE device_id = 'atm-tokyo-0412'
  AND buffer_id = (SELECT buffer_id FROM devices WHERE device_id = 'atm-tokyo-0412')
ORDER BY seq DESC
LIMIT 20;
)sql";

constexpr const char* kEventsOfAlertKey = R"sql(
SELECT device_id, seq, wall_time_unix_ns, state, severity, value, threshold, unit
FROM events
WHERE alert_key = 'storage:/var'
ORDER BY device_id, seq;
)sql";

constexpr const char* kFiringAlertsOfSite = R"sql(
SELECT a.device_id, a.alert_key, a.severity, a.since_wall_time_unix_ns,
       e.summary, e.value, e.threshold, e.unit, e.impact_unavailable, e.impact_degraded
FROM devices AS d
JOIN alerts AS a ON a.device_id = d.device_id AND a.state = 'firing'
JOIN events AS e
  ON e.device_id = a.device_id AND e.buffer_id = a.buffer_id AND e.seq = a.last_seq
WHERE d.site_id = 'site-shinjuku'
ORDER BY a.device_id, a.alert_key;
)sql";

constexpr const char* kWithdrawalAtSite = R"sql(
SELECT d.device_id, s.state, s.reason, s.since_unix_ns,
       h.received_unix_ns + h.interval_ms * 1000000 AS next_heartbeat_due_unix_ns
FROM devices AS d
JOIN device_services AS s ON s.device_id = d.device_id AND s.service = 'withdrawal'
LEFT JOIN heartbeats AS h ON h.device_id = d.device_id
WHERE d.site_id = 'site-shinjuku'
ORDER BY d.device_id;
)sql";

constexpr const char* kEventsReceivedSince = R"sql(
SELECT device_id, seq, severity, summary
FROM events
WHERE received_unix_ns >= 1700000000000000000
ORDER BY received_unix_ns;
)sql";

// The store `opened`, or null (failing the test); with `device_id`, after
// its Hello at site-shinjuku.
std::unique_ptr<CollectorStore> Opened(Result<std::unique_ptr<CollectorStore>> opened,
                                       const std::string& device_id = "") {
  EXPECT_TRUE(opened.ok()) << ErrorText(opened);
  if (!opened.ok()) return nullptr;
  std::unique_ptr<CollectorStore> store = std::move(opened).value();
  if (device_id.empty()) return store;
  Result<std::uint64_t> hello = store->RecordHello(SampleHello(device_id, "site-shinjuku"),
                                                   "10.20.30.40:51234", kReceivedAt1);
  EXPECT_TRUE(hello.ok()) << ErrorText(hello);
  return store;
}

class SqliteCollectorStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<CollectorStore> OpenStore() {
    return Opened(CollectorStore::OpenSqlite(path_.string()));
  }
  std::unique_ptr<CollectorStore> OpenStoreWithDevice(const std::string& device_id) {
    return Opened(CollectorStore::OpenSqlite(path_.string()), device_id);
  }

  atmhealth::testing::ScratchDir scratch_;
  std::filesystem::path path_ = scratch_ / "collector.db";
};

// The contract of every CollectorStore, run against each backend: SQLite in
// a scratch file, PostgreSQL in a schema of its own on the tests' server.
class CollectorStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<CollectorStore> OpenStore() { return Opened(backend_->Open({})); }
  std::unique_ptr<CollectorStore> OpenStoreWithDevice(const std::string& device_id) {
    return Opened(backend_->Open({}), device_id);
  }

  // An operator's connection to the same database (after the store made it).
  PlainSql& Sql() {
    if (sql_ == nullptr) sql_ = backend_->Sql();
    return *sql_;
  }
  // What the store's messages name the database by.
  std::string Where() const { return backend_->Where(); }

  std::unique_ptr<atmhealth::testing::StoreUnderTest> backend_ =
      atmhealth::testing::StoreUnderTest::Make(GetParam());
  std::unique_ptr<PlainSql> sql_;
};

INSTANTIATE_TEST_SUITE_P(Backends, CollectorStoreTest,
                         ::testing::Values(std::string("sqlite"), std::string("postgresql")),
                         [](const auto& backend) { return backend.param; });

TEST_P(CollectorStoreTest, HelloCreatesTheDeviceThenUpdatesIt) {
  std::unique_ptr<CollectorStore> store = OpenStore();
  ASSERT_NE(store, nullptr);

  Result<std::uint64_t> first = store->RecordHello(SampleHello("atm-tokyo-0412", "site-shinjuku"),
                                                   "10.20.30.40:51234", kReceivedAt1);
  ASSERT_TRUE(first.ok()) << ErrorText(first);
  EXPECT_EQ(*first, 0u);

  PlainSql& sql = Sql();
  SqlRow created = sql.Row("SELECT * FROM devices WHERE device_id = 'atm-tokyo-0412'");
  EXPECT_EQ(created["site_id"], Text("site-shinjuku"));
  EXPECT_EQ(created["kind"], Text("atm"));
  EXPECT_EQ(created["agent_version"], Text("0.1.0"));
  EXPECT_EQ(created["protocol_version"], Integer(1));
  EXPECT_EQ(created["peer"], Text("10.20.30.40:51234"));
  EXPECT_EQ(created["first_seen_unix_ns"], Integer(kReceivedAt1));
  EXPECT_EQ(created["last_seen_unix_ns"], Integer(kReceivedAt1));
  EXPECT_EQ(created["last_hello_unix_ns"], Integer(kReceivedAt1));
  EXPECT_EQ(created["last_seq"], Integer(0));

  Result<StoredBatch> stored =
      store->StoreEvents("atm-tokyo-0412", "", SampleEvents(1, 3), kReceivedAt1);
  ASSERT_TRUE(stored.ok()) << ErrorText(stored);

  v1::Hello moved = SampleHello("atm-tokyo-0412", "site-ikebukuro");
  moved.mutable_device()->set_kind(v1::DEVICE_KIND_BRANCH_SERVER);
  moved.set_agent_version("0.2.0");
  moved.set_agent_last_seq(7);
  Result<std::uint64_t> second = store->RecordHello(moved, "10.20.30.41:40000", kReceivedAt2);
  ASSERT_TRUE(second.ok()) << ErrorText(second);
  EXPECT_EQ(*second, 3u);

  SqlRow updated = sql.Row("SELECT * FROM devices WHERE device_id = 'atm-tokyo-0412'");
  EXPECT_EQ(updated["site_id"], Text("site-ikebukuro"));
  EXPECT_EQ(updated["kind"], Text("branch_server"));
  EXPECT_EQ(updated["agent_version"], Text("0.2.0"));
  EXPECT_EQ(updated["peer"], Text("10.20.30.41:40000"));
  EXPECT_EQ(updated["agent_last_seq"], Integer(7));
  EXPECT_EQ(updated["first_seen_unix_ns"], Integer(kReceivedAt1));
  EXPECT_EQ(updated["last_seen_unix_ns"], Integer(kReceivedAt2));
  EXPECT_EQ(updated["last_hello_unix_ns"], Integer(kReceivedAt2));
  EXPECT_EQ(updated["last_seq"], Integer(3));
  EXPECT_EQ(sql.Value("SELECT count(*) FROM devices"), Integer(1));
}

TEST_F(SqliteCollectorStoreTest, BatchIsStoredWithEveryFieldReadableBySql) {
  std::unique_ptr<CollectorStore> store = OpenStoreWithDevice("atm-tokyo-0412");
  ASSERT_NE(store, nullptr);
  const v1::Event event = SampleEvent(1);

  Result<StoredBatch> acked = store->StoreEvents("atm-tokyo-0412", "", {event}, kReceivedAt2);
  ASSERT_TRUE(acked.ok()) << ErrorText(acked);
  EXPECT_EQ(acked->last_stored_seq, 1u);

  PlainSql sql(path_);
  SqlRow row = sql.Row(
      "SELECT *, typeof(value) AS value_type, typeof(wall_time_unix_ns) AS time_type,"
      "       context_json ->> '$.available_bytes' AS available_bytes "
      "FROM events WHERE device_id = 'atm-tokyo-0412' AND seq = 1");
  EXPECT_EQ(row["received_unix_ns"], Integer(kReceivedAt2));
  EXPECT_EQ(row["wall_time_unix_ns"], Integer(event.wall_time_unix_ns()));
  EXPECT_EQ(row["time_type"], Text("integer"));
  EXPECT_EQ(row["monotonic_ns"], Integer(event.monotonic_ns()));
  EXPECT_EQ(row["boot_id"], Text(event.boot_id()));
  EXPECT_EQ(row["severity"], Text("critical"));
  EXPECT_EQ(row["kind"], Text("storage"));
  EXPECT_EQ(row["state"], Text("firing"));
  EXPECT_EQ(row["subject"], Text("/var/spool/ej"));
  EXPECT_EQ(row["alert_key"], Text("storage:/var/spool/ej"));
  EXPECT_EQ(row["value"], SqlValue(93.4));
  EXPECT_EQ(row["value_type"], Text("real"));
  EXPECT_EQ(row["threshold"], SqlValue(90.0));
  EXPECT_EQ(row["unit"], Text("percent"));
  EXPECT_EQ(row["category"], Text("daily_operation_storage"));
  EXPECT_EQ(row["impact_unavailable"], Text("withdrawal,deposit"));
  EXPECT_EQ(row["impact_degraded"], Text("inquiry"));
  EXPECT_EQ(row["summary"], Text(event.summary()));
  EXPECT_EQ(row["available_bytes"], Text("2834718720"));

  const auto& context_text = std::get<std::string>(row["context_json"]);
  ASSERT_TRUE(nlohmann::json::accept(context_text)) << context_text;
  nlohmann::json expected_context = nlohmann::json::object();
  for (const v1::ContextEntry& entry : event.context())
    expected_context[entry.key()] = entry.value();
  EXPECT_EQ(nlohmann::json::parse(context_text), expected_context);

  v1::Event from_payload;
  ASSERT_TRUE(from_payload.ParseFromString(std::get<std::string>(row["payload"])));
  EXPECT_TRUE(SameMessage(from_payload, event))
      << "payload: " << Describe(from_payload) << "\nstored:  " << Describe(event);

  SqlRow device = sql.Row("SELECT last_seq, last_seen_unix_ns FROM devices");
  EXPECT_EQ(device["last_seq"], Integer(1));
  EXPECT_EQ(device["last_seen_unix_ns"], Integer(kReceivedAt2));
  // Which services an event takes away, as the documentation shows it.
  EXPECT_EQ(sql.Value("SELECT count(*) FROM events "
                      "WHERE ',' || impact_unavailable || ',' LIKE '%,deposit,%'"),
            Integer(1));
}

TEST_P(CollectorStoreTest, ResentBatchStoresEachEventOnce) {
  std::unique_ptr<CollectorStore> store = OpenStoreWithDevice("atm-tokyo-0412");
  ASSERT_NE(store, nullptr);

  Result<StoredBatch> first =
      store->StoreEvents("atm-tokyo-0412", "", SampleEvents(1, 5), kReceivedAt1);
  ASSERT_TRUE(first.ok()) << ErrorText(first);
  EXPECT_EQ(first->last_stored_seq, 5u);

  // The same batch again, after a lost Ack; even a changed copy changes nothing.
  std::vector<v1::Event> resent = SampleEvents(1, 5);
  for (v1::Event& event : resent) event.set_summary("changed on the way");
  Result<StoredBatch> second = store->StoreEvents("atm-tokyo-0412", "", resent, kReceivedAt2);
  ASSERT_TRUE(second.ok()) << ErrorText(second);
  EXPECT_EQ(second->last_stored_seq, 5u);

  PlainSql& sql = Sql();
  EXPECT_EQ(sql.Value("SELECT count(*) FROM events"), Integer(5));
  EXPECT_EQ(sql.Value("SELECT count(*) FROM events WHERE received_unix_ns = " +
                      std::to_string(kReceivedAt1) + " AND summary <> 'changed on the way'"),
            Integer(5));
  EXPECT_EQ(sql.Value("SELECT last_seq FROM devices"), Integer(5));
  SqlRow alert = sql.Row("SELECT since_seq, last_seq, updated_unix_ns FROM alerts");
  EXPECT_EQ(alert["since_seq"], Integer(1));
  EXPECT_EQ(alert["last_seq"], Integer(5));
  EXPECT_EQ(alert["updated_unix_ns"], Integer(kReceivedAt1));
}

TEST_P(CollectorStoreTest, GroupStoresTheCallsOfSeveralDevicesInOneCommitAndARefusedOneAlone) {
  std::unique_ptr<CollectorStore> store = OpenStoreWithDevice("atm-tokyo-0412");
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store
                  ->RecordHello(SampleHello("atm-tokyo-0413", "site-shinjuku"), "10.20.30.41:1",
                                kReceivedAt1)
                  .ok());
  PlainSql& sql = Sql();

  ASSERT_TRUE(store->BeginGroup());
  Result<StoredBatch> first =
      store->StoreEvents("atm-tokyo-0412", "", SampleEvents(1, 3), kReceivedAt2);
  ASSERT_TRUE(first.ok()) << ErrorText(first);
  EXPECT_EQ(first->last_stored_seq, 3u);
  Result<StoredBatch> ghost =
      store->StoreEvents("atm-ghost-0001", "", SampleEvents(1, 2), kReceivedAt2);
  ASSERT_FALSE(ghost.ok());
  EXPECT_EQ(ghost.error().code(), ErrorCode::kNotFound);
  Result<StoredBatch> second =
      store->StoreEvents("atm-tokyo-0413", "", SampleEvents(1, 2), kReceivedAt2);
  ASSERT_TRUE(second.ok()) << ErrorText(second);
  v1::Heartbeat heartbeat;
  *heartbeat.add_services() =
      Service(v1::CUSTOMER_SERVICE_WITHDRAWAL, v1::SERVICE_STATE_IN_SERVICE, "");
  heartbeat.set_interval_ms(10000);
  ASSERT_TRUE(store->RecordHeartbeat("atm-tokyo-0413", heartbeat, kReceivedAt2));
  // Resent inside the same group: seen as stored, kept once.
  Result<StoredBatch> resent =
      store->StoreEvents("atm-tokyo-0412", "", SampleEvents(1, 3), kReceivedAt2);
  ASSERT_TRUE(resent.ok()) << ErrorText(resent);
  EXPECT_EQ(resent->duplicates, 3u);
  EXPECT_EQ(sql.Value("SELECT count(*) FROM events"), Integer(0))
      << "another connection sees nothing before the group commits";

  ASSERT_TRUE(store->CommitGroup());
  EXPECT_EQ(sql.Value("SELECT count(*) FROM events"), Integer(5));
  EXPECT_EQ(sql.Value("SELECT count(*) FROM events WHERE device_id = 'atm-ghost-0001'"),
            Integer(0));
  EXPECT_EQ(sql.Value("SELECT count(*) FROM heartbeats WHERE device_id = 'atm-tokyo-0413'"),
            Integer(1));
  EXPECT_EQ(sql.Value("SELECT last_seq FROM devices WHERE device_id = 'atm-tokyo-0412'"),
            Integer(3));
}

TEST_P(CollectorStoreTest, OverlappingBatchesStoreEachSeqOnce) {
  std::unique_ptr<CollectorStore> store = OpenStoreWithDevice("atm-tokyo-0412");
  ASSERT_NE(store, nullptr);

  Result<StoredBatch> first =
      store->StoreEvents("atm-tokyo-0412", "", SampleEvents(1, 5), kReceivedAt1);
  ASSERT_TRUE(first.ok()) << ErrorText(first);
  EXPECT_EQ(first->last_stored_seq, 5u);
  Result<StoredBatch> overlapping =
      store->StoreEvents("atm-tokyo-0412", "", SampleEvents(3, 8), kReceivedAt2);
  ASSERT_TRUE(overlapping.ok()) << ErrorText(overlapping);
  EXPECT_EQ(overlapping->last_stored_seq, 8u);
  // A batch wholly below what is stored acknowledges the highest stored seq.
  Result<StoredBatch> stale =
      store->StoreEvents("atm-tokyo-0412", "", SampleEvents(2, 4), kReceivedAt3);
  ASSERT_TRUE(stale.ok()) << ErrorText(stale);
  EXPECT_EQ(stale->last_stored_seq, 8u);

  PlainSql& sql = Sql();
  std::vector<SqlValue> seqs;
  for (SqlRow& row : sql.Rows("SELECT seq FROM events ORDER BY seq")) seqs.push_back(row["seq"]);
  EXPECT_EQ(seqs, (std::vector<SqlValue>{Integer(1), Integer(2), Integer(3), Integer(4), Integer(5),
                                         Integer(6), Integer(7), Integer(8)}));
  EXPECT_EQ(sql.Value("SELECT received_unix_ns FROM events WHERE seq = 4"), Integer(kReceivedAt1));
  EXPECT_EQ(sql.Value("SELECT received_unix_ns FROM events WHERE seq = 6"), Integer(kReceivedAt2));
  EXPECT_EQ(sql.Value("SELECT last_seq FROM devices"), Integer(8));
}

TEST_P(CollectorStoreTest, SequencesOfTwoDevicesAreIndependent) {
  std::unique_ptr<CollectorStore> store = OpenStoreWithDevice("atm-tokyo-0412");
  ASSERT_NE(store, nullptr);
  Result<std::uint64_t> hello = store->RecordHello(SampleHello("atm-osaka-0007", "site-umeda"),
                                                   "10.9.8.7:50000", kReceivedAt1);
  ASSERT_TRUE(hello.ok()) << ErrorText(hello);

  Result<StoredBatch> tokyo =
      store->StoreEvents("atm-tokyo-0412", "", SampleEvents(1, 5), kReceivedAt1);
  Result<StoredBatch> osaka =
      store->StoreEvents("atm-osaka-0007", "", SampleEvents(1, 3), kReceivedAt1);
  ASSERT_TRUE(tokyo.ok()) << ErrorText(tokyo);
  ASSERT_TRUE(osaka.ok()) << ErrorText(osaka);
  EXPECT_EQ(tokyo->last_stored_seq, 5u);
  EXPECT_EQ(osaka->last_stored_seq, 3u);
  Result<StoredBatch> osaka_again =
      store->StoreEvents("atm-osaka-0007", "", SampleEvents(1, 3), kReceivedAt2);
  ASSERT_TRUE(osaka_again.ok()) << ErrorText(osaka_again);
  EXPECT_EQ(osaka_again->last_stored_seq, 3u);

  Result<std::uint64_t> tokyo_hello = store->RecordHello(
      SampleHello("atm-tokyo-0412", "site-shinjuku"), "10.20.30.40:51234", kReceivedAt2);
  Result<std::uint64_t> osaka_hello = store->RecordHello(
      SampleHello("atm-osaka-0007", "site-umeda"), "10.9.8.7:50000", kReceivedAt2);
  ASSERT_TRUE(tokyo_hello.ok()) << ErrorText(tokyo_hello);
  ASSERT_TRUE(osaka_hello.ok()) << ErrorText(osaka_hello);
  EXPECT_EQ(*tokyo_hello, 5u);
  EXPECT_EQ(*osaka_hello, 3u);

  PlainSql& sql = Sql();
  std::vector<SqlRow> counts =
      sql.Rows("SELECT device_id, count(*) AS n FROM events GROUP BY device_id ORDER BY device_id");
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_EQ(counts[0]["device_id"], Text("atm-osaka-0007"));
  EXPECT_EQ(counts[0]["n"], Integer(3));
  EXPECT_EQ(counts[1]["device_id"], Text("atm-tokyo-0412"));
  EXPECT_EQ(counts[1]["n"], Integer(5));
}

TEST_P(CollectorStoreTest, HeartbeatHistoryKeepsOneHeartbeatPerDeviceAtItsResolution) {
  constexpr std::int64_t kMinute = 60'000'000'000;
  Result<std::unique_ptr<CollectorStore>> opened = backend_->Open(std::chrono::minutes(5));
  ASSERT_TRUE(opened.ok()) << ErrorText(opened);
  std::unique_ptr<CollectorStore> store = std::move(opened).value();
  for (const char* device : {"atm-tokyo-0412", "atm-tokyo-0413"}) {
    ASSERT_TRUE(
        store->RecordHello(SampleHello(device, "site-shinjuku"), "10.0.0.1:1", kReceivedAt1).ok());
  }
  v1::Heartbeat heartbeat;
  *heartbeat.add_services() =
      Service(v1::CUSTOMER_SERVICE_WITHDRAWAL, v1::SERVICE_STATE_IN_SERVICE, "");
  heartbeat.set_interval_ms(10000);
  // One device every 10 s for 12 minutes, the other once.
  for (std::int64_t at = kReceivedAt1; at <= kReceivedAt1 + 12 * kMinute; at += kMinute / 6) {
    heartbeat.mutable_health()->set_backlog_events(static_cast<std::uint64_t>(at - kReceivedAt1));
    ASSERT_TRUE(store->RecordHeartbeat("atm-tokyo-0412", heartbeat, at));
  }
  ASSERT_TRUE(store->RecordHeartbeat("atm-tokyo-0413", heartbeat, kReceivedAt1));

  PlainSql& sql = Sql();
  EXPECT_EQ(sql.Value("SELECT count(*) FROM heartbeat_history WHERE device_id = 'atm-tokyo-0412'"),
            Integer(3))
      << "73 heartbeats over 12 minutes at a 5-minute resolution: at 0, 5 and 10 minutes";
  EXPECT_EQ(sql.Value("SELECT min(received_unix_ns) FROM heartbeat_history"),
            Integer(kReceivedAt1));
  EXPECT_EQ(sql.Value("SELECT count(*) FROM heartbeat_history WHERE device_id = 'atm-tokyo-0413'"),
            Integer(1));
  EXPECT_EQ(sql.Value("SELECT backlog_events FROM heartbeats WHERE device_id = 'atm-tokyo-0412'"),
            Integer(12 * kMinute))
      << "the latest heartbeat is always kept";
}

TEST_P(CollectorStoreTest, HeartbeatHistoryOfZeroKeepsNoHistory) {
  std::unique_ptr<CollectorStore> store = OpenStoreWithDevice("atm-tokyo-0412");
  ASSERT_NE(store, nullptr);
  v1::Heartbeat heartbeat;
  heartbeat.set_interval_ms(10000);
  ASSERT_TRUE(store->RecordHeartbeat("atm-tokyo-0412", heartbeat, kReceivedAt1));
  ASSERT_TRUE(store->RecordHeartbeat("atm-tokyo-0412", heartbeat, kReceivedAt2));
  PlainSql& sql = Sql();
  EXPECT_EQ(sql.Value("SELECT count(*) FROM heartbeat_history"), Integer(0));
  EXPECT_EQ(sql.Value("SELECT count(*) FROM heartbeats"), Integer(1));
}

TEST_P(CollectorStoreTest, HeartbeatKeepsServiceSinceUntilTheStateChanges) {
  std::unique_ptr<CollectorStore> store = OpenStoreWithDevice("atm-tokyo-0412");
  ASSERT_NE(store, nullptr);

  v1::Heartbeat all_in_service;
  *all_in_service.add_services() =
      Service(v1::CUSTOMER_SERVICE_WITHDRAWAL, v1::SERVICE_STATE_IN_SERVICE, "");
  *all_in_service.add_services() =
      Service(v1::CUSTOMER_SERVICE_DEPOSIT, v1::SERVICE_STATE_IN_SERVICE, "");
  *all_in_service.add_services() =
      Service(v1::CUSTOMER_SERVICE_PASSBOOK, v1::SERVICE_STATE_IN_SERVICE, "");
  all_in_service.set_interval_ms(10000);
  Status first = store->RecordHeartbeat("atm-tokyo-0412", all_in_service, kReceivedAt1);
  ASSERT_TRUE(first.ok()) << ErrorText(first);

  PlainSql& sql = Sql();
  EXPECT_EQ(sql.Value("SELECT count(*) FROM device_services WHERE since_unix_ns = " +
                      std::to_string(kReceivedAt1) + " AND state = 'in_service'"),
            Integer(3));

  // Withdrawal goes out; the passbook printer is no longer offered.
  v1::Heartbeat withdrawal_out;
  *withdrawal_out.add_services() =
      Service(v1::CUSTOMER_SERVICE_WITHDRAWAL, v1::SERVICE_STATE_OUT_OF_SERVICE, "storage:/var");
  *withdrawal_out.add_services() =
      Service(v1::CUSTOMER_SERVICE_DEPOSIT, v1::SERVICE_STATE_IN_SERVICE, "");
  withdrawal_out.set_interval_ms(10000);
  Status second = store->RecordHeartbeat("atm-tokyo-0412", withdrawal_out, kReceivedAt2);
  ASSERT_TRUE(second.ok()) << ErrorText(second);

  SqlRow withdrawal = sql.Row("SELECT * FROM device_services WHERE service = 'withdrawal'");
  EXPECT_EQ(withdrawal["state"], Text("out_of_service"));
  EXPECT_EQ(withdrawal["reason"], Text("storage:/var"));
  EXPECT_EQ(withdrawal["since_unix_ns"], Integer(kReceivedAt2));
  SqlRow deposit = sql.Row("SELECT * FROM device_services WHERE service = 'deposit'");
  EXPECT_EQ(deposit["since_unix_ns"], Integer(kReceivedAt1));
  EXPECT_EQ(deposit["updated_unix_ns"], Integer(kReceivedAt2));
  EXPECT_EQ(sql.Value("SELECT count(*) FROM device_services WHERE service = 'passbook'"),
            Integer(0));

  // Still out (for another reason): since stays; deposit degrades: since moves.
  v1::Heartbeat still_out;
  *still_out.add_services() =
      Service(v1::CUSTOMER_SERVICE_WITHDRAWAL, v1::SERVICE_STATE_OUT_OF_SERVICE, "raid:md0");
  *still_out.add_services() =
      Service(v1::CUSTOMER_SERVICE_DEPOSIT, v1::SERVICE_STATE_DEGRADED, "link_group:bond0");
  still_out.set_interval_ms(15000);
  v1::AgentHealth* health = still_out.mutable_health();
  health->set_backlog_events(12);
  health->set_buffer_bytes(1 << 20);
  health->set_buffer_limit_bytes(64 << 20);
  health->set_oldest_undelivered_age_ms(4500);
  health->set_dropped_events_total(2);
  health->set_last_seq(42);
  health->set_buffer_degraded(true);
  health->set_wall_time_unix_ns(kReceivedAt3 - 1'500'000'000);
  health->set_monotonic_ns(86'400'000'000'123);
  health->set_uptime_s(3600);
  Status third = store->RecordHeartbeat("atm-tokyo-0412", still_out, kReceivedAt3);
  ASSERT_TRUE(third.ok()) << ErrorText(third);

  withdrawal = sql.Row("SELECT * FROM device_services WHERE service = 'withdrawal'");
  EXPECT_EQ(withdrawal["reason"], Text("raid:md0"));
  EXPECT_EQ(withdrawal["since_unix_ns"], Integer(kReceivedAt2));
  EXPECT_EQ(withdrawal["updated_unix_ns"], Integer(kReceivedAt3));
  deposit = sql.Row("SELECT * FROM device_services WHERE service = 'deposit'");
  EXPECT_EQ(deposit["state"], Text("degraded"));
  EXPECT_EQ(deposit["since_unix_ns"], Integer(kReceivedAt3));

  // One heartbeat row per device, holding the latest.
  SqlRow heartbeat = sql.Row("SELECT * FROM heartbeats");
  EXPECT_EQ(heartbeat["device_id"], Text("atm-tokyo-0412"));
  EXPECT_EQ(heartbeat["received_unix_ns"], Integer(kReceivedAt3));
  EXPECT_EQ(heartbeat["interval_ms"], Integer(15000));
  EXPECT_EQ(heartbeat["backlog_events"], Integer(12));
  EXPECT_EQ(heartbeat["buffer_bytes"], Integer(1 << 20));
  EXPECT_EQ(heartbeat["buffer_limit_bytes"], Integer(64 << 20));
  EXPECT_EQ(heartbeat["oldest_undelivered_age_ms"], Integer(4500));
  EXPECT_EQ(heartbeat["dropped_events_total"], Integer(2));
  EXPECT_EQ(heartbeat["agent_last_seq"], Integer(42));
  EXPECT_EQ(heartbeat["buffer_degraded"], Integer(1));
  EXPECT_EQ(heartbeat["agent_wall_time_unix_ns"], Integer(kReceivedAt3 - 1'500'000'000));
  EXPECT_EQ(heartbeat["agent_monotonic_ns"], Integer(86'400'000'000'123));
  EXPECT_EQ(heartbeat["uptime_s"], Integer(3600));
  EXPECT_EQ(nlohmann::json::parse(std::get<std::string>(heartbeat["services_json"])),
            nlohmann::json::parse(R"([
              {"service": "withdrawal", "state": "out_of_service", "reason": "raid:md0"},
              {"service": "deposit", "state": "degraded", "reason": "link_group:bond0"}])"));
  EXPECT_EQ(sql.Value("SELECT last_seen_unix_ns FROM devices"), Integer(kReceivedAt3));

  // The documented "withdrawal at a site" query over what was recorded.
  SqlRow at_site = sql.Row(kWithdrawalAtSite);
  EXPECT_EQ(at_site["state"], Text("out_of_service"));
  EXPECT_EQ(at_site["next_heartbeat_due_unix_ns"], Integer(kReceivedAt3 + 15'000'000'000));
}

TEST_P(CollectorStoreTest, AlertsFollowFiringAndResolvedEvents) {
  std::unique_ptr<CollectorStore> store = OpenStoreWithDevice("atm-tokyo-0412");
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(
      store->RecordHello(SampleHello("atm-tokyo-0413", "site-shinjuku"), "p", kReceivedAt1).ok());
  ASSERT_TRUE(
      store->RecordHello(SampleHello("atm-osaka-0007", "site-umeda"), "p", kReceivedAt1).ok());

  std::vector<v1::Event> tokyo = {
      AlertEventOf(1, "storage:/var", v1::ALERT_STATE_FIRING, v1::SEVERITY_WARNING),
      AlertEventOf(2, "storage:/var", v1::ALERT_STATE_FIRING, v1::SEVERITY_CRITICAL),
      AlertEventOf(3, "raid:md0", v1::ALERT_STATE_FIRING, v1::SEVERITY_WARNING),
      AlertEventOf(4, "raid:md0", v1::ALERT_STATE_RESOLVED, v1::SEVERITY_INFO),
      AlertEventOf(5, "config_change:/etc/atm.conf", v1::ALERT_STATE_NOTICE, v1::SEVERITY_INFO),
  };
  ASSERT_TRUE(store->StoreEvents("atm-tokyo-0412", "", tokyo, kReceivedAt1).ok());
  ASSERT_TRUE(store
                  ->StoreEvents("atm-tokyo-0413", "",
                                {AlertEventOf(1, "peer:standby", v1::ALERT_STATE_FIRING,
                                              v1::SEVERITY_CRITICAL)},
                                kReceivedAt1)
                  .ok());
  ASSERT_TRUE(store
                  ->StoreEvents("atm-osaka-0007", "",
                                {AlertEventOf(1, "storage:/var", v1::ALERT_STATE_FIRING,
                                              v1::SEVERITY_CRITICAL)},
                                kReceivedAt1)
                  .ok());

  PlainSql& sql = Sql();
  std::vector<SqlRow> firing = sql.Rows(kFiringAlertsOfSite);
  ASSERT_EQ(firing.size(), 2u);
  EXPECT_EQ(firing[0]["device_id"], Text("atm-tokyo-0412"));
  EXPECT_EQ(firing[0]["alert_key"], Text("storage:/var"));
  EXPECT_EQ(firing[0]["severity"], Text("critical"));
  EXPECT_EQ(firing[0]["since_wall_time_unix_ns"], Integer(SampleEvent(1).wall_time_unix_ns()));
  EXPECT_EQ(firing[0]["impact_unavailable"], Text("withdrawal,deposit"));
  EXPECT_EQ(firing[1]["device_id"], Text("atm-tokyo-0413"));
  EXPECT_EQ(firing[1]["alert_key"], Text("peer:standby"));
  SqlRow raid = sql.Row("SELECT * FROM alerts WHERE alert_key = 'raid:md0'");
  EXPECT_EQ(raid["state"], Text("resolved"));
  EXPECT_EQ(raid["since_seq"], Integer(4));
  EXPECT_EQ(sql.Value("SELECT count(*) FROM alerts WHERE alert_key LIKE 'config_change:%'"),
            Integer(0));

  // Resolved, then firing again: a new firing period starts.
  ASSERT_TRUE(
      store
          ->StoreEvents(
              "atm-tokyo-0412", "",
              {AlertEventOf(6, "storage:/var", v1::ALERT_STATE_RESOLVED, v1::SEVERITY_INFO),
               AlertEventOf(7, "storage:/var", v1::ALERT_STATE_FIRING, v1::SEVERITY_WARNING)},
              kReceivedAt2)
          .ok());
  SqlRow storage = sql.Row(
      "SELECT * FROM alerts WHERE device_id = 'atm-tokyo-0412' AND alert_key = 'storage:/var'");
  EXPECT_EQ(storage["state"], Text("firing"));
  EXPECT_EQ(storage["since_seq"], Integer(7));
  EXPECT_EQ(storage["last_seq"], Integer(7));
  EXPECT_EQ(storage["severity"], Text("warning"));
  EXPECT_EQ(sql.Rows(kEventsOfAlertKey).size(), 5u);
}

TEST_F(SqliteCollectorStoreTest, DocumentedQueriesUseIndexes) {
  std::unique_ptr<CollectorStore> store = OpenStoreWithDevice("atm-tokyo-0412");
  ASSERT_NE(store, nullptr);
  PlainSql sql(path_);
  struct Documented {
    const char* query;
    bool ordered_by_index;  // false: sorts its few rows (one site's devices)
  };
  for (const Documented& documented :
       {Documented{kLatestEventsOfDevice, true}, Documented{kEventsOfAlertKey, true},
        Documented{kFiringAlertsOfSite, true}, Documented{kWithdrawalAtSite, false},
        Documented{kEventsReceivedSince, true}}) {
    std::string plan;
    for (SqlRow& step : sql.Rows(std::string("EXPLAIN QUERY PLAN ") + documented.query)) {
      plan += std::get<std::string>(step["detail"]) + "\n";
    }
    EXPECT_THAT(plan, ::testing::Not(HasSubstr("SCAN "))) << documented.query;
    if (documented.ordered_by_index) {
      EXPECT_THAT(plan, ::testing::Not(HasSubstr("TEMP B-TREE"))) << documented.query;
    }
  }
}

TEST_F(SqliteCollectorStoreTest, ReopeningKeepsEverything) {
  {
    std::unique_ptr<CollectorStore> store = OpenStoreWithDevice("atm-tokyo-0412");
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->StoreEvents("atm-tokyo-0412", "", SampleEvents(1, 9), kReceivedAt1).ok());
    v1::Heartbeat heartbeat;
    *heartbeat.add_services() =
        Service(v1::CUSTOMER_SERVICE_INQUIRY, v1::SERVICE_STATE_IN_SERVICE, "");
    ASSERT_TRUE(store->RecordHeartbeat("atm-tokyo-0412", heartbeat, kReceivedAt2).ok());
  }
  std::unique_ptr<CollectorStore> reopened = OpenStore();
  ASSERT_NE(reopened, nullptr);
  Result<std::uint64_t> hello = reopened->RecordHello(
      SampleHello("atm-tokyo-0412", "site-shinjuku"), "10.20.30.40:51234", kReceivedAt3);
  ASSERT_TRUE(hello.ok()) << ErrorText(hello);
  EXPECT_EQ(*hello, 9u);
  Result<StoredBatch> resent =
      reopened->StoreEvents("atm-tokyo-0412", "", SampleEvents(5, 10), kReceivedAt3);
  ASSERT_TRUE(resent.ok()) << ErrorText(resent);
  EXPECT_EQ(resent->last_stored_seq, 10u);

  PlainSql sql(path_);
  EXPECT_EQ(sql.Value("SELECT count(*) FROM events"), Integer(10));
  EXPECT_EQ(sql.Value("SELECT first_seen_unix_ns FROM devices"), Integer(kReceivedAt1));
  EXPECT_EQ(sql.Value("SELECT since_unix_ns FROM device_services"), Integer(kReceivedAt2));
  EXPECT_EQ(sql.Value("SELECT count(*) FROM heartbeats"), Integer(1));
  EXPECT_EQ(sql.Value("PRAGMA user_version"), Integer(kCollectorSchemaVersion));
  EXPECT_EQ(sql.Value("PRAGMA journal_mode"), Text("wal"));
  EXPECT_EQ(sql.Value("PRAGMA integrity_check"), Text("ok"));
}

TEST_P(CollectorStoreTest, DeviceThatNeverSaidHelloIsNotFoundAndNothingIsStored) {
  std::unique_ptr<CollectorStore> store = OpenStore();
  ASSERT_NE(store, nullptr);

  Result<StoredBatch> stored =
      store->StoreEvents("atm-ghost-0001", "", SampleEvents(1, 3), kReceivedAt1);
  ASSERT_FALSE(stored.ok());
  EXPECT_EQ(stored.error().code(), ErrorCode::kNotFound);
  EXPECT_THAT(stored.error().message(), HasSubstr("\"atm-ghost-0001\""));
  EXPECT_THAT(stored.error().message(), HasSubstr(Where()));

  Status heartbeat = store->RecordHeartbeat("atm-ghost-0001", v1::Heartbeat(), kReceivedAt1);
  ASSERT_FALSE(heartbeat.ok());
  EXPECT_EQ(heartbeat.error().code(), ErrorCode::kNotFound);

  PlainSql& sql = Sql();
  EXPECT_EQ(sql.Value("SELECT count(*) FROM events"), Integer(0));
  EXPECT_EQ(sql.Value("SELECT count(*) FROM heartbeats"), Integer(0));
}

TEST_P(CollectorStoreTest, BatchWithAnImpossibleSeqStoresNothing) {
  std::unique_ptr<CollectorStore> store = OpenStoreWithDevice("atm-tokyo-0412");
  ASSERT_NE(store, nullptr);

  std::vector<v1::Event> with_zero = SampleEvents(1, 3);
  with_zero.push_back(SampleEvent(0));
  Result<StoredBatch> zero = store->StoreEvents("atm-tokyo-0412", "", with_zero, kReceivedAt1);
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(zero.error().message(), HasSubstr("events[3]: seq 0"));

  std::vector<v1::Event> too_big = SampleEvents(1, 2);
  too_big.push_back(SampleEvent(std::uint64_t{1} << 63));
  Result<StoredBatch> huge = store->StoreEvents("atm-tokyo-0412", "", too_big, kReceivedAt1);
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.error().code(), ErrorCode::kInvalidArgument);

  PlainSql& sql = Sql();
  EXPECT_EQ(sql.Value("SELECT count(*) FROM events"), Integer(0));
  EXPECT_EQ(sql.Value("SELECT last_seq FROM devices"), Integer(0));
}

TEST_F(SqliteCollectorStoreTest, UnusualFieldValuesAreStoredReadably) {
  std::unique_ptr<CollectorStore> store = OpenStoreWithDevice("atm-tokyo-0412");
  ASSERT_NE(store, nullptr);

  v1::Event odd = SampleEvent(1);
  odd.set_value(std::numeric_limits<double>::quiet_NaN());
  odd.set_threshold(std::numeric_limits<double>::infinity());
  odd.set_kind(static_cast<v1::AlertKind>(99));  // from a newer agent
  odd.clear_impact();
  odd.mutable_context(0)->set_value("bytes \xff\xfe that are not UTF-8");
  odd.mutable_context(1)->set_key(odd.context(0).key());  // a repeated key
  Result<StoredBatch> acked = store->StoreEvents("atm-tokyo-0412", "", {odd}, kReceivedAt1);
  ASSERT_TRUE(acked.ok()) << ErrorText(acked);

  PlainSql sql(path_);
  SqlRow row = sql.Row("SELECT * FROM events");
  EXPECT_EQ(row["value"], SqlValue(nullptr));
  EXPECT_EQ(row["threshold"], SqlValue(std::numeric_limits<double>::infinity()));
  EXPECT_EQ(row["kind"], Text("unknown(99)"));
  EXPECT_EQ(row["impact_unavailable"], Text(""));
  const auto& context_text = std::get<std::string>(row["context_json"]);
  ASSERT_TRUE(nlohmann::json::accept(context_text)) << context_text;
  EXPECT_EQ(nlohmann::json::parse(context_text).size(),
            static_cast<std::size_t>(odd.context_size() - 1));
  EXPECT_EQ(std::get<std::string>(row["payload"]), odd.SerializeAsString());
}

TEST_F(SqliteCollectorStoreTest, BusyDatabaseIsUnavailableAndChangesNothing) {
  SqliteCollectorStoreOptions options;
  options.busy_timeout = std::chrono::milliseconds(200);
  Result<std::unique_ptr<SqliteCollectorStore>> store =
      SqliteCollectorStore::Open(path_.string(), options);
  ASSERT_TRUE(store.ok()) << ErrorText(store);
  ASSERT_TRUE((*store)
                  ->RecordHello(SampleHello("atm-tokyo-0412", "site-shinjuku"), "p", kReceivedAt1)
                  .ok());

  // An operator's shell holds the write lock.
  PlainSql shell(path_);
  shell.Execute("BEGIN IMMEDIATE");
  Result<StoredBatch> blocked =
      (*store)->StoreEvents("atm-tokyo-0412", "", SampleEvents(1, 3), kReceivedAt1);
  ASSERT_FALSE(blocked.ok());
  EXPECT_EQ(blocked.error().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(blocked.error().message(), HasSubstr("SQLITE_BUSY"));
  EXPECT_THAT(blocked.error().message(), HasSubstr("store batch of \"atm-tokyo-0412\""));
  Status heartbeat = (*store)->RecordHeartbeat("atm-tokyo-0412", v1::Heartbeat(), kReceivedAt1);
  ASSERT_FALSE(heartbeat.ok());
  EXPECT_EQ(heartbeat.error().code(), ErrorCode::kUnavailable);
  shell.Execute("ROLLBACK");

  EXPECT_EQ(shell.Value("SELECT count(*) FROM events"), Integer(0));
  Result<StoredBatch> retried =
      (*store)->StoreEvents("atm-tokyo-0412", "", SampleEvents(1, 3), kReceivedAt2);
  ASSERT_TRUE(retried.ok()) << ErrorText(retried);
  EXPECT_EQ(retried->last_stored_seq, 3u);
  EXPECT_EQ(shell.Value("SELECT count(*) FROM events"), Integer(3));
}

TEST_F(SqliteCollectorStoreTest, FileThatIsNotADatabaseIsRefusedAsCorrupt) {
  {
    std::ofstream garbage(path_);
    for (int i = 0; i < 200; ++i) garbage << "this is a log file, not a database\n";
  }
  Result<std::unique_ptr<CollectorStore>> store = CollectorStore::OpenSqlite(path_.string());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code(), ErrorCode::kCorrupt);
  EXPECT_THAT(store.error().message(), HasSubstr(path_.string()));
  EXPECT_THAT(store.error().message(), HasSubstr("SQLITE_NOTADB"));
}

TEST_F(SqliteCollectorStoreTest, DatabaseOfANewerSchemaIsRefused) {
  ASSERT_NE(OpenStore(), nullptr);
  {
    PlainSql sql(path_);
    sql.Execute("PRAGMA user_version = 99");
  }
  Result<std::unique_ptr<CollectorStore>> store = CollectorStore::OpenSqlite(path_.string());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(store.error().message(), HasSubstr("schema version 99"));
  EXPECT_THAT(store.error().message(), HasSubstr(path_.string()));
}

TEST_F(SqliteCollectorStoreTest, MissingDirectoryIsNotFound) {
  const std::string path = (scratch_ / "no-such-directory" / "collector.db").string();
  Result<std::unique_ptr<CollectorStore>> store = CollectorStore::OpenSqlite(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code(), ErrorCode::kNotFound);
  EXPECT_THAT(store.error().message(), HasSubstr(path));
}

TEST_P(CollectorStoreTest, HelloWithABadDeviceIdIsRefused) {
  std::unique_ptr<CollectorStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  for (const std::string& bad : {std::string(), std::string("atm 1'; DROP TABLE devices;--"),
                                 std::string(65, 'a'), std::string("atm\n1")}) {
    Result<std::uint64_t> hello =
        store->RecordHello(SampleHello(bad, "site-shinjuku"), "10.0.0.1:1", kReceivedAt1);
    ASSERT_FALSE(hello.ok()) << bad;
    EXPECT_EQ(hello.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_THAT(hello.error().message(), HasSubstr("device_id"));
    EXPECT_EQ(hello.error().message().find('\n'), std::string::npos);
  }
  PlainSql& sql = Sql();
  EXPECT_EQ(sql.Value("SELECT count(*) FROM devices"), Integer(0));
}

TEST_P(CollectorStoreTest, HeartbeatWithAnUnspecifiedServiceIsRefused) {
  std::unique_ptr<CollectorStore> store = OpenStoreWithDevice("atm-tokyo-0412");
  ASSERT_NE(store, nullptr);
  v1::Heartbeat heartbeat;
  *heartbeat.add_services() =
      Service(v1::CUSTOMER_SERVICE_WITHDRAWAL, v1::SERVICE_STATE_IN_SERVICE, "");
  *heartbeat.add_services() =
      Service(v1::CUSTOMER_SERVICE_UNSPECIFIED, v1::SERVICE_STATE_IN_SERVICE, "");
  Status recorded = store->RecordHeartbeat("atm-tokyo-0412", heartbeat, kReceivedAt1);
  ASSERT_FALSE(recorded.ok());
  EXPECT_EQ(recorded.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(recorded.error().message(), HasSubstr("services[1]"));
  PlainSql& sql = Sql();
  EXPECT_EQ(sql.Value("SELECT count(*) FROM device_services"), Integer(0));
  EXPECT_EQ(sql.Value("SELECT count(*) FROM heartbeats"), Integer(0));
}

// Regression: a device's recreated buffer started again at seq 1, and the
// collector, keyed on (device, seq), took its events for duplicates. Each
// buffer keeps its own sequence now.
TEST_P(CollectorStoreTest, RecreatedBufferOfADeviceIsStoredBesideTheOldOne) {
  std::unique_ptr<CollectorStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  v1::Hello old_buffer = SampleHello("atm-tokyo-0412", "site-shinjuku");
  old_buffer.set_buffer_id(std::string(32, 'a'));
  ASSERT_TRUE(store->RecordHello(old_buffer, "10.20.30.40:1", kReceivedAt1).ok());
  ASSERT_TRUE(
      store->StoreEvents("atm-tokyo-0412", old_buffer.buffer_id(), SampleEvents(1, 5), kReceivedAt1)
          .ok());

  v1::Hello new_buffer = old_buffer;
  new_buffer.set_buffer_id(std::string(32, 'b'));
  Result<std::uint64_t> welcome = store->RecordHello(new_buffer, "10.20.30.40:2", kReceivedAt2);
  ASSERT_TRUE(welcome.ok()) << ErrorText(welcome);
  EXPECT_EQ(*welcome, 0u);  // nothing of the new buffer yet
  Result<StoredBatch> stored = store->StoreEvents("atm-tokyo-0412", new_buffer.buffer_id(),
                                                  SampleEvents(1, 3), kReceivedAt2);
  ASSERT_TRUE(stored.ok()) << ErrorText(stored);
  EXPECT_EQ(stored->inserted, 3u);
  EXPECT_EQ(stored->duplicates, 0u);
  EXPECT_EQ(stored->last_stored_seq, 3u);

  PlainSql& sql = Sql();
  EXPECT_EQ(sql.Value("SELECT count(*) FROM events"), Integer(8));
  EXPECT_EQ(sql.Value("SELECT count(*) FROM buffers WHERE device_id = 'atm-tokyo-0412'"),
            Integer(2));
  EXPECT_EQ(sql.Value("SELECT buffer_id FROM devices"), Text(new_buffer.buffer_id()));
  EXPECT_EQ(sql.Value("SELECT last_seq FROM devices"), Integer(3));
  // The old buffer's alert was last moved by seq 5; the new buffer's seq 3
  // is newer all the same.
  EXPECT_EQ(sql.Value("SELECT buffer_id || ':' || last_seq FROM alerts"),
            Text(new_buffer.buffer_id() + ":3"));
  Result<std::uint64_t> old_again = store->RecordHello(old_buffer, "10.20.30.40:3", kReceivedAt3);
  ASSERT_TRUE(old_again.ok());
  EXPECT_EQ(*old_again, 5u);
}

// Regression: a late event filling a gap was stored but counted as a
// duplicate, and gaps were neither logged nor counted.
TEST_P(CollectorStoreTest, GapsAreReportedAndALateEventFillingOneCountsAsStored) {
  std::unique_ptr<CollectorStore> store = OpenStoreWithDevice("atm-tokyo-0412");
  ASSERT_NE(store, nullptr);
  std::vector<v1::Event> with_gaps = SampleEvents(1, 2);
  for (std::uint64_t seq : {5, 6, 9}) with_gaps.push_back(SampleEvent(seq));
  Result<StoredBatch> first = store->StoreEvents("atm-tokyo-0412", "", with_gaps, kReceivedAt1);
  ASSERT_TRUE(first.ok()) << ErrorText(first);
  EXPECT_EQ(first->inserted, 5u);
  EXPECT_EQ(first->gap_ranges, 2u);
  EXPECT_EQ(first->gap_events, 4u);  // 3, 4, 7, 8
  ASSERT_EQ(first->gaps.size(), 2u);
  EXPECT_EQ(first->gaps[0].first, 3u);
  EXPECT_EQ(first->gaps[0].last, 4u);
  EXPECT_EQ(first->gaps[1].first, 7u);
  EXPECT_EQ(first->gaps[1].last, 8u);

  std::vector<v1::Event> late = {SampleEvent(3), SampleEvent(5)};
  Result<StoredBatch> second = store->StoreEvents("atm-tokyo-0412", "", late, kReceivedAt2);
  ASSERT_TRUE(second.ok()) << ErrorText(second);
  EXPECT_EQ(second->inserted, 1u);
  EXPECT_EQ(second->late, 1u);
  EXPECT_EQ(second->duplicates, 1u);
  EXPECT_EQ(second->gap_ranges, 0u);
  EXPECT_EQ(second->last_stored_seq, 9u);
  PlainSql& sql = Sql();
  EXPECT_EQ(sql.Value("SELECT gap_events FROM buffers"), Integer(4));
}

TEST_F(SqliteCollectorStoreTest, HeartbeatKeepsTheLatestTransactionFeedOfTheDevice) {
  std::unique_ptr<CollectorStore> store = OpenStoreWithDevice("atm-tokyo-0412");
  ASSERT_NE(store, nullptr);
  v1::Heartbeat without_feed;
  ASSERT_TRUE(store->RecordHeartbeat("atm-tokyo-0412", without_feed, kReceivedAt1).ok());
  PlainSql sql(path_);
  EXPECT_EQ(sql.Value("SELECT feed_json FROM heartbeats"), Text(""));

  v1::Heartbeat heartbeat;
  v1::FeedHealth& feed = *heartbeat.mutable_health()->mutable_feed();
  feed.set_lines_total(1000);
  feed.set_bad_lines_total(7);
  v1::FeedBadLines& bad = *feed.add_bad_lines();
  bad.set_reason("bad_value");
  bad.set_count(7);
  feed.set_tps(12.5);
  feed.set_error_ratio(0.25);
  feed.set_p99_ms(840);
  v1::FeedTypeThroughput& type = *feed.add_types();
  type.set_type("withdrawal");
  type.set_tps(10);
  ASSERT_TRUE(store->RecordHeartbeat("atm-tokyo-0412", heartbeat, kReceivedAt2).ok());
  EXPECT_EQ(sql.Value("SELECT feed_json ->> '$.tps' FROM heartbeats"), Real(12.5));
  EXPECT_EQ(sql.Value("SELECT feed_json ->> '$.error_ratio' FROM heartbeats"), Real(0.25));
  EXPECT_EQ(sql.Value("SELECT feed_json ->> '$.p99_ms' FROM heartbeats"), Real(840));
  EXPECT_EQ(sql.Value("SELECT feed_json ->> '$.lines_total' FROM heartbeats"), Integer(1000));
  EXPECT_EQ(sql.Value("SELECT feed_json ->> '$.bad_lines.bad_value' FROM heartbeats"), Integer(7));
  EXPECT_EQ(sql.Value("SELECT feed_json ->> '$.types[0].type' FROM heartbeats"),
            Text("withdrawal"));
  EXPECT_EQ(sql.Value("SELECT feed_json ->> '$.types[0].tps' FROM heartbeats"), Real(10));

  // The next heartbeat replaces it: the collector keeps the latest only.
  ASSERT_TRUE(store->RecordHeartbeat("atm-tokyo-0412", without_feed, kReceivedAt3).ok());
  EXPECT_EQ(sql.Value("SELECT feed_json FROM heartbeats"), Text(""));
}

// A database of schema version 3 (before the heartbeat's feed) opens, keeps
// its heartbeat row with an empty feed and stores the feed of the next one.
TEST_F(SqliteCollectorStoreTest, DatabaseOfSchemaVersion3IsMigratedKeepingItsHeartbeats) {
  {
    Result<platform::SqliteDatabase> database =
        platform::SqliteDatabase::Open(path_.string(), std::chrono::milliseconds(1000));
    ASSERT_TRUE(database.ok()) << ErrorText(database);
    ASSERT_TRUE(MigrateCollectorSchema(*database, 3).ok());
  }
  {
    PlainSql sql(path_);
    sql.Execute(
        "INSERT INTO devices VALUES ('atm-tokyo-0412', 'site-shinjuku', 'atm', '0.1.0', 1, "
        "'10.0.0.1:1', 7, 1, 2, 2, 7, '')");
    sql.Execute(
        "INSERT INTO heartbeats VALUES ('atm-tokyo-0412', 2, 10000, '[]', 3, 4096, 65536, 0, 0, 7, "
        "0, 2, 2, 60, 0)");
    EXPECT_EQ(sql.Value("PRAGMA user_version"), Integer(3));
  }
  std::unique_ptr<CollectorStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  {
    PlainSql sql(path_);
    EXPECT_EQ(sql.Value("PRAGMA user_version"), Integer(kCollectorSchemaVersion));
    SqlRow kept = sql.Row("SELECT * FROM heartbeats WHERE device_id = 'atm-tokyo-0412'");
    EXPECT_EQ(kept["backlog_events"], Integer(3));
    EXPECT_EQ(kept["uptime_s"], Integer(60));
    EXPECT_EQ(kept["feed_json"], Text(""));
  }
  v1::Heartbeat heartbeat;
  heartbeat.mutable_health()->mutable_feed()->set_tps(3.5);
  ASSERT_TRUE(store->RecordHeartbeat("atm-tokyo-0412", heartbeat, kReceivedAt2).ok());
  PlainSql sql(path_);
  EXPECT_EQ(sql.Value("SELECT feed_json ->> '$.tps' FROM heartbeats"), Real(3.5));
}

// A database written by the collector before buffer ids (schema version 2)
// opens, keeps every event under the buffer "" and goes on from there.
TEST_F(SqliteCollectorStoreTest, DatabaseOfSchemaVersion2IsMigratedKeepingItsEvents) {
  {
    Result<platform::SqliteDatabase> database =
        platform::SqliteDatabase::Open(path_.string(), std::chrono::milliseconds(1000));
    ASSERT_TRUE(database.ok()) << ErrorText(database);
    ASSERT_TRUE(MigrateCollectorSchema(*database, 2).ok());
  }
  {
    PlainSql sql(path_);
    sql.Execute(
        "INSERT INTO devices VALUES ('atm-tokyo-0412', 'site-shinjuku', 'atm', '0.1.0', 1, "
        "'10.0.0.1:1', 7, 1, 2, 2, 7)");
    sql.Execute(
        "INSERT INTO events VALUES ('atm-tokyo-0412', 7, 2, 1, 1, 'boot', 'warning', 'storage', "
        "'firing', '/var', 'storage:/var', 91, 90, 'percent', 'daily_operation_storage', '', '', "
        "'s', '{}', x'00')");
  }
  std::unique_ptr<CollectorStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  Result<std::uint64_t> welcome = store->RecordHello(SampleHello("atm-tokyo-0412", "site-shinjuku"),
                                                     "10.0.0.1:2", kReceivedAt2);
  ASSERT_TRUE(welcome.ok()) << ErrorText(welcome);
  EXPECT_EQ(*welcome, 7u);
  Result<StoredBatch> resent =
      store->StoreEvents("atm-tokyo-0412", "", SampleEvents(7, 8), kReceivedAt2);
  ASSERT_TRUE(resent.ok()) << ErrorText(resent);
  EXPECT_EQ(resent->duplicates, 1u);
  EXPECT_EQ(resent->inserted, 1u);
  PlainSql sql(path_);
  EXPECT_EQ(sql.Value("PRAGMA user_version"), Integer(kCollectorSchemaVersion));
  EXPECT_EQ(sql.Value("SELECT count(*) FROM incidents"), Integer(0));
  EXPECT_EQ(sql.Value("SELECT group_concat(buffer_id || ':' || seq) FROM events"), Text(":7,:8"));
}

// One batch that fires, resolves and fires again one alert (and moves a
// second one between): the alert ends in the state of its last event, its
// period starting at the last change of state, as if each event came alone.
TEST_P(CollectorStoreTest, BatchHoldingFiringAndResolvedOfOneAlertEndsInItsLastState) {
  std::unique_ptr<CollectorStore> store = OpenStoreWithDevice("atm-tokyo-0412");
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store
                  ->StoreEvents("atm-tokyo-0412", "",
                                {AlertEventOf(1, "storage:/var", v1::ALERT_STATE_FIRING,
                                              v1::SEVERITY_WARNING)},
                                kReceivedAt1)
                  .ok());
  Result<StoredBatch> batch = store->StoreEvents(
      "atm-tokyo-0412", "",
      {AlertEventOf(2, "storage:/var", v1::ALERT_STATE_FIRING, v1::SEVERITY_CRITICAL),
       AlertEventOf(3, "storage:/var", v1::ALERT_STATE_RESOLVED, v1::SEVERITY_INFO),
       AlertEventOf(4, "raid:md0", v1::ALERT_STATE_FIRING, v1::SEVERITY_WARNING),
       AlertEventOf(5, "storage:/var", v1::ALERT_STATE_FIRING, v1::SEVERITY_WARNING),
       AlertEventOf(6, "storage:/var", v1::ALERT_STATE_FIRING, v1::SEVERITY_CRITICAL),
       AlertEventOf(7, "raid:md0", v1::ALERT_STATE_RESOLVED, v1::SEVERITY_INFO)},
      kReceivedAt2);
  ASSERT_TRUE(batch.ok()) << ErrorText(batch);
  EXPECT_EQ(batch->inserted, 6u);

  PlainSql& sql = Sql();
  SqlRow storage = sql.Row("SELECT * FROM alerts WHERE alert_key = 'storage:/var'");
  EXPECT_EQ(storage["state"], Text("firing"));
  EXPECT_EQ(storage["severity"], Text("critical"));
  EXPECT_EQ(storage["since_seq"], Integer(5));
  EXPECT_EQ(storage["since_wall_time_unix_ns"], Integer(SampleEvent(5).wall_time_unix_ns()));
  EXPECT_EQ(storage["last_seq"], Integer(6));
  EXPECT_EQ(storage["updated_unix_ns"], Integer(kReceivedAt2));
  SqlRow raid = sql.Row("SELECT * FROM alerts WHERE alert_key = 'raid:md0'");
  EXPECT_EQ(raid["state"], Text("resolved"));
  EXPECT_EQ(raid["since_seq"], Integer(7));
  EXPECT_EQ(raid["last_seq"], Integer(7));

  // Firing all through the next batch: the period that began at 5 goes on.
  ASSERT_TRUE(
      store
          ->StoreEvents(
              "atm-tokyo-0412", "",
              {AlertEventOf(8, "storage:/var", v1::ALERT_STATE_FIRING, v1::SEVERITY_WARNING),
               AlertEventOf(9, "storage:/var", v1::ALERT_STATE_FIRING, v1::SEVERITY_CRITICAL)},
              kReceivedAt3)
          .ok());
  storage = sql.Row("SELECT * FROM alerts WHERE alert_key = 'storage:/var'");
  EXPECT_EQ(storage["since_seq"], Integer(5));
  EXPECT_EQ(storage["last_seq"], Integer(9));
  EXPECT_EQ(sql.Value("SELECT count(*) FROM events"), Integer(9));
}

// A late event (below the highest stored, filling a gap) moves its alert
// no more inside a batch than alone: the alert keeps the newer state.
TEST_P(CollectorStoreTest, LateEventInABatchDoesNotMoveItsAlertBack) {
  std::unique_ptr<CollectorStore> store = OpenStoreWithDevice("atm-tokyo-0412");
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(
      store
          ->StoreEvents(
              "atm-tokyo-0412", "",
              {AlertEventOf(1, "storage:/var", v1::ALERT_STATE_FIRING, v1::SEVERITY_WARNING),
               AlertEventOf(4, "storage:/var", v1::ALERT_STATE_FIRING, v1::SEVERITY_CRITICAL)},
              kReceivedAt1)
          .ok());
  Result<StoredBatch> late = store->StoreEvents(
      "atm-tokyo-0412", "",
      {AlertEventOf(2, "storage:/var", v1::ALERT_STATE_RESOLVED, v1::SEVERITY_INFO),
       AlertEventOf(5, "storage:/var", v1::ALERT_STATE_FIRING, v1::SEVERITY_WARNING),
       AlertEventOf(3, "storage:/var", v1::ALERT_STATE_RESOLVED, v1::SEVERITY_INFO)},
      kReceivedAt2);
  ASSERT_TRUE(late.ok()) << ErrorText(late);
  EXPECT_EQ(late->inserted, 3u);
  EXPECT_EQ(late->late, 2u);
  EXPECT_EQ(late->last_stored_seq, 5u);

  PlainSql& sql = Sql();
  SqlRow storage = sql.Row("SELECT * FROM alerts WHERE alert_key = 'storage:/var'");
  EXPECT_EQ(storage["state"], Text("firing"));
  EXPECT_EQ(storage["severity"], Text("warning"));
  EXPECT_EQ(storage["since_seq"], Integer(1));
  EXPECT_EQ(storage["last_seq"], Integer(5));
  EXPECT_EQ(sql.Value("SELECT count(*) FROM events"), Integer(5));
}

// An agent never sends one seq twice in a batch, but a batch that does
// stores it once, counted once as a duplicate.
TEST_P(CollectorStoreTest, BatchHoldingOneSeqTwiceStoresItOnce) {
  std::unique_ptr<CollectorStore> store = OpenStoreWithDevice("atm-tokyo-0412");
  ASSERT_NE(store, nullptr);
  std::vector<v1::Event> batch = SampleEvents(1, 3);
  batch.insert(batch.begin() + 2, SampleEvent(2));
  batch[2].set_summary("the second copy");
  Result<StoredBatch> stored = store->StoreEvents("atm-tokyo-0412", "", batch, kReceivedAt1);
  ASSERT_TRUE(stored.ok()) << ErrorText(stored);
  EXPECT_EQ(stored->inserted, 3u);
  EXPECT_EQ(stored->duplicates, 1u);
  EXPECT_EQ(stored->last_stored_seq, 3u);
  PlainSql& sql = Sql();
  EXPECT_EQ(sql.Value("SELECT count(*) FROM events"), Integer(3));
  EXPECT_EQ(sql.Value("SELECT summary FROM events WHERE seq = 2"), Text(SampleEvent(2).summary()));
}

// A heartbeat naming a service twice: its last entry is the service's
// state, and when the entries disagree the state changed now.
TEST_P(CollectorStoreTest, HeartbeatNamingAServiceTwiceKeepsItsLastEntry) {
  std::unique_ptr<CollectorStore> store = OpenStoreWithDevice("atm-tokyo-0412");
  ASSERT_NE(store, nullptr);
  auto heartbeat = [](std::vector<v1::ServiceStatus> services) {
    v1::Heartbeat message;
    for (v1::ServiceStatus& service : services) *message.add_services() = std::move(service);
    message.set_interval_ms(10000);
    return message;
  };
  const auto in_service = [](const std::string& reason) {
    return Service(v1::CUSTOMER_SERVICE_WITHDRAWAL, v1::SERVICE_STATE_IN_SERVICE, reason);
  };
  ASSERT_TRUE(store->RecordHeartbeat("atm-tokyo-0412", heartbeat({in_service("")}), kReceivedAt1));
  ASSERT_TRUE(store->RecordHeartbeat(
      "atm-tokyo-0412",
      heartbeat(
          {Service(v1::CUSTOMER_SERVICE_WITHDRAWAL, v1::SERVICE_STATE_OUT_OF_SERVICE, "raid:md0"),
           in_service("second entry")}),
      kReceivedAt2));
  PlainSql& sql = Sql();
  SqlRow withdrawal = sql.Row("SELECT * FROM device_services WHERE service = 'withdrawal'");
  EXPECT_EQ(withdrawal["state"], Text("in_service"));
  EXPECT_EQ(withdrawal["reason"], Text("second entry"));
  EXPECT_EQ(withdrawal["since_unix_ns"], Integer(kReceivedAt2));

  ASSERT_TRUE(store->RecordHeartbeat("atm-tokyo-0412",
                                     heartbeat({in_service("a"), in_service("b")}), kReceivedAt3));
  withdrawal = sql.Row("SELECT * FROM device_services WHERE service = 'withdrawal'");
  EXPECT_EQ(withdrawal["reason"], Text("b"));
  EXPECT_EQ(withdrawal["since_unix_ns"], Integer(kReceivedAt2));
  EXPECT_EQ(withdrawal["updated_unix_ns"], Integer(kReceivedAt3));
  EXPECT_EQ(sql.Value("SELECT count(*) FROM device_services"), Integer(1));
}

// The store folds consecutive events of one alert in one state into one
// alert update per batch. Whatever the batches, the alerts must end as if
// every event had been stored by itself, in order: random alert histories
// with resends and late gap fillers, stored once in batches and once event
// by event into a second database, leave the same alerts table.
TEST_P(CollectorStoreTest, AlertsEndTheSameWhetherEventsComeInBatchesOrOneByOne) {
  std::unique_ptr<atmhealth::testing::StoreUnderTest> one_by_one_backend =
      atmhealth::testing::StoreUnderTest::Make(GetParam());
  std::unique_ptr<CollectorStore> batched = OpenStoreWithDevice("atm-tokyo-0412");
  std::unique_ptr<CollectorStore> one_by_one =
      Opened(one_by_one_backend->Open({}), "atm-tokyo-0412");
  ASSERT_NE(batched, nullptr);
  ASSERT_NE(one_by_one, nullptr);

  std::mt19937 random(20261130);
  const std::string keys[] = {"storage:/var", "raid:md0", "peer:standby"};
  const v1::AlertState states[] = {v1::ALERT_STATE_FIRING,   v1::ALERT_STATE_FIRING,
                                   v1::ALERT_STATE_FIRING,   v1::ALERT_STATE_RESOLVED,
                                   v1::ALERT_STATE_RESOLVED, v1::ALERT_STATE_NOTICE};
  const v1::Severity severities[] = {v1::SEVERITY_INFO, v1::SEVERITY_WARNING,
                                     v1::SEVERITY_CRITICAL};
  auto event_of = [&](std::uint64_t seq) {
    v1::Event event = SampleEvent(seq);
    // Mostly one alert for a while, as a flapping or re-sent alert does.
    event.set_alert_key(keys[random() % 5 == 0 ? random() % 3 : (seq / 7) % 3]);
    event.set_state(states[random() % 6]);
    event.set_severity(severities[random() % 3]);
    return event;
  };
  std::vector<std::vector<v1::Event>> batches;
  std::vector<v1::Event> held_back;  // sent late, after the events above them
  std::uint64_t seq = 0;
  for (int b = 0; b < 60; ++b) {
    std::vector<v1::Event> batch;
    for (int n = 1 + static_cast<int>(random() % 12); n > 0; --n) {
      v1::Event event = event_of(++seq);
      if (random() % 10 == 0) {
        held_back.push_back(std::move(event));
      } else {
        batch.push_back(std::move(event));
      }
    }
    if (!batch.empty()) batches.push_back(batch);
    if (b % 15 == 14) {
      if (!held_back.empty()) batches.push_back(std::exchange(held_back, {}));
      batches.push_back(batches[batches.size() / 2]);  // a resend
    }
  }

  for (const std::vector<v1::Event>& batch : batches) {
    Result<StoredBatch> stored = batched->StoreEvents("atm-tokyo-0412", "", batch, kReceivedAt2);
    ASSERT_TRUE(stored.ok()) << ErrorText(stored);
    for (const v1::Event& event : batch) {
      Result<StoredBatch> alone =
          one_by_one->StoreEvents("atm-tokyo-0412", "", {event}, kReceivedAt2);
      ASSERT_TRUE(alone.ok()) << ErrorText(alone);
    }
  }

  const std::string alerts =
      "SELECT device_id, alert_key, state, severity, since_seq, since_wall_time_unix_ns, "
      "last_seq, buffer_id, updated_unix_ns FROM alerts ORDER BY device_id, alert_key";
  const std::vector<SqlRow> expected = one_by_one_backend->Sql()->Rows(alerts);
  ASSERT_EQ(expected.size(), 3u);
  EXPECT_EQ(Sql().Rows(alerts), expected);
}

}  // namespace
}  // namespace atmhealth::collector
