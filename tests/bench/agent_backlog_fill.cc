// atmhealth-backlog-fill: fills an agent's event buffer with a backlog, the
// way a long collector outage leaves it, for scripts/measure-drain.sh. It
// writes through the agent's own EventStore (the same file format, meta row,
// latest transitions and firing alerts as atmhealthd's), with the agent
// stopped: one process owns a buffer at a time.
//
//   atmhealth-backlog-fill --buffer DIR/events.db --events 1000000 --max-bytes 1GiB
//
// Every event is shaped like a real one (tests/support/sample_events.h: a
// critical storage alert with its diagnostic context, ~455 bytes as a
// frame), each with its own detection time. It prints the buffer's state
// afterwards as one line of key=value pairs; --max-bytes must leave room for
// the backlog (about 520 bytes per event), or the store drops the oldest
// events as the agent would, and says so.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "agent/store/event_store.h"
#include "platform/clock.h"
#include "platform/config_values.h"
#include "tests/bench/bench_events.h"

namespace atmhealth::bench {
namespace {

int Fill(const std::string& path, std::uint64_t events, std::uint64_t max_bytes,
         std::uint64_t group) {
  agent::EventStoreOptions options;
  options.path = path;
  options.max_bytes = max_bytes;
  // A group is held in memory until its commit; it must never overflow the
  // pending bounds, which would drop events.
  options.max_pending_events = static_cast<std::size_t>(group) + 1;
  options.max_pending_bytes = (group + 1) * 4096;
  Result<std::unique_ptr<agent::EventStore>> opened =
      agent::EventStore::Open(options, platform::Clock::Real());
  if (!opened.ok()) {
    std::fprintf(stderr, "atmhealth-backlog-fill: %s\n", opened.error().message().c_str());
    return 1;
  }
  agent::EventStore& store = **opened;
  const auto started = std::chrono::steady_clock::now();
  const std::uint64_t first = store.Stats().last_seq + 1;
  v1::Event event = testing::SampleEvent();
  const std::int64_t wall = platform::UnixNanos(platform::Clock::Real().WallNow());
  for (std::uint64_t i = 0; i < events;) {
    const std::uint64_t begin = i;
    const std::uint64_t end = std::min(events, i + group);
    for (; i < end; ++i) {
      // Detected over the last events/1000 seconds, one per millisecond.
      event.set_wall_time_unix_ns(wall - static_cast<std::int64_t>(events - i) * 1'000'000);
      event.set_monotonic_ns(static_cast<std::int64_t>(i + 1) * 1'000'000);
      store.Append(event);
    }
    if (Status committed = store.Commit(); !committed.ok()) {
      std::fprintf(stderr, "atmhealth-backlog-fill: committing events %llu..%llu: %s\n",
                   static_cast<unsigned long long>(first + begin),
                   static_cast<unsigned long long>(first + end - 1),
                   committed.error().message().c_str());
      return 1;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const agent::EventStoreStats stats = store.Stats();
  std::printf(
      "buffer_id=%s first_seq=%llu last_seq=%llu committed_seq=%llu delivered_seq=%llu "
      "backlog_events=%llu stored_bytes=%llu dropped_total=%llu seconds=%.1f\n",
      stats.buffer_id.c_str(), static_cast<unsigned long long>(first),
      static_cast<unsigned long long>(stats.last_seq),
      static_cast<unsigned long long>(stats.committed_seq),
      static_cast<unsigned long long>(stats.delivered_seq),
      static_cast<unsigned long long>(stats.backlog_events),
      static_cast<unsigned long long>(stats.stored_bytes),
      static_cast<unsigned long long>(stats.dropped_total), seconds);
  if (stats.dropped_total != 0) {
    std::fprintf(stderr,
                 "atmhealth-backlog-fill: the store dropped %llu events: --max-bytes is too "
                 "small for the backlog\n",
                 static_cast<unsigned long long>(stats.dropped_total));
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace atmhealth::bench

int main(int argc, char** argv) {
  CLI::App app{"Fills an agent's event buffer (the agent stopped) with a backlog of events"};
  std::string path;
  std::uint64_t events = 0;
  std::string max_bytes_text = "1GiB";
  std::uint64_t group = 10'000;
  app.add_option("--buffer", path, "the agent's buffer file ([store] path)")->required();
  app.add_option("--events", events, "events to append")->required();
  app.add_option("--max-bytes", max_bytes_text,
                 "the buffer's cap, as the agent's [store] max_bytes (\"1GiB\" or bytes)");
  app.add_option("--group", group, "events per commit (one transaction each)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1'000'000}));
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  const auto max_bytes = atmhealth::platform::ParseByteSize(max_bytes_text);
  if (!max_bytes.ok()) {
    std::fprintf(stderr, "atmhealth-backlog-fill: --max-bytes: %s\n",
                 max_bytes.error().message().c_str());
    return 2;
  }
  return atmhealth::bench::Fill(path, events, *max_bytes, group);
}
