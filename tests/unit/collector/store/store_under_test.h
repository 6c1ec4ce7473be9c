// A CollectorStore backend for the store contract tests: opens the store on
// a fresh database and gives an operator's plain SQL connection to it.
#ifndef ATMHEALTH_TESTS_UNIT_COLLECTOR_STORE_STORE_UNDER_TEST_H_
#define ATMHEALTH_TESTS_UNIT_COLLECTOR_STORE_STORE_UNDER_TEST_H_

#include <chrono>
#include <memory>
#include <string>

#include "collector/store/collector_store.h"
#include "tests/unit/collector/store/plain_sql.h"

namespace atmhealth::testing {

class StoreUnderTest {
 public:
  // "sqlite": a file in a scratch directory; "postgresql": a schema of its
  // own on the tests' PostgreSQL server (tests/support/postgres_server.h).
  static std::unique_ptr<StoreUnderTest> Make(const std::string& backend);
  virtual ~StoreUnderTest() = default;

  // Opens (or opens again) the store on this test's database.
  virtual Result<std::unique_ptr<collector::CollectorStore>> Open(
      std::chrono::milliseconds heartbeat_history) = 0;
  virtual std::unique_ptr<PlainSql> Sql() = 0;
  // How the store's messages name the database.
  virtual std::string Where() const = 0;
};

}  // namespace atmhealth::testing

#endif  // ATMHEALTH_TESTS_UNIT_COLLECTOR_STORE_STORE_UNDER_TEST_H_
