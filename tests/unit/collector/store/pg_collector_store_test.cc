// What only the PostgreSQL store does: its connection comes back after the
// server restarts, an unreachable server is kUnavailable (agents get a
// retry hint, nothing is acknowledged), and no message carries a password.
// The store's contract itself runs in collector_store_test.cc.
#include "collector/store/pg_collector_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "tests/support/postgres_server.h"
#include "tests/unit/collector/store/plain_sql.h"
#include "tests/unit/collector/store/sample_messages.h"

namespace atmhealth::collector {
namespace {

using ::atmhealth::testing::kReceivedAt1;
using ::atmhealth::testing::kReceivedAt2;
using ::atmhealth::testing::PlainSql;
using ::atmhealth::testing::PostgresServer;
using ::atmhealth::testing::SampleBatch;
using ::atmhealth::testing::SampleHello;
using ::testing::HasSubstr;
using ::testing::Not;

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
  ASSERT_TRUE(store.StoreEvents("atm-tokyo-0412", "", SampleBatch(1, 5), kReceivedAt1).ok());

  ASSERT_TRUE(server->Stop());
  Result<StoredBatch> while_down =
      store.StoreEvents("atm-tokyo-0412", "", SampleBatch(6, 8), kReceivedAt2);
  ASSERT_FALSE(while_down.ok());
  EXPECT_EQ(while_down.error().code(), ErrorCode::kUnavailable);
  ASSERT_FALSE(store.BeginGroup().ok()) << "a group cannot begin without the server either";

  ASSERT_TRUE(server->Restart()) << server->Log();
  std::this_thread::sleep_for(options.connection.reconnect_interval);
  ASSERT_TRUE(store.BeginGroup());
  Result<StoredBatch> after =
      store.StoreEvents("atm-tokyo-0412", "", SampleBatch(6, 8), kReceivedAt2);
  ASSERT_TRUE(after.ok()) << after.error().message();
  EXPECT_EQ(after->last_stored_seq, 8u);
  ASSERT_TRUE(store.CommitGroup());

  PlainSql sql(PlainSql::Postgres{server->Url()});
  EXPECT_EQ(sql.Value("SELECT count(*) FROM events"),
            atmhealth::testing::SqlValue(std::int64_t{8}));
  EXPECT_EQ(sql.Value("SELECT last_seq FROM buffers"),
            atmhealth::testing::SqlValue(std::int64_t{8}));
}

}  // namespace
}  // namespace atmhealth::collector
