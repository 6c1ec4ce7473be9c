// Reads a collector database the way an operator would: its own connection
// (SQLite, or PostgreSQL) and plain SQL, independent of the store under test.
#ifndef ATMHEALTH_TESTS_UNIT_COLLECTOR_STORE_PLAIN_SQL_H_
#define ATMHEALTH_TESTS_UNIT_COLLECTOR_STORE_PLAIN_SQL_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <pqxx/connection>
#include <string>
#include <variant>
#include <vector>

struct sqlite3;

namespace atmhealth::testing {

// One SQL value as SQLite typed it: NULL, INTEGER, REAL, or TEXT/BLOB bytes.
// PostgreSQL's values map onto the same: integers (and a numeric that is
// whole, like sum()) to INTEGER, floating point to REAL, BYTEA to its bytes,
// everything else to its text.
using SqlValue = std::variant<std::nullptr_t, std::int64_t, double, std::string>;
// Column name to value.
using SqlRow = std::map<std::string, SqlValue>;

class PlainSql {
 public:
  // Opens the existing database file; a failure fails the test.
  explicit PlainSql(const std::filesystem::path& database);
  // A PostgreSQL database by its libpq connection string.
  struct Postgres {
    std::string url;
  };
  explicit PlainSql(const Postgres& database);
  PlainSql(const PlainSql&) = delete;
  PlainSql& operator=(const PlainSql&) = delete;
  ~PlainSql();

  // Every row of `sql`; a failure fails the test and returns no rows.
  std::vector<SqlRow> Rows(const std::string& sql);
  // The one row of `sql`; fails the test unless there is exactly one.
  SqlRow Row(const std::string& sql);
  // The value of the one row and one column of `sql`.
  SqlValue Value(const std::string& sql);
  // Runs statements whose rows do not matter (BEGIN, PRAGMA x = y, ...).
  void Execute(const std::string& sql);

 private:
  std::vector<SqlRow> PostgresRows(const std::string& sql);

  sqlite3* connection_ = nullptr;
  std::unique_ptr<pqxx::connection> postgres_;
};

}  // namespace atmhealth::testing

#endif  // ATMHEALTH_TESTS_UNIT_COLLECTOR_STORE_PLAIN_SQL_H_
