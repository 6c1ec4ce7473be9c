// atmhealth-feed: sends realistic transaction-feed traffic to atmhealthd, as
// the ATM application would, so that field engineers and tests can see the
// throughput alerts work. Only parses flags; the traffic is
// tools/feed_traffic.h.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "platform/config_values.h"
#include "tools/feed_traffic.h"

int main(int argc, char** argv) {
  using atmhealth::tools::SendOptions;
  using atmhealth::tools::TrafficMix;
  SendOptions send;
  TrafficMix mix;
  std::string udp;
  std::string types = "withdrawal=50,inquiry=25,deposit=15,transfer=10";
  double duration_s = 10;
  std::uint64_t seed = 1;
  CLI::App app{
      "atmhealth-feed: sends transaction-feed traffic (StatsD/DogStatsD lines: a counter with "
      "type and result and a latency timer per transaction) to atmhealthd's feed socket at a "
      "given rate and mix, for --duration seconds or --count transactions, then prints what it "
      "sent. Exit code 0 when everything was sent, 1 when the receiver dropped datagrams or "
      "was not there, 2 on bad flags.",
      "atmhealth-feed"};
  auto* socket = app.add_option("--socket", send.socket_path,
                                "atmhealthd's Unix datagram socket ([throughput] socket)")
                     ->type_name("PATH");
  app.add_option("--udp", udp, "or UDP to atmhealthd on loopback, e.g. 127.0.0.1:8125")
      ->type_name("HOST:PORT")
      ->excludes(socket);
  app.add_option("--rate", send.rate_tps, "transactions per second")
      ->check(CLI::Range(0.001, 10'000'000.0))
      ->capture_default_str();
  app.add_option("--duration", duration_s, "seconds to send for")
      ->check(CLI::Range(0.01, 86'400.0))
      ->capture_default_str();
  app.add_option("--count", send.max_transactions, "stop after N transactions (0: no limit)")
      ->capture_default_str();
  app.add_option("--types", types, "transaction types and their weights: TYPE=W,TYPE=W,...")
      ->capture_default_str();
  app.add_option("--error-ratio", mix.error_ratio, "share of transactions with result:error")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--decline-ratio", mix.decline_ratio,
                 "share of transactions with result:declined (a customer's refusal, not an error)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--latency-ms", mix.latency_median_ms, "median latency, milliseconds")
      ->check(CLI::Range(0.1, 600'000.0))
      ->capture_default_str();
  app.add_option("--latency-sigma", mix.latency_sigma,
                 "spread of the log-normal latency (0: every latency is the median)")
      ->check(CLI::Range(0.0, 3.0))
      ->capture_default_str();
  app.add_option("--garbage-ratio", mix.garbage_ratio, "share of lines replaced by malformed ones")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--sample-rate", mix.sample_rate,
                 "client-side sampling: send each transaction with this probability, marked @RATE")
      ->check(CLI::Range(0.0001, 1.0))
      ->capture_default_str();
  app.add_option("--max-datagram", send.max_datagram_bytes,
                 "bytes per datagram (lines are batched)")
      ->check(CLI::Range(64, 65'000))
      ->capture_default_str();
  app.add_option("--transaction-metric", mix.transaction_metric)->capture_default_str();
  app.add_option("--latency-metric", mix.latency_metric)->capture_default_str();
  app.add_option("--type-tag", mix.type_tag)->capture_default_str();
  app.add_option("--result-tag", mix.result_tag)->capture_default_str();
  app.add_option("--seed", seed, "random seed: the same seed sends the same lines")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  if (send.socket_path.empty() && udp.empty()) {
    std::fprintf(stderr, "atmhealth-feed: say where to send: --socket PATH or --udp HOST:PORT\n");
    return 2;
  }
  if (mix.error_ratio + mix.decline_ratio > 1) {
    std::fprintf(stderr, "atmhealth-feed: --error-ratio + --decline-ratio is above 1\n");
    return 2;
  }
  if (!udp.empty()) {
    auto address = atmhealth::platform::ParseHostPort(udp);
    if (!address.ok()) {
      std::fprintf(stderr, "atmhealth-feed: --udp: %s\n", address.error().message().c_str());
      return 2;
    }
    send.udp = *address;
  }
  auto weights = atmhealth::tools::ParseTypeWeights(types);
  if (!weights.ok()) {
    std::fprintf(stderr, "atmhealth-feed: --types: %s\n", weights.error().message().c_str());
    return 2;
  }
  mix.types = *weights;
  send.duration = std::chrono::milliseconds(static_cast<long>(duration_s * 1000));

  atmhealth::tools::TrafficGenerator generator(mix, seed);
  auto report = atmhealth::tools::SendTraffic(send, generator);
  if (!report.ok()) {
    std::fprintf(stderr, "atmhealth-feed: %s\n", report.error().message().c_str());
    return 2;
  }
  std::printf(
      "{\"transactions\":%llu,\"lines\":%llu,\"garbage_lines\":%llu,\"datagrams\":%llu,"
      "\"dropped_datagrams\":%llu,\"seconds\":%.3f,\"tps\":%.1f}\n",
      static_cast<unsigned long long>(report->transactions),
      static_cast<unsigned long long>(report->lines),
      static_cast<unsigned long long>(report->garbage_lines),
      static_cast<unsigned long long>(report->datagrams),
      static_cast<unsigned long long>(report->dropped_datagrams), report->seconds,
      report->seconds > 0 ? static_cast<double>(report->transactions) / report->seconds : 0.0);
  return report->dropped_datagrams == 0 ? 0 : 1;
}
