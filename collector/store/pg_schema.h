// The collector's schema in PostgreSQL and its migrations: the same tables,
// columns and meaning as the SQLite file (docs/collector-database.md), with
// PostgreSQL's types (docs/collector-postgresql.md lists what differs). The
// version lives in the table atmhealth_schema, counted on its own from 1.
#ifndef ATMHEALTH_COLLECTOR_STORE_PG_SCHEMA_H_
#define ATMHEALTH_COLLECTOR_STORE_PG_SCHEMA_H_

#include <pqxx/pqxx>

#include "collector/store/pg_connection.h"
#include "platform/status.h"

namespace atmhealth::collector {

// The PostgreSQL schema version this build writes.
inline constexpr int kPgCollectorSchemaVersion = 1;

// Brings the database (the first schema of the connection's search_path) to
// kPgCollectorSchemaVersion, each step and its version in one transaction,
// under a transaction-level advisory lock: several collectors starting
// together on one database migrate it once. A database newer than this
// build is refused (kInvalidArgument), never written to.
Status MigratePgCollectorSchema(PgConnection& connection);

}  // namespace atmhealth::collector

#endif  // ATMHEALTH_COLLECTOR_STORE_PG_SCHEMA_H_
