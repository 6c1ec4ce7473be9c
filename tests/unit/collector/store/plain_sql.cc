#include "tests/unit/collector/store/plain_sql.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <pqxx/pqxx>

namespace atmhealth::testing {

PlainSql::PlainSql(const std::filesystem::path& database) {
  const int result =
      sqlite3_open_v2(database.c_str(), &connection_, SQLITE_OPEN_READWRITE, nullptr);
  if (result != SQLITE_OK) {
    ADD_FAILURE() << "open " << database << ": " << sqlite3_errstr(result);
  }
  sqlite3_busy_timeout(connection_, 2000);
}

PlainSql::PlainSql(const Postgres& database) {
  try {
    postgres_ = std::make_unique<pqxx::connection>(database.url);
  } catch (const std::exception& error) {
    ADD_FAILURE() << "connect " << database.url << ": " << error.what();
  }
}

PlainSql::~PlainSql() {
  if (connection_ != nullptr) sqlite3_close_v2(connection_);
}

std::vector<SqlRow> PlainSql::PostgresRows(const std::string& sql) {
  // Type oids of pg_type.
  constexpr pqxx::oid kInt8 = 20, kInt2 = 21, kInt4 = 23, kFloat4 = 700, kFloat8 = 701,
                      kNumeric = 1700, kBytea = 17;
  std::vector<SqlRow> rows;
  if (postgres_ == nullptr) return rows;
  try {
    pqxx::nontransaction work(*postgres_);
    for (const pqxx::row& result : work.exec(sql)) {
      SqlRow row;
      for (const pqxx::field& field : result) {
        SqlValue value;
        const pqxx::oid type = field.type();
        if (field.is_null()) {
          value = nullptr;
        } else if (type == kInt8 || type == kInt2 || type == kInt4) {
          value = field.as<std::int64_t>();
        } else if (type == kFloat4 || type == kFloat8) {
          value = field.as<double>();
        } else if (type == kNumeric) {
          const std::string text = field.as<std::string>();
          if (text.find_first_of(".eE") == std::string::npos) {
            value = field.as<std::int64_t>();
          } else {
            value = field.as<double>();
          }
        } else if (type == kBytea) {
          value = pqxx::binarystring(field).str();
        } else {
          value = field.as<std::string>();
        }
        row[field.name()] = std::move(value);
      }
      rows.push_back(std::move(row));
    }
  } catch (const std::exception& error) {
    ADD_FAILURE() << sql << ": " << error.what();
  }
  return rows;
}

std::vector<SqlRow> PlainSql::Rows(const std::string& sql) {
  if (postgres_ != nullptr || connection_ == nullptr) return PostgresRows(sql);
  std::vector<SqlRow> rows;
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(connection_, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << sql << ": " << sqlite3_errmsg(connection_);
    return rows;
  }
  int result = SQLITE_OK;
  while ((result = sqlite3_step(statement)) == SQLITE_ROW) {
    SqlRow row;
    for (int i = 0; i < sqlite3_column_count(statement); ++i) {
      SqlValue value;
      switch (sqlite3_column_type(statement, i)) {
        case SQLITE_NULL:
          value = nullptr;
          break;
        case SQLITE_INTEGER:
          value = static_cast<std::int64_t>(sqlite3_column_int64(statement, i));
          break;
        case SQLITE_FLOAT:
          value = sqlite3_column_double(statement, i);
          break;
        default: {
          const void* bytes = sqlite3_column_blob(statement, i);
          const int size = sqlite3_column_bytes(statement, i);
          value = bytes == nullptr ? std::string()
                                   : std::string(static_cast<const char*>(bytes),
                                                 static_cast<std::size_t>(size));
          break;
        }
      }
      row[sqlite3_column_name(statement, i)] = std::move(value);
    }
    rows.push_back(std::move(row));
  }
  if (result != SQLITE_DONE) ADD_FAILURE() << sql << ": " << sqlite3_errmsg(connection_);
  sqlite3_finalize(statement);
  return rows;
}

SqlRow PlainSql::Row(const std::string& sql) {
  std::vector<SqlRow> rows = Rows(sql);
  if (rows.size() != 1) {
    ADD_FAILURE() << sql << ": " << rows.size() << " rows, expected exactly 1";
    return {};
  }
  return rows.front();
}

SqlValue PlainSql::Value(const std::string& sql) {
  SqlRow row = Row(sql);
  if (row.size() != 1) {
    ADD_FAILURE() << sql << ": " << row.size() << " columns, expected exactly 1";
    return nullptr;
  }
  return row.begin()->second;
}

void PlainSql::Execute(const std::string& sql) {
  if (postgres_ != nullptr) {
    PostgresRows(sql);
    return;
  }
  char* message = nullptr;
  if (sqlite3_exec(connection_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    ADD_FAILURE() << sql << ": " << (message != nullptr ? message : "?");
  }
  sqlite3_free(message);
}

}  // namespace atmhealth::testing
