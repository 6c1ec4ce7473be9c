#include "platform/sqlite_database.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/support/test_paths.h"
#include "tests/support/tmpfs.h"

namespace atmhealth::platform {
namespace {

using ::testing::HasSubstr;

constexpr std::chrono::milliseconds kNoWait{0};

// The first column of the first row of `sql`, or -1 and a test failure.
std::int64_t Int64Of(SqliteDatabase& database, const std::string& sql) {
  Result<std::int64_t> value = database.QueryInt64(sql, "test query");
  if (!value.ok()) {
    ADD_FAILURE() << value.error().message();
    return -1;
  }
  return *value;
}

class SqliteDatabaseTest : public ::testing::Test {
 protected:
  Result<SqliteDatabase> Open(std::chrono::milliseconds busy_timeout = kNoWait) {
    return SqliteDatabase::Open(path_.string(), busy_timeout);
  }

  atmhealth::testing::ScratchDir scratch_;
  std::filesystem::path path_ = scratch_ / "test.db";
};

TEST_F(SqliteDatabaseTest, ValuesComeBackAsBound) {
  Result<SqliteDatabase> database = Open();
  ASSERT_TRUE(database.ok()) << database.error().message();
  ASSERT_TRUE(database->Execute("CREATE TABLE t (i INTEGER, d REAL, s TEXT, b BLOB)", "create"));
  Result<SqliteStatement> insert =
      database->Prepare("INSERT INTO t VALUES (?1, ?2, ?3, ?4)", "prepare insert");
  ASSERT_TRUE(insert.ok()) << insert.error().message();
  {
    SqliteQuery query(*database, *insert);
    std::string text = "ej journal";
    query.BindInt64(1, -(std::int64_t{1} << 62))
        .BindDouble(2, 0.5)
        .BindText(3, text)
        .BindBlob(4, std::string_view("\0\xff", 2));
    text = "overwritten";  // the bound value was copied
    ASSERT_TRUE(query.Run("insert"));
  }
  EXPECT_EQ(database->ChangedRows(), 1);
  {
    SqliteQuery query(*database, *insert);
    query.BindInt64(1, 0).BindDouble(2, 0).BindText(3, {}).BindBlob(4, {});
    ASSERT_TRUE(query.Run("insert empty values"));
  }

  Result<SqliteStatement> select = database->Prepare(
      "SELECT i, s, b, typeof(s), typeof(b), d * 4 FROM t ORDER BY rowid", "prepare select");
  ASSERT_TRUE(select.ok()) << select.error().message();
  SqliteQuery query(*database, *select);
  Result<bool> row = query.Step("select");
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(query.ColumnInt64(0), -(std::int64_t{1} << 62));
  EXPECT_EQ(query.ColumnText(1), "ej journal");
  EXPECT_EQ(query.ColumnBlob(2), std::string_view("\0\xff", 2));
  EXPECT_EQ(query.ColumnInt64(5), 2);
  row = query.Step("select");
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(query.ColumnText(3), "text") << "an empty text is not NULL";
  EXPECT_EQ(query.ColumnText(4), "blob") << "an empty blob is not NULL";
  row = query.Step("select");
  ASSERT_TRUE(row.ok());
  EXPECT_FALSE(*row);
}

TEST_F(SqliteDatabaseTest, FileThatIsNotADatabaseIsCorruptNamingTheFileAndStep) {
  {
    std::ofstream garbage(path_);
    for (int i = 0; i < 200; ++i) garbage << "this is a log file, not a database\n";
  }
  Result<SqliteDatabase> database = Open();  // SQLite reads the file lazily
  ASSERT_TRUE(database.ok()) << database.error().message();
  Result<std::int64_t> version = database->QueryInt64("PRAGMA user_version", "read user_version");
  ASSERT_FALSE(version.ok());
  EXPECT_EQ(version.error().code(), ErrorCode::kCorrupt) << version.error().message();
  EXPECT_THAT(version.error().message(), HasSubstr(path_.string() + ": read user_version"));
  EXPECT_THAT(version.error().message(), HasSubstr("SQLITE_NOTADB"));
}

TEST_F(SqliteDatabaseTest, MissingDirectoryIsNotFoundNamingTheFile) {
  const std::string path = (scratch_ / "no-such-directory" / "test.db").string();
  Result<SqliteDatabase> database = SqliteDatabase::Open(path, kNoWait);
  ASSERT_FALSE(database.ok());
  EXPECT_EQ(database.error().code(), ErrorCode::kNotFound) << database.error().message();
  EXPECT_THAT(database.error().message(), HasSubstr(path + ": open"));
}

TEST_F(SqliteDatabaseTest, ReadOnlyOpenOfAMissingFileIsNotFoundAndCreatesNothing) {
  Result<SqliteDatabase> database = SqliteDatabase::OpenReadOnly(path_.string(), kNoWait);
  ASSERT_FALSE(database.ok());
  EXPECT_EQ(database.error().code(), ErrorCode::kNotFound);
  EXPECT_THAT(database.error().message(), HasSubstr(path_.string()));
  EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(SqliteDatabaseTest, ReadOnlyConnectionReadsAWalDatabaseAndCannotWrite) {
  Result<SqliteDatabase> writer = Open();
  ASSERT_TRUE(writer.ok()) << writer.error().message();
  ASSERT_TRUE(
      writer->Execute("PRAGMA journal_mode = WAL; CREATE TABLE t (i INTEGER); "
                      "INSERT INTO t VALUES (1)",
                      "create"));
  Result<SqliteDatabase> reader = SqliteDatabase::OpenReadOnly(path_.string(), kNoWait);
  ASSERT_TRUE(reader.ok()) << reader.error().message();
  EXPECT_EQ(Int64Of(*reader, "SELECT count(*) FROM t"), 1);
  // The writer goes on while the reader is open; the reader sees each commit.
  ASSERT_TRUE(writer->Execute("INSERT INTO t VALUES (2)", "insert"));
  EXPECT_EQ(Int64Of(*reader, "SELECT count(*) FROM t"), 2);
  Status refused = reader->Execute("INSERT INTO t VALUES (3)", "insert");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::kPermissionDenied);
}

TEST_F(SqliteDatabaseTest, EmptyPathIsAnInvalidArgument) {
  Result<SqliteDatabase> database = SqliteDatabase::Open("", kNoWait);
  ASSERT_FALSE(database.ok());
  EXPECT_EQ(database.error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(SqliteDatabaseTest, LockedDatabaseIsUnavailableNamingTheFileAndStep) {
  Result<SqliteDatabase> holder = Open();
  ASSERT_TRUE(holder.ok()) << holder.error().message();
  Result<SqliteDatabase> waiter = Open(std::chrono::milliseconds(50));
  ASSERT_TRUE(waiter.ok()) << waiter.error().message();
  Result<SqliteTransaction> held = SqliteTransaction::Begin(*holder, "hold the lock");
  ASSERT_TRUE(held.ok()) << held.error().message();

  Result<SqliteTransaction> blocked = SqliteTransaction::Begin(*waiter, "store batch");
  ASSERT_FALSE(blocked.ok());
  EXPECT_EQ(blocked.error().code(), ErrorCode::kUnavailable) << blocked.error().message();
  EXPECT_THAT(blocked.error().message(), HasSubstr(path_.string() + ": store batch: begin"));
  EXPECT_THAT(blocked.error().message(), HasSubstr("SQLITE_BUSY"));
  EXPECT_FALSE(waiter->InTransaction());
}

TEST_F(SqliteDatabaseTest, ConstraintViolationIsAnInvalidArgument) {
  Result<SqliteDatabase> database = Open();
  ASSERT_TRUE(database.ok()) << database.error().message();
  ASSERT_TRUE(database->Execute("CREATE TABLE t (id INTEGER PRIMARY KEY)", "create"));
  ASSERT_TRUE(database->Execute("INSERT INTO t VALUES (1)", "first insert"));
  Status again = database->Execute("INSERT INTO t VALUES (1)", "second insert");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), ErrorCode::kInvalidArgument) << again.error().message();
  EXPECT_THAT(again.error().message(), HasSubstr("second insert: UNIQUE constraint failed"));
}

TEST_F(SqliteDatabaseTest, MoreThanOneStatementIsRefusedAtPrepare) {
  Result<SqliteDatabase> database = Open();
  ASSERT_TRUE(database.ok()) << database.error().message();
  Result<SqliteStatement> two = database->Prepare("SELECT 1; SELECT 2", "two statements");
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(two.error().code(), ErrorCode::kInternal);
  EXPECT_THAT(two.error().message(), HasSubstr("two statements: prepare"));
}

TEST_F(SqliteDatabaseTest, TransactionRollsBackWhenItsScopeEndsUncommitted) {
  Result<SqliteDatabase> database = Open();
  ASSERT_TRUE(database.ok()) << database.error().message();
  ASSERT_TRUE(database->Execute("CREATE TABLE t (id INTEGER PRIMARY KEY)", "create"));
  {
    Result<SqliteTransaction> transaction = SqliteTransaction::Begin(*database, "abandoned");
    ASSERT_TRUE(transaction.ok()) << transaction.error().message();
    EXPECT_TRUE(database->InTransaction());
    ASSERT_TRUE(database->Execute("INSERT INTO t VALUES (1)", "insert"));
  }
  EXPECT_FALSE(database->InTransaction());
  EXPECT_EQ(Int64Of(*database, "SELECT count(*) FROM t"), 0);

  {
    Result<SqliteTransaction> transaction = SqliteTransaction::Begin(*database, "kept");
    ASSERT_TRUE(transaction.ok()) << transaction.error().message();
    ASSERT_TRUE(database->Execute("INSERT INTO t VALUES (2)", "insert"));
    ASSERT_TRUE(transaction->Commit());
  }
  EXPECT_FALSE(database->InTransaction());
  EXPECT_EQ(Int64Of(*database, "SELECT count(*) FROM t"), 1);
}

TEST_F(SqliteDatabaseTest, FailedCommitRollsBack) {
  Result<SqliteDatabase> database = Open();
  ASSERT_TRUE(database.ok()) << database.error().message();
  // A deferred foreign key is checked at COMMIT, which then fails and leaves
  // the transaction open.
  ASSERT_TRUE(database->Execute(
      "PRAGMA foreign_keys = ON;"
      "CREATE TABLE devices (id TEXT PRIMARY KEY);"
      "CREATE TABLE events (device_id TEXT REFERENCES devices (id) DEFERRABLE INITIALLY DEFERRED)",
      "create"));
  Result<SqliteTransaction> transaction = SqliteTransaction::Begin(*database, "store orphan");
  ASSERT_TRUE(transaction.ok()) << transaction.error().message();
  ASSERT_TRUE(database->Execute("INSERT INTO events VALUES ('atm-ghost')", "insert"));
  Status committed = transaction->Commit();
  ASSERT_FALSE(committed.ok());
  EXPECT_THAT(committed.error().message(), HasSubstr(path_.string() + ": store orphan: commit"));
  EXPECT_FALSE(database->InTransaction());
  EXPECT_EQ(Int64Of(*database, "SELECT count(*) FROM events"), 0);
}

// Group commit: units of work inside a group are savepoints; a unit that
// fails takes back only its own rows, and nothing is visible to another
// connection (nothing is durable) before the group commits.
TEST_F(SqliteDatabaseTest, GroupCommitsItsUnitsTogetherAndAFailedUnitTakesBackOnlyItsOwnWork) {
  Result<SqliteDatabase> database = Open();
  ASSERT_TRUE(database.ok()) << database.error().message();
  Result<std::string> mode = database->QueryText("PRAGMA journal_mode = WAL", "set journal_mode");
  ASSERT_TRUE(mode.ok() && *mode == "wal");
  ASSERT_TRUE(database->Execute("CREATE TABLE t (id INTEGER PRIMARY KEY)", "create"));
  Result<SqliteDatabase> reader = Open();
  ASSERT_TRUE(reader.ok()) << reader.error().message();

  ASSERT_TRUE(database->BeginGroup("group"));
  EXPECT_TRUE(database->InGroup());
  for (int id : {1, 2, 3}) {
    Result<SqliteTransaction> unit = SqliteTransaction::Begin(*database, "unit");
    ASSERT_TRUE(unit.ok()) << unit.error().message();
    ASSERT_TRUE(database->Execute("INSERT INTO t VALUES (" + std::to_string(id) + ")", "insert"));
    if (id != 2) {  // unit 2 ends uncommitted: rolled back
      ASSERT_TRUE(unit->Commit());
    }
  }
  {
    // A unit that fails halfway: its first row goes with it.
    Result<SqliteTransaction> unit = SqliteTransaction::Begin(*database, "unit");
    ASSERT_TRUE(unit.ok()) << unit.error().message();
    ASSERT_TRUE(database->Execute("INSERT INTO t VALUES (4)", "insert"));
    EXPECT_FALSE(database->Execute("INSERT INTO t VALUES (1)", "insert duplicate").ok());
  }
  EXPECT_TRUE(database->InTransaction()) << "the group's transaction outlives its units";
  EXPECT_EQ(Int64Of(*reader, "SELECT count(*) FROM t"), 0)
      << "nothing is durable before the commit";

  ASSERT_TRUE(database->CommitGroup());
  EXPECT_FALSE(database->InGroup());
  EXPECT_FALSE(database->InTransaction());
  Result<std::string> ids =
      reader->QueryText("SELECT group_concat(id) FROM (SELECT id FROM t ORDER BY id)", "ids");
  ASSERT_TRUE(ids.ok()) << ids.error().message();
  EXPECT_EQ(*ids, "1,3") << "unit 2 and the failed unit 4 were taken back";
}

TEST_F(SqliteDatabaseTest, CommitGroupWithoutAGroupIsAnInternalError) {
  Result<SqliteDatabase> database = Open();
  ASSERT_TRUE(database.ok()) << database.error().message();
  Status committed = database->CommitGroup();
  ASSERT_FALSE(committed.ok());
  EXPECT_EQ(committed.error().code(), ErrorCode::kInternal);
}

// A reused statement stepped part way must not keep its read snapshot once
// the query's scope ends: the snapshot would keep the WAL from being
// checkpointed, so it would grow without bound.
TEST_F(SqliteDatabaseTest, QueryResetsItsStatementWhenItsScopeEnds) {
  Result<SqliteDatabase> reader = Open();
  ASSERT_TRUE(reader.ok()) << reader.error().message();
  Result<SqliteDatabase> writer = Open(std::chrono::milliseconds(50));
  ASSERT_TRUE(writer.ok()) << writer.error().message();
  Result<std::string> mode = writer->QueryText("PRAGMA journal_mode = WAL", "set journal_mode");
  ASSERT_TRUE(mode.ok() && *mode == "wal");
  ASSERT_TRUE(writer->Execute(
      "CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1), (2)", "fill"));
  Result<SqliteStatement> select = reader->Prepare("SELECT id FROM t ORDER BY id", "prepare");
  ASSERT_TRUE(select.ok()) << select.error().message();
  // Writes a row, then checkpoints: the first column of the pragma is 1 when
  // a reader's snapshot kept it from completing.
  auto checkpoint_blocked = [&] {
    EXPECT_TRUE(writer->Execute("INSERT INTO t VALUES (NULL)", "write"));
    return Int64Of(*writer, "PRAGMA wal_checkpoint(TRUNCATE)") == 1;
  };
  {
    SqliteQuery query(*reader, *select);
    Result<bool> row = query.Step("select");
    ASSERT_TRUE(row.ok() && *row);
    EXPECT_EQ(query.ColumnInt64(0), 1);
    EXPECT_TRUE(checkpoint_blocked()) << "a query in progress holds its snapshot";
  }
  EXPECT_FALSE(checkpoint_blocked());

  SqliteQuery again(*reader, *select);
  Result<bool> row = again.Step("select");
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(again.ColumnInt64(0), 1) << "the next query starts over at the first row";
}

// A real, tiny tmpfs filled by the database itself. Needs root to mount.
class SqliteDatabaseDiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(disk_.mounted()); }

  atmhealth::testing::ScratchDir scratch_;
  std::filesystem::path mount_point_ = scratch_ / "disk";
  atmhealth::testing::TmpfsMount disk_{mount_point_, "size=64k"};
};

TEST_F(SqliteDatabaseDiskFullTest, FullDiskIsNoSpaceNamingTheFileAndStep) {
  const std::string path = (mount_point_ / "full.db").string();
  Result<SqliteDatabase> database = SqliteDatabase::Open(path, kNoWait);
  ASSERT_TRUE(database.ok()) << database.error().message();
  ASSERT_TRUE(database->Execute("CREATE TABLE t (b BLOB)", "create"));
  Result<SqliteStatement> insert = database->Prepare("INSERT INTO t VALUES (?1)", "prepare");
  ASSERT_TRUE(insert.ok()) << insert.error().message();
  const std::string blob(4096, 'x');
  Status full = OkStatus();
  for (int i = 0; i < 1000 && full.ok(); ++i) {
    SqliteQuery query(*database, *insert);
    full = query.BindBlob(1, blob).Run("insert");
  }
  ASSERT_FALSE(full.ok()) << "64 KiB never filled up";
  EXPECT_EQ(full.error().code(), ErrorCode::kNoSpace) << full.error().message();
  EXPECT_THAT(full.error().message(), HasSubstr(path + ": insert"));
}

// A disk that fills up inside a group never leaves half of a unit behind:
// either SQLite ended the group's transaction (then the commit fails and
// nothing of the group is stored) or only the failed unit is taken back.
TEST_F(SqliteDatabaseDiskFullTest, FullDiskInAGroupStoresWholeUnitsOrNothing) {
  const std::string path = (mount_point_ / "group.db").string();
  Result<SqliteDatabase> database = SqliteDatabase::Open(path, kNoWait);
  ASSERT_TRUE(database.ok()) << database.error().message();
  ASSERT_TRUE(database->Execute("CREATE TABLE t (unit INTEGER, b BLOB)", "create"));
  Result<SqliteStatement> insert = database->Prepare("INSERT INTO t VALUES (?1, ?2)", "prepare");
  ASSERT_TRUE(insert.ok()) << insert.error().message();
  const std::string blob(4096, 'x');
  auto run_unit = [&](int unit, int rows) -> Status {
    Result<SqliteTransaction> transaction = SqliteTransaction::Begin(*database, "unit");
    if (!transaction.ok()) return transaction.error();
    for (int i = 0; i < rows; ++i) {
      SqliteQuery query(*database, *insert);
      if (Status inserted = query.BindInt64(1, unit).BindBlob(2, blob).Run("insert"); !inserted) {
        return inserted;
      }
    }
    return transaction->Commit();
  };

  ASSERT_TRUE(database->BeginGroup("group"));
  ASSERT_TRUE(run_unit(1, 1));
  Status full = run_unit(2, 1000);
  ASSERT_FALSE(full.ok()) << "64 KiB never filled up";
  EXPECT_EQ(full.error().code(), ErrorCode::kNoSpace) << full.error().message();
  Status after = run_unit(3, 1);
  Status committed = database->CommitGroup();
  EXPECT_FALSE(database->InTransaction());

  Result<std::string> units = database->QueryText(
      "SELECT coalesce(group_concat(unit), '') FROM (SELECT DISTINCT unit FROM t ORDER BY unit)",
      "units");
  ASSERT_TRUE(units.ok()) << units.error().message();
  if (committed.ok()) {
    EXPECT_TRUE(after.ok()) << after.error().message();
    EXPECT_EQ(*units, "1,3") << "only the failed unit was taken back";
    EXPECT_EQ(Int64Of(*database, "SELECT count(*) FROM t WHERE unit = 2"), 0);
  } else {
    EXPECT_EQ(*units, "") << committed.error().message();
    EXPECT_FALSE(after.ok()) << "a unit after the group's transaction ended is refused";
  }
}

}  // namespace
}  // namespace atmhealth::platform
