// The transaction feed on one core: lines parsed (ParseStatsdLine), lines
// parsed and accounted (FeedIntake::Datagram: split, parse, meter, count),
// the same with 10,000 distinct transaction types against the type cap, and
// beside them the raw cost of receiving the datagrams on a Unix datagram
// socket. Traffic is atmhealth-feed's realistic mix (tools/feed_traffic.h).
//
//   build/bench/tests/bench/feed_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/feed/feed_intake.h"
#include "agent/feed/statsd_line.h"
#include "platform/asio.h"
#include "platform/clock.h"
#include "platform/text_input.h"
#include "tools/feed_traffic.h"

namespace atmhealth::bench {
namespace {

using agent::feed::FeedIntake;
using agent::feed::MeterOptions;

// `count` datagrams of realistic traffic, each with `transactions`
// transactions (two lines each).
std::vector<std::string> Datagrams(std::size_t count, int transactions) {
  tools::TrafficGenerator generator(tools::TrafficMix{}, 42);
  std::vector<std::string> datagrams(count);
  for (auto& datagram : datagrams) {
    for (int i = 0; i < transactions; ++i) generator.AppendTransaction(datagram);
  }
  return datagrams;
}

std::int64_t LinesOf(const std::vector<std::string>& datagrams) {
  std::int64_t lines = 0;
  for (const auto& d : datagrams)
    lines += static_cast<std::int64_t>(std::count(d.begin(), d.end(), '\n'));
  return lines;
}

void BM_ParseLine(benchmark::State& state) {
  const auto datagrams = Datagrams(1024, 1);
  agent::feed::StatsdLine line;
  std::size_t i = 0;
  std::int64_t lines = 0;
  for (auto _ : state) {
    platform::TextLines split(datagrams[i++ % datagrams.size()]);
    while (const auto text = split.Next()) {
      benchmark::DoNotOptimize(agent::feed::ParseStatsdLine(*text, line));
      ++lines;
    }
  }
  state.SetItemsProcessed(lines);
}
BENCHMARK(BM_ParseLine);

// Lines per datagram: 2 (one transaction per datagram, the usual client) and
// 32 (a client that batches).
void BM_IntakeDatagram(benchmark::State& state) {
  const auto datagrams = Datagrams(1024, static_cast<int>(state.range(0)) / 2);
  const std::int64_t lines = LinesOf(datagrams);
  MeterOptions options;
  options.capacity_tps = 50;
  FeedIntake intake(options, platform::Clock::Real());
  std::size_t i = 0;
  for (auto _ : state) intake.Datagram(datagrams[i++ % datagrams.size()]);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * lines /
                          static_cast<std::int64_t>(datagrams.size()));
  state.counters["memory_bytes"] = static_cast<double>(intake.MemoryBytes());
}
BENCHMARK(BM_IntakeDatagram)->ArgName("lines")->Arg(2)->Arg(32);

// 10,000 distinct transaction types, one transaction line each, cycling: the
// cap (16 by default, or the argument) holds the memory.
void BM_IntakeDistinctTypes(benchmark::State& state) {
  std::vector<std::string> datagrams;
  for (int t = 0; t < 10'000; ++t) {
    datagrams.push_back("atm.tx:1|c|#type:campaign" + std::to_string(t) + ",result:ok\n" +
                        "atm.tx.latency:180|ms|#type:campaign" + std::to_string(t) + "\n");
  }
  MeterOptions options;
  options.max_types = static_cast<std::size_t>(state.range(0));
  FeedIntake intake(options, platform::Clock::Real());
  std::size_t i = 0;
  for (auto _ : state) intake.Datagram(datagrams[i++ % datagrams.size()]);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 2);
  state.counters["memory_bytes"] = static_cast<double>(intake.MemoryBytes());
  state.counters["types_tracked"] = static_cast<double>(intake.Measure().types.size());
  state.counters["excess_lines"] = static_cast<double>(intake.counters().excess_type_lines);
}
BENCHMARK(BM_IntakeDistinctTypes)->ArgName("max_types")->Arg(16)->Arg(256);

// The kernel's share: one datagram sent and received on a Unix datagram
// socket pair, without (Arg 0) and with (Arg 1) the intake.
void BM_ReceiveDatagram(benchmark::State& state) {
  const auto datagrams = Datagrams(1024, 1);
  const std::int64_t lines = LinesOf(datagrams);
  asio::io_context io;
  asio::local::datagram_protocol::socket sender(io);
  asio::local::datagram_protocol::socket receiver(io);
  asio::local::connect_pair(sender, receiver);
  FeedIntake intake(MeterOptions{}, platform::Clock::Real());
  std::vector<char> buffer(8193);
  std::size_t i = 0;
  for (auto _ : state) {
    sender.send(asio::buffer(datagrams[i++ % datagrams.size()]));
    const std::size_t bytes = receiver.receive(asio::buffer(buffer));
    if (state.range(0) == 1) intake.Datagram(std::string_view(buffer.data(), bytes));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * lines /
                          static_cast<std::int64_t>(datagrams.size()));
}
BENCHMARK(BM_ReceiveDatagram)->ArgName("intake")->Arg(0)->Arg(1);

}  // namespace
}  // namespace atmhealth::bench

BENCHMARK_MAIN();
