#include "platform/sqlite_database.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <limits>
#include <system_error>
#include <utility>

#include "platform/os_error.h"

namespace atmhealth::platform {
namespace {

// SQLite binds NULL for a null pointer; an empty text or blob must stay one.
constexpr char kEmpty[] = "";

const char* PrimaryCodeName(int result) {
  static constexpr struct {
    int code;
    const char* name;
  } kNames[] = {
      {SQLITE_ERROR, "SQLITE_ERROR"},         {SQLITE_INTERNAL, "SQLITE_INTERNAL"},
      {SQLITE_PERM, "SQLITE_PERM"},           {SQLITE_ABORT, "SQLITE_ABORT"},
      {SQLITE_BUSY, "SQLITE_BUSY"},           {SQLITE_LOCKED, "SQLITE_LOCKED"},
      {SQLITE_NOMEM, "SQLITE_NOMEM"},         {SQLITE_READONLY, "SQLITE_READONLY"},
      {SQLITE_INTERRUPT, "SQLITE_INTERRUPT"}, {SQLITE_IOERR, "SQLITE_IOERR"},
      {SQLITE_CORRUPT, "SQLITE_CORRUPT"},     {SQLITE_NOTFOUND, "SQLITE_NOTFOUND"},
      {SQLITE_FULL, "SQLITE_FULL"},           {SQLITE_CANTOPEN, "SQLITE_CANTOPEN"},
      {SQLITE_PROTOCOL, "SQLITE_PROTOCOL"},   {SQLITE_SCHEMA, "SQLITE_SCHEMA"},
      {SQLITE_TOOBIG, "SQLITE_TOOBIG"},       {SQLITE_CONSTRAINT, "SQLITE_CONSTRAINT"},
      {SQLITE_MISMATCH, "SQLITE_MISMATCH"},   {SQLITE_MISUSE, "SQLITE_MISUSE"},
      {SQLITE_AUTH, "SQLITE_AUTH"},           {SQLITE_RANGE, "SQLITE_RANGE"},
      {SQLITE_NOTADB, "SQLITE_NOTADB"},
  };
  for (const auto& [code, name] : kNames) {
    if (code == (result & 0xff)) return name;
  }
  return "SQLITE_UNKNOWN";
}

// Which failures a caller can do something about: kUnavailable and kNoSpace
// are normal states to retry after, kInternal is a bug in our SQL.
ErrorCode CodeFor(int result, int system_errno) {
  const ErrorCode os_code = system_errno != 0 ? ErrorCodeFromErrno(system_errno) : ErrorCode::kIo;
  switch (result & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_PROTOCOL:
    case SQLITE_NOMEM:
      return ErrorCode::kUnavailable;
    case SQLITE_FULL:
      return ErrorCode::kNoSpace;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
      // Some writes that hit a full disk surface as I/O errors (the WAL
      // index, a truncate); the OS error tells them apart.
      return os_code == ErrorCode::kNoSpace || os_code == ErrorCode::kNotFound ||
                     os_code == ErrorCode::kPermissionDenied
                 ? os_code
                 : ErrorCode::kIo;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return ErrorCode::kCorrupt;
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_AUTH:
      return ErrorCode::kPermissionDenied;
    case SQLITE_CONSTRAINT:
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
      return ErrorCode::kInvalidArgument;
    default:
      return ErrorCode::kInternal;
  }
}

}  // namespace

void SqliteStatement::Finalizer::operator()(sqlite3_stmt* statement) const {
  sqlite3_finalize(statement);
}

void SqliteDatabase::Closer::operator()(sqlite3* connection) const {
  // close_v2: a statement still held elsewhere keeps the connection alive
  // until it is finalized too, instead of the close failing.
  sqlite3_close_v2(connection);
}

SqliteQuery::SqliteQuery(SqliteDatabase& database, SqliteStatement& statement)
    : database_(database), statement_(statement.statement_.get()) {}

SqliteQuery::~SqliteQuery() {
  if (statement_ == nullptr) return;
  // sqlite3_reset repeats the last step's error, which Step already reported.
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
}

void SqliteQuery::NoteBind(int index, int result) {
  if (result != SQLITE_OK && bind_result_ == SQLITE_OK) {
    bind_result_ = result;
    bind_index_ = index;
  }
}

SqliteQuery& SqliteQuery::BindInt64(int index, std::int64_t value) {
  NoteBind(index, sqlite3_bind_int64(statement_, index, value));
  return *this;
}

SqliteQuery& SqliteQuery::BindDouble(int index, double value) {
  NoteBind(index, sqlite3_bind_double(statement_, index, value));
  return *this;
}

SqliteQuery& SqliteQuery::BindText(int index, std::string_view text) {
  NoteBind(index, sqlite3_bind_text64(statement_, index, text.empty() ? kEmpty : text.data(),
                                      text.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  return *this;
}

SqliteQuery& SqliteQuery::BindBlob(int index, std::string_view bytes) {
  NoteBind(index, sqlite3_bind_blob64(statement_, index, bytes.empty() ? kEmpty : bytes.data(),
                                      bytes.size(), SQLITE_TRANSIENT));
  return *this;
}

Result<bool> SqliteQuery::Step(std::string_view what) {
  if (statement_ == nullptr) {
    return Error(ErrorCode::kInternal,
                 fmt::format("{}: {}: statement was never prepared", database_.path(), what));
  }
  if (bind_result_ != SQLITE_OK) {
    return database_.ErrorFrom(bind_result_, fmt::format("{}: parameter {}", what, bind_index_));
  }
  const int result = sqlite3_step(statement_);
  if (result == SQLITE_ROW) return true;
  if (result == SQLITE_DONE) return false;
  return database_.ErrorFrom(result, what);
}

Status SqliteQuery::Run(std::string_view what) {
  while (true) {
    Result<bool> row = Step(what);
    if (!row.ok()) return row.error();
    if (!*row) return OkStatus();
  }
}

std::int64_t SqliteQuery::ColumnInt64(int column) const {
  return sqlite3_column_int64(statement_, column);
}

std::string_view SqliteQuery::ColumnBlob(int column) const {
  const void* data = sqlite3_column_blob(statement_, column);
  const int size = sqlite3_column_bytes(statement_, column);
  if (data == nullptr) return {};
  return {static_cast<const char*>(data), static_cast<std::size_t>(size)};
}

std::string_view SqliteQuery::ColumnText(int column) const {
  const unsigned char* data = sqlite3_column_text(statement_, column);
  const int size = sqlite3_column_bytes(statement_, column);
  if (data == nullptr) return {};
  return {reinterpret_cast<const char*>(data), static_cast<std::size_t>(size)};
}

double SqliteQuery::ColumnDouble(int column) const {
  return sqlite3_column_double(statement_, column);
}

bool SqliteQuery::ColumnIsNull(int column) const {
  return sqlite3_column_type(statement_, column) == SQLITE_NULL;
}

Result<SqliteDatabase> SqliteDatabase::Open(const std::string& path,
                                            std::chrono::milliseconds busy_timeout) {
  return OpenWithFlags(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, busy_timeout);
}

Result<SqliteDatabase> SqliteDatabase::OpenReadOnly(const std::string& path,
                                                    std::chrono::milliseconds busy_timeout) {
  return OpenWithFlags(path, SQLITE_OPEN_READONLY, busy_timeout);
}

Result<SqliteDatabase> SqliteDatabase::OpenWithFlags(const std::string& path, int flags,
                                                     std::chrono::milliseconds busy_timeout) {
  // SQLite would open a private temporary database for an empty name.
  if (path.empty()) return Error(ErrorCode::kInvalidArgument, "database path is empty");
  sqlite3* connection = nullptr;
  const int result = sqlite3_open_v2(path.c_str(), &connection,
                                     flags | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, nullptr);
  if (connection == nullptr) {
    return Error(ErrorCode::kUnavailable, fmt::format("{}: open: out of memory", path));
  }
  SqliteDatabase database(path, connection);  // owns the connection even when opening failed
  if (result != SQLITE_OK) return database.ErrorFrom(result, "open");
  const auto timeout_ms = std::clamp<std::chrono::milliseconds::rep>(
      busy_timeout.count(), 0, std::numeric_limits<int>::max());
  sqlite3_busy_timeout(connection, static_cast<int>(timeout_ms));
  return database;
}

Status SqliteDatabase::Execute(const std::string& sql, std::string_view what) {
  const int result = sqlite3_exec(connection_.get(), sql.c_str(), nullptr, nullptr, nullptr);
  if (result != SQLITE_OK) return ErrorFrom(result, what);
  return OkStatus();
}

Result<SqliteStatement> SqliteDatabase::Prepare(std::string_view sql, std::string_view what) {
  sqlite3_stmt* raw = nullptr;
  const char* tail = nullptr;
  const int result = sqlite3_prepare_v3(connection_.get(), sql.data(), static_cast<int>(sql.size()),
                                        SQLITE_PREPARE_PERSISTENT, &raw, &tail);
  SqliteStatement statement(raw);
  if (result != SQLITE_OK) return ErrorFrom(result, fmt::format("{}: prepare", what));
  // A statement keeps only the first of several; the rest would silently never run.
  const std::string_view rest = sql.substr(static_cast<std::size_t>(tail - sql.data()));
  if (rest.find_first_not_of(" \t\n;") != std::string_view::npos) {
    return Error(ErrorCode::kInternal,
                 fmt::format("{}: {}: prepare: more than one statement", path_, what));
  }
  return statement;
}

Result<std::int64_t> SqliteDatabase::QueryInt64(const std::string& sql, std::string_view what) {
  Result<SqliteStatement> statement = Prepare(sql, what);
  if (!statement.ok()) return statement.error();
  SqliteQuery query(*this, *statement);
  Result<bool> row = query.Step(what);
  if (!row.ok()) return row.error();
  if (!*row) return Error(ErrorCode::kInternal, fmt::format("{}: {}: no row", path_, what));
  return query.ColumnInt64(0);
}

Result<std::string> SqliteDatabase::QueryText(const std::string& sql, std::string_view what) {
  Result<SqliteStatement> statement = Prepare(sql, what);
  if (!statement.ok()) return statement.error();
  SqliteQuery query(*this, *statement);
  Result<bool> row = query.Step(what);
  if (!row.ok()) return row.error();
  if (!*row) return Error(ErrorCode::kInternal, fmt::format("{}: {}: no row", path_, what));
  return std::string(query.ColumnText(0));
}

int SqliteDatabase::ChangedRows() const { return sqlite3_changes(connection_.get()); }

bool SqliteDatabase::InTransaction() const {
  return sqlite3_get_autocommit(connection_.get()) == 0;
}

Error SqliteDatabase::ErrorFrom(int result, std::string_view what) const {
  sqlite3* connection = connection_.get();
  const int system_errno = sqlite3_system_errno(connection);
  // The connection's message is more precise ("UNIQUE constraint failed:
  // events.seq") but only if it belongs to this failure.
  const char* detail = sqlite3_extended_errcode(connection) == result ? sqlite3_errmsg(connection)
                                                                      : sqlite3_errstr(result);
  std::string message = fmt::format("{}: {}: {} ({}", path_, what, detail, PrimaryCodeName(result));
  const int primary = result & 0xff;
  if (result != primary) message += fmt::format(", extended code {}", result);
  if (system_errno != 0 &&
      (primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN || primary == SQLITE_FULL)) {
    message += ", " + std::error_code(system_errno, std::generic_category()).message();
  }
  message += ")";
  return Error(CodeFor(result, system_errno), std::move(message));
}

Status SqliteDatabase::BeginGroup(std::string_view what) {
  if (group_open_) {
    return Error(ErrorCode::kInternal, fmt::format("{}: {}: a group is already open", path_, what));
  }
  // Begun as any transaction; from here the group owns it, not the object.
  Result<SqliteTransaction> begun = SqliteTransaction::Begin(*this, what);
  if (!begun.ok()) return begun.error();
  begun->database_ = nullptr;
  group_open_ = true;
  return OkStatus();
}

Status SqliteDatabase::CommitGroup() {
  if (!std::exchange(group_open_, false)) {
    return Error(ErrorCode::kInternal, fmt::format("{}: commit without a group", path_));
  }
  if (!InTransaction()) {
    return Error(ErrorCode::kUnavailable,
                 fmt::format("{}: group commit: an earlier failure in the group ended its "
                             "transaction; nothing of the group is stored",
                             path_));
  }
  Status committed = Execute("COMMIT", "group commit");
  if (!committed.ok() && InTransaction())
    SqliteTransaction(*this, "group commit", false).Rollback();
  return committed;
}

Result<SqliteTransaction> SqliteTransaction::Begin(SqliteDatabase& database,
                                                   std::string_view what) {
  if (database.InGroup()) {
    if (!database.InTransaction()) {
      return Error(ErrorCode::kUnavailable,
                   fmt::format("{}: {}: an earlier failure in the group ended its transaction",
                               database.path(), what));
    }
    Status saved = database.Execute("SAVEPOINT unit", fmt::format("{}: savepoint", what));
    if (!saved.ok()) return saved.error();
    return SqliteTransaction(database, what, true);
  }
  // A rollback that failed earlier left a transaction open; end it now rather
  // than fail every later call with "cannot start a transaction within a
  // transaction".
  if (database.InTransaction()) SqliteTransaction(database, what, false).Rollback();
  Status begun = database.Execute("BEGIN IMMEDIATE", fmt::format("{}: begin", what));
  if (!begun.ok()) return begun.error();
  return SqliteTransaction(database, what, false);
}

SqliteTransaction::SqliteTransaction(SqliteTransaction&& other) noexcept
    : database_(std::exchange(other.database_, nullptr)),
      what_(std::move(other.what_)),
      savepoint_(other.savepoint_) {}

SqliteTransaction::~SqliteTransaction() { Rollback(); }

Status SqliteTransaction::Commit() {
  if (database_ == nullptr) {
    return Error(ErrorCode::kInternal, fmt::format("{}: commit without a transaction", what_));
  }
  Status committed =
      database_->Execute(savepoint_ ? "RELEASE unit" : "COMMIT", fmt::format("{}: commit", what_));
  if (!committed.ok()) {
    Rollback();
    return committed;
  }
  database_ = nullptr;
  return OkStatus();
}

void SqliteTransaction::Rollback() {
  SqliteDatabase* database = std::exchange(database_, nullptr);
  // SQLite ends the transaction by itself after some errors (SQLITE_FULL,
  // SQLITE_IOERR, SQLITE_BUSY); then there is nothing left to roll back.
  if (database == nullptr || !database->InTransaction()) return;
  Status rolled_back = database->Execute(savepoint_ ? "ROLLBACK TO unit; RELEASE unit" : "ROLLBACK",
                                         fmt::format("{}: rollback", what_));
  if (rolled_back.ok()) return;
  if (savepoint_) {
    // The unit's work must not be committed with the group: end the group's
    // transaction, which fails the group (CommitGroup) and stores none of it.
    spdlog::error("{} (the group it belongs to is rolled back)", rolled_back.error().message());
    if (database->InTransaction()) (void)database->Execute("ROLLBACK", "group rollback");
    return;
  }
  spdlog::error("{} (retried at the next transaction)", rolled_back.error().message());
}

}  // namespace atmhealth::platform
