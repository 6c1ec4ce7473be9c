// What only the PostgreSQL store does: its connection comes back after the
// server restarts, an unreachable server is kUnavailable (agents get a
// retry hint, nothing is acknowledged), and no message carries a password.
// The store's contract itself runs in collector_store_test.cc.
#include "collector/store/pg_collector_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>
#include <optional>
#include <thread>

#include "tests/support/postgres_server.h"
#include "tests/support/sample_events.h"
#include "tests/unit/collector/store/plain_sql.h"

namespace atmhealth::collector {
namespace {

using ::atmhealth::testing::kReceivedAt1;
using ::atmhealth::testing::kReceivedAt2;
using ::atmhealth::testing::PlainSql;
using ::atmhealth::testing::PostgresServer;
using ::atmhealth::testing::SampleEvents;
using ::atmhealth::testing::SampleHello;
using ::testing::HasSubstr;
using ::testing::Not;

// A store on the database at `url`, as one collector opens it.
Result<std::unique_ptr<CollectorStore>> OpenOn(const std::string& url) {
  PgCollectorStoreOptions options;
  options.connection.url = url;
  return PgCollectorStore::Open(options);
}

TEST(PgConnection, MessagesNeverCarryThePassword) {
  EXPECT_EQ(RedactedUrl("postgresql://ops:s3cret@db.example:5432/atmhealth"),
            "postgresql://ops@db.example:5432/atmhealth");
  EXPECT_EQ(RedactedUrl("postgres://db.example/atmhealth?user=ops&password=s3cret&sslmode=require"),
            "postgres://db.example/atmhealth?user=ops&password=***&sslmode=require");
  EXPECT_EQ(RedactedUrl("host=db user=ops password='s3 cret' dbname=atmhealth"),
            "host=db user=ops password=*** dbname=atmhealth");
  EXPECT_EQ(RedactedUrl("host=db password=s3cret"), "host=db password=***");
}

TEST(PgCollectorStore, UnreachableServerIsUnavailableAndNamed) {
  atmhealth::testing::ScratchDir nowhere;
  PgCollectorStoreOptions options;
  options.connection.url =
      "host=" + nowhere.path().string() + " port=5432 user=postgres password=s3cret";
  Result<std::unique_ptr<CollectorStore>> store = PgCollectorStore::Open(options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(store.error().message(), HasSubstr(nowhere.path().string()));
  EXPECT_THAT(store.error().message(), Not(HasSubstr("s3cret")));
}

// The server restarts between two batches (and is down for a third): the
// batch made while it is down fails with kUnavailable and stores nothing,
// the next one after the restart is stored on a new connection, and
// nothing stored before is lost.
TEST(PgCollectorStore, StoresAgainOnceTheRestartedServerIsBack) {
  std::unique_ptr<PostgresServer> server = PostgresServer::Start();
  ASSERT_NE(server, nullptr);
  PgCollectorStoreOptions options;
  options.connection.url = server->Url();
  options.connection.reconnect_interval = std::chrono::milliseconds(100);
  Result<std::unique_ptr<CollectorStore>> opened = PgCollectorStore::Open(options);
  ASSERT_TRUE(opened.ok()) << opened.error().message();
  CollectorStore& store = **opened;
  ASSERT_TRUE(
      store.RecordHello(SampleHello("atm-tokyo-0412", "site-shinjuku"), "p", kReceivedAt1).ok());
  ASSERT_TRUE(store.StoreEvents("atm-tokyo-0412", "", SampleEvents(1, 5), kReceivedAt1).ok());

  ASSERT_TRUE(server->Stop());
  Result<StoredBatch> while_down =
      store.StoreEvents("atm-tokyo-0412", "", SampleEvents(6, 8), kReceivedAt2);
  ASSERT_FALSE(while_down.ok());
  EXPECT_EQ(while_down.error().code(), ErrorCode::kUnavailable);
  ASSERT_FALSE(store.BeginGroup().ok()) << "a group cannot begin without the server either";

  ASSERT_TRUE(server->Restart()) << server->Log();
  std::this_thread::sleep_for(options.connection.reconnect_interval);
  ASSERT_TRUE(store.BeginGroup());
  Result<StoredBatch> after =
      store.StoreEvents("atm-tokyo-0412", "", SampleEvents(6, 8), kReceivedAt2);
  ASSERT_TRUE(after.ok()) << after.error().message();
  EXPECT_EQ(after->last_stored_seq, 8u);
  ASSERT_TRUE(store.CommitGroup());

  PlainSql sql(PlainSql::Postgres{server->Url()});
  EXPECT_EQ(sql.Value("SELECT count(*) FROM events"),
            atmhealth::testing::SqlValue(std::int64_t{8}));
  EXPECT_EQ(sql.Value("SELECT last_seq FROM buffers"),
            atmhealth::testing::SqlValue(std::int64_t{8}));
}

// Two collectors store overlapping batches of one buffer at the same time
// (an agent's old session on one, its new one on the other): the second
// waits for the first's commit, stores only what the first did not, and
// counts the rest as resent; the alert ends at the highest seq.
TEST(PgCollectorStore, TwoCollectorsStoringOverlappingBatchesStoreEachSeqOnce) {
  atmhealth::testing::SharedPostgresSchema schema;
  Result<std::unique_ptr<CollectorStore>> first = OpenOn(schema.url());
  ASSERT_TRUE(first.ok()) << first.error().message();
  Result<std::unique_ptr<CollectorStore>> second = OpenOn(schema.url());
  ASSERT_TRUE(second.ok()) << second.error().message();
  ASSERT_TRUE((*first)
                  ->RecordHello(SampleHello("atm-tokyo-0412", "site-shinjuku"), "p", kReceivedAt1)
                  .ok());

  ASSERT_TRUE((*first)->BeginGroup());
  Result<StoredBatch> by_first =
      (*first)->StoreEvents("atm-tokyo-0412", "", SampleEvents(1, 10), kReceivedAt1);
  ASSERT_TRUE(by_first.ok()) << by_first.error().message();
  EXPECT_EQ(by_first->inserted, 10u);
  // The other collector's batch waits for the buffer's lock...
  std::optional<Result<StoredBatch>> by_second;
  std::thread other([&] {
    by_second = (*second)->StoreEvents("atm-tokyo-0412", "", SampleEvents(5, 15), kReceivedAt2);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // ... until the first commits.
  ASSERT_TRUE((*first)->CommitGroup());
  other.join();
  ASSERT_TRUE(by_second.has_value());
  ASSERT_TRUE(by_second->ok()) << by_second->error().message();
  EXPECT_EQ((*by_second)->inserted, 5u);
  EXPECT_EQ((*by_second)->duplicates, 6u);
  EXPECT_EQ((*by_second)->late, 0u);
  EXPECT_EQ((*by_second)->gap_ranges, 0u);
  EXPECT_EQ((*by_second)->last_stored_seq, 15u);

  PlainSql sql(PlainSql::Postgres{schema.url()});
  using atmhealth::testing::SqlValue;
  EXPECT_EQ(sql.Value("SELECT count(*) FROM events"), SqlValue(std::int64_t{15}));
  EXPECT_EQ(sql.Value("SELECT count(DISTINCT seq) FROM events"), SqlValue(std::int64_t{15}));
  EXPECT_EQ(sql.Value("SELECT count(*) FROM events WHERE received_unix_ns = " +
                      std::to_string(kReceivedAt1)),
            SqlValue(std::int64_t{10}));
  EXPECT_EQ(sql.Value("SELECT last_seq FROM buffers"), SqlValue(std::int64_t{15}));
  EXPECT_EQ(sql.Value("SELECT gap_events FROM buffers"), SqlValue(std::int64_t{0}));
  EXPECT_EQ(sql.Value("SELECT last_seq FROM devices"), SqlValue(std::int64_t{15}));
  EXPECT_EQ(sql.Value("SELECT since_seq FROM alerts"), SqlValue(std::int64_t{1}));
  EXPECT_EQ(sql.Value("SELECT last_seq FROM alerts"), SqlValue(std::int64_t{15}));
}

// A batch goes to the server as one array per column: text that array
// syntax gives meaning to (quotes, backslashes, braces, commas, NULL), the
// byte 0, NaN and the infinities all come back as sent.
TEST(PgCollectorStore, BatchArraysCarryEveryValueAsSent) {
  atmhealth::testing::SharedPostgresSchema schema;
  Result<std::unique_ptr<CollectorStore>> opened = OpenOn(schema.url());
  ASSERT_TRUE(opened.ok()) << opened.error().message();
  CollectorStore& store = **opened;
  ASSERT_TRUE(
      store.RecordHello(SampleHello("atm-tokyo-0412", "site-shinjuku"), "p", kReceivedAt1).ok());

  std::vector<v1::Event> batch = SampleEvents(1, 3);
  batch[0].set_summary(R"(say "full" \ {a,b} NULL )" + std::string(1, '\0') + "end");
  batch[0].set_value(std::numeric_limits<double>::quiet_NaN());
  batch[0].set_threshold(-std::numeric_limits<double>::infinity());
  batch[1].set_subject("");
  batch[1].set_alert_key("NULL");
  batch[1].set_value(0.1);
  batch[1].set_threshold(std::numeric_limits<double>::max());
  batch[2].set_boot_id("{}");
  batch[2].set_value(std::numeric_limits<double>::denorm_min());
  Result<StoredBatch> stored = store.StoreEvents("atm-tokyo-0412", R"(buf"\)", batch, kReceivedAt1);
  ASSERT_FALSE(stored.ok()) << "a buffer the device did not name in its Hello";
  stored = store.StoreEvents("atm-tokyo-0412", "", batch, kReceivedAt1);
  ASSERT_TRUE(stored.ok()) << stored.error().message();

  PlainSql sql(PlainSql::Postgres{schema.url()});
  using atmhealth::testing::SqlValue;
  EXPECT_EQ(sql.Value("SELECT summary FROM events WHERE seq = 1"),
            SqlValue(std::string(R"(say "full" \ {a,b} NULL )") + "\xEF\xBF\xBD" + "end"));
  EXPECT_EQ(sql.Value("SELECT value::text || ' ' || threshold::text FROM events WHERE seq = 1"),
            SqlValue(std::string("NaN -Infinity")));
  EXPECT_EQ(sql.Value("SELECT subject FROM events WHERE seq = 2"), SqlValue(std::string()));
  EXPECT_EQ(sql.Value("SELECT alert_key FROM events WHERE seq = 2"), SqlValue(std::string("NULL")));
  EXPECT_EQ(sql.Value("SELECT value FROM events WHERE seq = 2"), SqlValue(0.1));
  EXPECT_EQ(sql.Value("SELECT threshold FROM events WHERE seq = 2"),
            SqlValue(std::numeric_limits<double>::max()));
  EXPECT_EQ(sql.Value("SELECT boot_id FROM events WHERE seq = 3"), SqlValue(std::string("{}")));
  EXPECT_EQ(sql.Value("SELECT value FROM events WHERE seq = 3"),
            SqlValue(std::numeric_limits<double>::denorm_min()));
  for (const v1::Event& event : batch) {
    EXPECT_EQ(sql.Value("SELECT payload FROM events WHERE seq = " + std::to_string(event.seq())),
              SqlValue(event.SerializeAsString()));
  }
  EXPECT_EQ(sql.Value("SELECT count(*) FROM alerts WHERE alert_key = 'NULL'"),
            SqlValue(std::int64_t{1}));
}

}  // namespace
}  // namespace atmhealth::collector
