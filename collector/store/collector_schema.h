// The collector database's schema and its migrations. The version lives in
// PRAGMA user_version; docs/collector-database.md documents every table.
#ifndef ATMHEALTH_COLLECTOR_STORE_COLLECTOR_SCHEMA_H_
#define ATMHEALTH_COLLECTOR_STORE_COLLECTOR_SCHEMA_H_

#include "platform/sqlite_database.h"
#include "platform/status.h"

namespace atmhealth::collector {

// The schema version this build writes.
inline constexpr int kCollectorSchemaVersion = 5;

// Brings the database to kCollectorSchemaVersion, one step per version, each
// step and its new user_version in one transaction: a crash between steps
// leaves a database at some complete version, and the next open goes on from
// there. A database newer than this build is refused (kInvalidArgument), never
// written to.
// `target_version` below the latest is for tests that make a database as an
// older collector left it.
Status MigrateCollectorSchema(platform::SqliteDatabase& database,
                              int target_version = kCollectorSchemaVersion);

}  // namespace atmhealth::collector

#endif  // ATMHEALTH_COLLECTOR_STORE_COLLECTOR_SCHEMA_H_
