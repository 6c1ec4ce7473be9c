// A thin owner of one SQLite connection and its prepared statements, so that
// the stores read as store logic. SQLite result codes become the project's
// Error here, once, with the database path and the step that failed in the
// message: `collector.db: store batch of "atm-1": insert seq 42: database or
// disk is full (SQLITE_FULL)`.
//
// Not thread-safe: one thread uses a connection and its statements at a time.
#ifndef ATMHEALTH_PLATFORM_SQLITE_DATABASE_H_
#define ATMHEALTH_PLATFORM_SQLITE_DATABASE_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "platform/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace atmhealth::platform {

class SqliteDatabase;

// A statement prepared once and reused. Run it through a SqliteQuery. Must
// not outlive its SqliteDatabase (declare it after the database).
class SqliteStatement {
 public:
  SqliteStatement() = default;  // empty: a query on it fails with kInternal

 private:
  friend class SqliteDatabase;
  friend class SqliteQuery;
  struct Finalizer {
    void operator()(sqlite3_stmt* statement) const;
  };
  explicit SqliteStatement(sqlite3_stmt* statement) : statement_(statement) {}

  std::unique_ptr<sqlite3_stmt, Finalizer> statement_;
};

// One run of a SqliteStatement. Resets the statement and clears its bindings
// when the scope ends, on every path, so that a reused statement never keeps
// a read snapshot (which would stop WAL checkpoints) or a half-run write.
class SqliteQuery {
 public:
  SqliteQuery(SqliteDatabase& database, SqliteStatement& statement);
  ~SqliteQuery();
  SqliteQuery(const SqliteQuery&) = delete;
  SqliteQuery& operator=(const SqliteQuery&) = delete;

  // Parameter indexes are 1-based, as in the SQL text (?1, ?2, ...). Values
  // are copied. A bind that fails is reported by the next Step.
  SqliteQuery& BindInt64(int index, std::int64_t value);
  // NaN is stored as NULL (SQLite has no NaN).
  SqliteQuery& BindDouble(int index, double value);
  SqliteQuery& BindText(int index, std::string_view text);
  // An empty blob is stored as an empty blob, not as NULL.
  SqliteQuery& BindBlob(int index, std::string_view bytes);

  // True when a row is ready to read, false when the statement finished.
  // `what` names the step in the error message.
  Result<bool> Step(std::string_view what);
  // Steps until the statement finishes.
  Status Run(std::string_view what);

  // Column indexes are 0-based, as in SQLite. Valid after Step returned
  // true; a view lasts until the next Step or the end of the query.
  std::int64_t ColumnInt64(int column) const;
  std::string_view ColumnBlob(int column) const;
  std::string_view ColumnText(int column) const;
  double ColumnDouble(int column) const;
  // True when the column holds NULL (a LEFT JOIN without a match, say).
  bool ColumnIsNull(int column) const;

 private:
  void NoteBind(int index, int result);

  SqliteDatabase& database_;
  sqlite3_stmt* statement_;  // owned by the SqliteStatement
  int bind_result_ = 0;      // the first failed bind's SQLite code, 0 when none
  int bind_index_ = 0;       // its parameter index
};

class SqliteDatabase {
 public:
  // Opens (creating if missing) the SQLite file at `path` for reading and
  // writing. A write that finds the database locked by another connection
  // waits up to `busy_timeout`, then fails with kUnavailable.
  static Result<SqliteDatabase> Open(const std::string& path,
                                     std::chrono::milliseconds busy_timeout);
  // Opens an existing SQLite file for reading only: a missing file is
  // kNotFound, never created, and nothing is ever written to it (a WAL
  // reader still maps the `-shm` index beside it, as every reader does).
  // Readers of a WAL database are not blocked by its writer; `busy_timeout`
  // covers the moments when the writer holds the index (its recovery).
  static Result<SqliteDatabase> OpenReadOnly(const std::string& path,
                                             std::chrono::milliseconds busy_timeout);

  // Runs SQL text that may hold several statements (schema steps, pragmas).
  Status Execute(const std::string& sql, std::string_view what);
  // One statement; more than one in `sql` is an error (kInternal).
  Result<SqliteStatement> Prepare(std::string_view sql, std::string_view what);
  // The first column of the first row of `sql` (a pragma or an aggregate).
  Result<std::int64_t> QueryInt64(const std::string& sql, std::string_view what);
  Result<std::string> QueryText(const std::string& sql, std::string_view what);

  // Rows inserted, updated or deleted by the last statement that finished.
  int ChangedRows() const;
  // True between BEGIN and COMMIT/ROLLBACK (SQLite may end a transaction by
  // itself after some errors, e.g. SQLITE_FULL).
  bool InTransaction() const;

  // Group commit: one transaction around several units of work. Between
  // BeginGroup and CommitGroup every SqliteTransaction is a savepoint inside
  // the group's transaction, so a unit that fails takes back only its own
  // work, and nothing of the group is durable before CommitGroup returns OK
  // (one fsync for all of them). A failure that made SQLite end the group's
  // transaction by itself (SQLITE_FULL, an I/O error) fails every later unit
  // and CommitGroup: nothing of the group is stored.
  Status BeginGroup(std::string_view what);
  Status CommitGroup();
  bool InGroup() const { return group_open_; }

  const std::string& path() const { return path_; }

 private:
  friend class SqliteQuery;
  struct Closer {
    void operator()(sqlite3* connection) const;
  };
  SqliteDatabase(std::string path, sqlite3* connection)
      : path_(std::move(path)), connection_(connection) {}
  static Result<SqliteDatabase> OpenWithFlags(const std::string& path, int flags,
                                              std::chrono::milliseconds busy_timeout);

  // The Error for SQLite result `result`: SQLITE_FULL (and ENOSPC behind an
  // I/O error) is kNoSpace, CORRUPT and NOTADB kCorrupt, BUSY and LOCKED
  // kUnavailable, ...; the message is `<path>: <what>: <SQLite's message>
  // (<code name>...)`. Call it right after the failure: it reads the
  // connection's last error.
  Error ErrorFrom(int result, std::string_view what) const;

  std::string path_;
  std::unique_ptr<sqlite3, Closer> connection_;
  bool group_open_ = false;
};

// BEGIN IMMEDIATE ... COMMIT. Taking the write lock at BEGIN means a busy
// database is reported before any work is done, never halfway. Destroyed
// without a successful Commit, it rolls back. Inside a group
// (SqliteDatabase::BeginGroup) it is a savepoint of the group's transaction:
// Commit releases it, durable only with the group.
class SqliteTransaction {
 public:
  // `what` names the work in the messages of Begin, Commit and rollback.
  static Result<SqliteTransaction> Begin(SqliteDatabase& database, std::string_view what);
  SqliteTransaction(SqliteTransaction&& other) noexcept;
  SqliteTransaction& operator=(SqliteTransaction&&) = delete;
  ~SqliteTransaction();

  // Makes the transaction durable (with synchronous=FULL, on disk when this
  // returns). On failure the transaction is rolled back.
  Status Commit();

 private:
  friend class SqliteDatabase;  // rolls back what a failed group left open
  SqliteTransaction(SqliteDatabase& database, std::string_view what, bool savepoint)
      : database_(&database), what_(what), savepoint_(savepoint) {}
  void Rollback();

  SqliteDatabase* database_;  // null once committed, rolled back or moved from
  std::string what_;
  bool savepoint_;  // a savepoint inside a group, not a transaction of its own
};

}  // namespace atmhealth::platform

#endif  // ATMHEALTH_PLATFORM_SQLITE_DATABASE_H_
