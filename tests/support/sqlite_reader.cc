#include "tests/support/sqlite_reader.h"

#include <sqlite3.h>

namespace atmhealth::testing {

std::vector<Row> Query(const std::filesystem::path& path, const std::string& sql) {
  std::vector<Row> rows;
  if (!std::filesystem::exists(path)) return rows;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return rows;
  }
  sqlite3_busy_timeout(db, 2000);
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK) {
    while (sqlite3_step(statement) == SQLITE_ROW) {
      Row row;
      for (int i = 0; i < sqlite3_column_count(statement); ++i) {
        const auto* text = sqlite3_column_text(statement, i);
        row[sqlite3_column_name(statement, i)] =
            text == nullptr ? "" : reinterpret_cast<const char*>(text);
      }
      rows.push_back(std::move(row));
    }
  }
  sqlite3_finalize(statement);
  sqlite3_close(db);
  return rows;
}

std::int64_t QueryInt(const std::filesystem::path& path, const std::string& sql) {
  const auto rows = Query(path, sql);
  if (rows.empty() || rows.front().empty()) return -1;
  return std::stoll(rows.front().begin()->second.empty() ? "-1" : rows.front().begin()->second);
}

}  // namespace atmhealth::testing
