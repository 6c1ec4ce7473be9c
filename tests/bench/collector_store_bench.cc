// The collector's SQLite store on a real file (WAL, synchronous=FULL): one
// StoreEvents call is one batch from one agent, stored in one transaction
// before the Ack; RecordHeartbeat is what every agent sends every heartbeat
// interval; RecordHello is every reconnect. The store thread runs these one
// after another, so 1 / time per call is the collector's ceiling for that
// kind of frame.
//
// The file lives under $TMPDIR (else /tmp); put that on the disk you want to
// measure, since a tmpfs makes fsync free.
//
//   build/bench/tests/bench/collector_store_bench --benchmark_repetitions=3
#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "collector/store/collector_store.h"
#include "platform/clock.h"
#include "tests/bench/bench_events.h"
#include "tests/bench/raw_ceiling.h"

namespace atmhealth::bench {
namespace {

// Devices the batches rotate over, so the store's indexes hold more than one
// device as they do in a fleet.
constexpr int kDevices = 16;

std::string DeviceId(int index) { return "atm-bench-" + std::to_string(index); }

std::int64_t NowUnixNanos() { return platform::UnixNanos(platform::Clock::Real().WallNow()); }

// Opens a store in `dir` and says Hello for every device.
std::unique_ptr<collector::CollectorStore> OpenStore(const ScratchDir& dir,
                                                     benchmark::State& state) {
  Result<std::unique_ptr<collector::CollectorStore>> store =
      collector::CollectorStore::OpenSqlite((dir / "collector.db").string());
  if (!store.ok()) {
    state.SkipWithError(store.error().message().c_str());
    return nullptr;
  }
  for (int i = 0; i < kDevices; ++i) {
    v1::Hello hello;
    hello.mutable_device()->set_device_id(DeviceId(i));
    hello.mutable_device()->set_site_id("shinjuku-east");
    hello.mutable_device()->set_kind(v1::DEVICE_KIND_ATM);
    hello.set_protocol_version(v1::PROTOCOL_VERSION_1);
    hello.set_agent_version("0.1.0");
    Result<std::uint64_t> recorded =
        (*store)->RecordHello(hello, "127.0.0.1:40000", NowUnixNanos());
    if (!recorded.ok()) {
      state.SkipWithError(recorded.error().message().c_str());
      return nullptr;
    }
  }
  return std::move(store).value();
}

void BM_StoreEvents(benchmark::State& state) {
  const auto batch = static_cast<std::uint64_t>(state.range(0));
  ScratchDir dir;
  std::unique_ptr<collector::CollectorStore> store = OpenStore(dir, state);
  if (store == nullptr) return;
  std::vector<std::uint64_t> next_seq(kDevices, 1);
  std::vector<v1::Event> events;
  for (std::uint64_t i = 0; i < batch; ++i) events.push_back(testing::SampleEvent(i + 1));
  int device = 0;
  for (auto _ : state) {
    // Renumbering costs nanoseconds next to the store's transaction.
    for (std::uint64_t i = 0; i < batch; ++i) events[i].set_seq(next_seq[device] + i);
    Result<collector::StoredBatch> stored =
        store->StoreEvents(DeviceId(device), "", events, NowUnixNanos());
    if (!stored.ok()) {
      state.SkipWithError(stored.error().message().c_str());
      return;
    }
    next_seq[device] += batch;
    device = (device + 1) % kDevices;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
  state.counters["batches_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_StoreEvents)
    ->ArgName("batch")
    ->Arg(1)
    ->Arg(16)
    ->Arg(256)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// Group commit as the store thread runs it under load: `batches` batches of
// 100 events from different devices in one group, one fsync for the group.
// Beside BM_RawBatchedInsert with as many rows per commit, the difference is
// what the store adds per event (columns, JSON, payload, alert upsert,
// buffer bookkeeping) over SQLite alone.
void BM_StoreEventsGrouped(benchmark::State& state) {
  constexpr std::uint64_t kBatch = 100;
  const auto batches = static_cast<int>(state.range(0));
  ScratchDir dir;
  std::unique_ptr<collector::CollectorStore> store = OpenStore(dir, state);
  if (store == nullptr) return;
  std::vector<std::uint64_t> next_seq(kDevices, 1);
  std::vector<v1::Event> events;
  for (std::uint64_t i = 0; i < kBatch; ++i) events.push_back(testing::SampleEvent(i + 1));
  int device = 0;
  for (auto _ : state) {
    if (Status begun = store->BeginGroup(); !begun.ok()) {
      state.SkipWithError(begun.error().message().c_str());
      return;
    }
    for (int b = 0; b < batches; ++b) {
      for (std::uint64_t i = 0; i < kBatch; ++i) events[i].set_seq(next_seq[device] + i);
      Result<collector::StoredBatch> stored =
          store->StoreEvents(DeviceId(device), "", events, NowUnixNanos());
      if (!stored.ok()) {
        state.SkipWithError(stored.error().message().c_str());
        return;
      }
      next_seq[device] += kBatch;
      device = (device + 1) % kDevices;
    }
    if (Status committed = store->CommitGroup(); !committed.ok()) {
      state.SkipWithError(committed.error().message().c_str());
      return;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batches * kBatch));
}
BENCHMARK(BM_StoreEventsGrouped)
    ->ArgName("batches_of_100")
    ->Arg(1)
    ->Arg(10)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// The raw ceiling (raw_ceiling.h): `rows` rows of the same shape per
// transaction, prepared once, straight into the collector's schema; ten
// transactions per iteration into a fresh file, timed without the setup.
void BM_RawBatchedInsert(benchmark::State& state) {
  const auto rows = static_cast<std::uint64_t>(state.range(0));
  ScratchDir dir;
  int file = 0;
  for (auto _ : state) {
    RawCeilingOptions options;
    options.path = (dir / ("raw-" + std::to_string(file++) + ".db")).string();
    options.devices = kDevices;
    options.rows = rows * 10;
    options.rows_per_commit = rows;
    options.rows_per_device_run = 100;  // as BM_StoreEventsGrouped's batches
    Result<RawCeiling> ceiling = MeasureRawCeiling(options);
    if (!ceiling.ok()) {
      state.SkipWithError(ceiling.error().message().c_str());
      return;
    }
    state.SetIterationTime(ceiling->seconds);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * rows * 10));
}
BENCHMARK(BM_RawBatchedInsert)
    ->ArgName("rows_per_commit")
    ->Arg(100)
    ->Arg(1000)
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime();

// A known device connecting again, as every agent does after a collector
// restart: one transaction per Hello.
void BM_RecordHello(benchmark::State& state) {
  ScratchDir dir;
  std::unique_ptr<collector::CollectorStore> store = OpenStore(dir, state);
  if (store == nullptr) return;
  v1::Hello hello;
  hello.mutable_device()->set_site_id("shinjuku-east");
  hello.mutable_device()->set_kind(v1::DEVICE_KIND_ATM);
  hello.set_protocol_version(v1::PROTOCOL_VERSION_1);
  hello.set_agent_version("0.1.0");
  int device = 0;
  for (auto _ : state) {
    hello.mutable_device()->set_device_id(DeviceId(device));
    if (Result<std::uint64_t> recorded =
            store->RecordHello(hello, "127.0.0.1:40000", NowUnixNanos());
        !recorded.ok()) {
      state.SkipWithError(recorded.error().message().c_str());
      return;
    }
    device = (device + 1) % kDevices;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_RecordHello)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_RecordHeartbeat(benchmark::State& state) {
  ScratchDir dir;
  std::unique_ptr<collector::CollectorStore> store = OpenStore(dir, state);
  if (store == nullptr) return;
  const v1::Heartbeat heartbeat = testing::SampleHeartbeat();
  int device = 0;
  for (auto _ : state) {
    if (Status recorded = store->RecordHeartbeat(DeviceId(device), heartbeat, NowUnixNanos());
        !recorded.ok()) {
      state.SkipWithError(recorded.error().message().c_str());
      return;
    }
    device = (device + 1) % kDevices;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_RecordHeartbeat)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace atmhealth::bench

// BENCHMARK_MAIN, with the store's info lines (schema created, ...) kept out
// of the results.
int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
