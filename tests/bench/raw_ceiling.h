// The raw ceiling of the collector's SQLite store on this disk: rows shaped
// like the events the benchmarks send, inserted with one prepared statement
// straight into the collector's own schema (the same table, primary key and
// indexes, WAL, synchronous=FULL), many rows per transaction. No protocol,
// no decoding, no validation, no alert upsert: what SQLite and the disk
// alone take, so that a figure of the collector sits beside the most it
// could reach on the same machine in the same run.
#ifndef ATMHEALTH_TESTS_BENCH_RAW_CEILING_H_
#define ATMHEALTH_TESTS_BENCH_RAW_CEILING_H_

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "collector/store/collector_schema.h"
#include "collector/store/store_rows.h"
#include "platform/sqlite_database.h"
#include "platform/status.h"
#include "tests/bench/bench_events.h"

namespace atmhealth::bench {

struct RawCeilingOptions {
  std::string path;                      // a fresh database file; created
  int devices = 16;                      // devices the rows rotate over
  std::uint64_t rows = 100'000;          // rows inserted in all
  std::uint64_t rows_per_commit = 1000;  // rows per transaction (one fsync each)
  // Rows of one device in a row, as one batch of an agent stores them: the
  // index pages a run touches are few; rows of every device in turn touch
  // a page of each index per row.
  std::uint64_t rows_per_device_run = 1;
};

struct RawCeiling {
  std::uint64_t rows = 0;
  std::uint64_t commits = 0;
  double seconds = 0;  // wall time of the inserts and commits, not of the setup
  double RowsPerSecond() const { return seconds > 0 ? static_cast<double>(rows) / seconds : 0; }
};

// The device id of device `index` in the raw ceiling's database.
inline std::string RawCeilingDevice(int index) { return fmt::format("raw-{:05d}", index + 1); }

// Creates options.path with the collector's schema and its devices, then
// inserts options.rows event rows, options.rows_per_device_run of a device
// at a time, device after device in turn, each device's sequence counting
// up, options.rows_per_commit to a transaction.
inline Result<RawCeiling> MeasureRawCeiling(const RawCeilingOptions& options) {
  Result<platform::SqliteDatabase> opened =
      platform::SqliteDatabase::Open(options.path, std::chrono::milliseconds(5000));
  if (!opened.ok()) return opened.error();
  platform::SqliteDatabase& db = *opened;
  // The collector's pragmas (collector/store/sqlite_collector_store.cc).
  Result<std::string> mode = db.QueryText("PRAGMA journal_mode = WAL", "set journal_mode");
  if (!mode.ok()) return mode.error();
  if (Status pragmas =
          db.Execute("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;", "set pragmas");
      !pragmas.ok()) {
    return pragmas.error();
  }
  if (Status migrated = collector::MigrateCollectorSchema(db); !migrated.ok()) {
    return migrated.error();
  }
  {
    Result<platform::SqliteStatement> device = db.Prepare(
        "INSERT INTO devices (device_id, site_id, kind, agent_version, protocol_version, peer, "
        "agent_last_seq, first_seen_unix_ns, last_seen_unix_ns, last_hello_unix_ns) "
        "VALUES (?1, 'raw-site', 'atm', 'raw', 1, '127.0.0.1', 0, 0, 0, 0)",
        "prepare device insert");
    if (!device.ok()) return device.error();
    Result<platform::SqliteTransaction> transaction =
        platform::SqliteTransaction::Begin(db, "insert devices");
    if (!transaction.ok()) return transaction.error();
    for (int i = 0; i < options.devices; ++i) {
      platform::SqliteQuery query(db, *device);
      query.BindText(1, RawCeilingDevice(i));
      if (Status inserted = query.Run("insert device"); !inserted.ok()) return inserted.error();
    }
    if (Status committed = transaction->Commit(); !committed.ok()) return committed.error();
  }
  Result<platform::SqliteStatement> insert = db.Prepare(
      "INSERT INTO events (device_id, seq, received_unix_ns, wall_time_unix_ns, monotonic_ns, "
      "boot_id, severity, kind, state, subject, alert_key, value, threshold, unit, category, "
      "impact_unavailable, impact_degraded, summary, context_json, payload, buffer_id) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
      "?19, ?20, '') ON CONFLICT (device_id, buffer_id, seq) DO NOTHING",
      "prepare event insert");
  if (!insert.ok()) return insert.error();

  // Every row's columns are those of the one event, computed once: the
  // ceiling leaves out the collector's per-event work on purpose.
  const v1::Event event = testing::SampleEvent(1);
  Result<collector::EventColumns> columns = collector::ColumnsOf(event, options.path, "raw");
  if (!columns.ok()) return columns.error();
  std::vector<std::string> device_ids;
  for (int i = 0; i < options.devices; ++i) device_ids.push_back(RawCeilingDevice(i));

  RawCeiling ceiling;
  const auto start = std::chrono::steady_clock::now();
  std::uint64_t row = 0;
  while (row < options.rows) {
    Result<platform::SqliteTransaction> transaction =
        platform::SqliteTransaction::Begin(db, "raw insert");
    if (!transaction.ok()) return transaction.error();
    const std::uint64_t end = std::min(options.rows, row + options.rows_per_commit);
    for (; row < end; ++row) {
      // Run r of rows belongs to device r % devices, and is that device's
      // (r / devices)-th run.
      const std::uint64_t run_length = std::max<std::uint64_t>(options.rows_per_device_run, 1);
      const std::uint64_t run = row / run_length;
      const auto device = static_cast<std::size_t>(run % device_ids.size());
      const auto seq =
          static_cast<std::int64_t>((run / device_ids.size()) * run_length + row % run_length + 1);
      platform::SqliteQuery query(db, *insert);
      query.BindText(1, device_ids[device])
          .BindInt64(2, seq)
          .BindInt64(3, 1'700'000'000'000'000'000 + seq)
          .BindInt64(4, event.wall_time_unix_ns() + seq)
          .BindInt64(5, event.monotonic_ns() + seq)
          .BindText(6, event.boot_id())
          .BindText(7, columns->severity)
          .BindText(8, columns->kind)
          .BindText(9, columns->state)
          .BindText(10, event.subject())
          .BindText(11, event.alert_key())
          .BindDouble(12, event.value())
          .BindDouble(13, event.threshold())
          .BindText(14, columns->unit)
          .BindText(15, columns->category)
          .BindText(16, columns->impact_unavailable)
          .BindText(17, columns->impact_degraded)
          .BindText(18, event.summary())
          .BindText(19, columns->context_json)
          .BindBlob(20, columns->payload);
      if (Status inserted = query.Run("raw insert"); !inserted.ok()) return inserted.error();
    }
    if (Status committed = transaction->Commit(); !committed.ok()) return committed.error();
    ++ceiling.commits;
  }
  ceiling.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ceiling.rows = row;
  return ceiling;
}

}  // namespace atmhealth::bench

#endif  // ATMHEALTH_TESTS_BENCH_RAW_CEILING_H_
