#include "tests/unit/collector/store/store_under_test.h"

#include "collector/store/pg_collector_store.h"
#include "tests/support/postgres_server.h"
#include "tests/support/test_paths.h"

namespace atmhealth::testing {
namespace {

class SqliteUnderTest final : public StoreUnderTest {
 public:
  Result<std::unique_ptr<collector::CollectorStore>> Open(
      std::chrono::milliseconds heartbeat_history) override {
    return collector::CollectorStore::OpenSqlite(path_.string(), heartbeat_history);
  }
  std::unique_ptr<PlainSql> Sql() override { return std::make_unique<PlainSql>(path_); }
  std::string Where() const override { return path_.string(); }

 private:
  ScratchDir scratch_;
  std::filesystem::path path_ = scratch_ / "collector.db";
};

class PostgresUnderTest final : public StoreUnderTest {
 public:
  Result<std::unique_ptr<collector::CollectorStore>> Open(
      std::chrono::milliseconds heartbeat_history) override {
    collector::PgCollectorStoreOptions options;
    options.connection.url = schema_.url();
    options.heartbeat_history = heartbeat_history;
    return collector::PgCollectorStore::Open(options);
  }
  std::unique_ptr<PlainSql> Sql() override {
    return std::make_unique<PlainSql>(PlainSql::Postgres{schema_.url()});
  }
  std::string Where() const override { return "postgresql " + schema_.url(); }

 private:
  SharedPostgresSchema schema_;
};

}  // namespace

std::unique_ptr<StoreUnderTest> StoreUnderTest::Make(const std::string& backend) {
  if (backend == "postgresql") return std::make_unique<PostgresUnderTest>();
  return std::make_unique<SqliteUnderTest>();
}

}  // namespace atmhealth::testing
