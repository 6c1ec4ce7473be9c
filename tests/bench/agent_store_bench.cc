// The agent's event buffer on a real SQLite file (WAL, synchronous=FULL):
// what group commit buys, and what handing events to the uplink costs.
//
//   BM_AppendCommit/group:G   G Appends, then one Commit (one transaction,
//                             one fsync of the WAL) per iteration.
//   BM_ReadAfterMarkDelivered/batch:B
//                             the uplink's loop: ReadAfter(delivered, B),
//                             then MarkDelivered(last seq read), on a
//                             store holding 20,000 committed events.
//
// The file lives under $TMPDIR (else /tmp); put that on the disk you want to
// measure, since a tmpfs makes fsync free.
//
//   build/bench/tests/bench/agent_store_bench --benchmark_repetitions=3
#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "agent/store/event_store.h"
#include "platform/clock.h"
#include "tests/bench/bench_events.h"

namespace atmhealth::bench {
namespace {

// Large enough that no benchmark run reaches the cap: eviction is not what
// these measure.
constexpr std::uint64_t kStoreCapBytes = 1024ull * 1024 * 1024;
constexpr std::uint64_t kPrefilledEvents = 20'000;
constexpr std::uint64_t kPrefillGroup = 500;

std::unique_ptr<agent::EventStore> OpenStore(const ScratchDir& dir, benchmark::State& state) {
  agent::EventStoreOptions options;
  options.path = (dir / "events.db").string();
  options.max_bytes = kStoreCapBytes;
  Result<std::unique_ptr<agent::EventStore>> store =
      agent::EventStore::Open(options, platform::Clock::Real());
  if (!store.ok()) {
    state.SkipWithError(store.error().message().c_str());
    return nullptr;
  }
  return std::move(store).value();
}

bool AppendAndCommit(agent::EventStore& store, std::uint64_t count, benchmark::State& state) {
  for (std::uint64_t i = 0; i < count; ++i) store.Append(testing::SampleEvent(0));
  if (Status committed = store.Commit(); !committed.ok()) {
    state.SkipWithError(committed.error().message().c_str());
    return false;
  }
  return true;
}

void BM_AppendCommit(benchmark::State& state) {
  const auto group = static_cast<std::uint64_t>(state.range(0));
  ScratchDir dir;
  std::unique_ptr<agent::EventStore> store = OpenStore(dir, state);
  if (store == nullptr) return;
  // Building the events is the rules' cost, not the store's.
  std::vector<v1::Event> events(group, testing::SampleEvent(0));
  for (auto _ : state) {
    for (const v1::Event& event : events) store->Append(event);
    if (Status committed = store->Commit(); !committed.ok()) {
      state.SkipWithError(committed.error().message().c_str());
      return;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * group));
  state.counters["commits_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_AppendCommit)
    ->ArgName("group")
    ->Arg(1)
    ->Arg(16)
    ->Arg(256)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

void BM_ReadAfterMarkDelivered(benchmark::State& state) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  ScratchDir dir;
  std::unique_ptr<agent::EventStore> store = OpenStore(dir, state);
  if (store == nullptr) return;
  auto refill = [&] {
    for (std::uint64_t done = 0; done < kPrefilledEvents; done += kPrefillGroup) {
      if (!AppendAndCommit(*store, kPrefillGroup, state)) return false;
    }
    return true;
  };
  if (!refill()) return;
  std::uint64_t delivered = 0;
  std::uint64_t committed = kPrefilledEvents;
  std::uint64_t events_read = 0;
  for (auto _ : state) {
    if (committed - delivered < batch) {  // almost everything delivered: add more, untimed
      state.PauseTiming();
      const bool refilled = refill();
      committed += kPrefilledEvents;
      state.ResumeTiming();
      if (!refilled) return;
    }
    Result<std::vector<v1::Event>> events =
        store->ReadAfter(delivered, batch, std::numeric_limits<std::size_t>::max());
    if (!events.ok() || events->size() != batch) {
      state.SkipWithError(events.ok() ? "ReadAfter returned a short batch"
                                      : events.error().message().c_str());
      return;
    }
    delivered = events->back().seq();
    events_read += events->size();
    if (Status marked = store->MarkDelivered(delivered); !marked.ok()) {
      state.SkipWithError(marked.error().message().c_str());
      return;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(events_read));
}
BENCHMARK(BM_ReadAfterMarkDelivered)
    ->ArgName("batch")
    ->Arg(16)
    ->Arg(256)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

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
