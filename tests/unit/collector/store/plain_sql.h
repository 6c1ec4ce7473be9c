// Reads a collector database the way an operator would: its own SQLite
// connection and plain SQL, independent of the store under test.
#ifndef ATMHEALTH_TESTS_UNIT_COLLECTOR_STORE_PLAIN_SQL_H_
#define ATMHEALTH_TESTS_UNIT_COLLECTOR_STORE_PLAIN_SQL_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <variant>
#include <vector>

struct sqlite3;

namespace atmhealth::testing {

// One SQL value as SQLite typed it: NULL, INTEGER, REAL, or TEXT/BLOB bytes.
using SqlValue = std::variant<std::nullptr_t, std::int64_t, double, std::string>;
// Column name to value.
using SqlRow = std::map<std::string, SqlValue>;

class PlainSql {
 public:
  // Opens the existing database file; a failure fails the test.
  explicit PlainSql(const std::filesystem::path& database);
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
  sqlite3* connection_ = nullptr;
};

}  // namespace atmhealth::testing

#endif  // ATMHEALTH_TESTS_UNIT_COLLECTOR_STORE_PLAIN_SQL_H_
