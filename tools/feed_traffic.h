// Realistic transaction-feed traffic, as an ATM application sends it: for
// every transaction a counter line with its type and result and a timer line
// with its latency, in the StatsD / DogStatsD format atmhealthd reads, and
// optionally malformed lines mixed in. Deterministic for a given seed.
#ifndef ATMHEALTH_TOOLS_FEED_TRAFFIC_H_
#define ATMHEALTH_TOOLS_FEED_TRAFFIC_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "platform/config_values.h"
#include "platform/status.h"

namespace atmhealth::tools {

struct TrafficMix {
  // (type, weight): how often each transaction type occurs.
  std::vector<std::pair<std::string, double>> types = {
      {"withdrawal", 50}, {"inquiry", 25}, {"deposit", 15}, {"transfer", 10}};
  double error_ratio = 0.01;    // result "error"
  double decline_ratio = 0.03;  // result "declined" (neither success nor error)
  double latency_median_ms = 180;
  double latency_sigma = 0.5;  // of the log-normal latency distribution
  double garbage_ratio = 0;    // of lines replaced by a malformed one
  double sample_rate = 1;      // client-side sampling: send 1 of 1/rate, say so with |@rate
  std::string transaction_metric = "atm.tx";
  std::string latency_metric = "atm.tx.latency";
  std::string type_tag = "type";
  std::string result_tag = "result";
};

// "withdrawal=50,inquiry=25": types and weights; a bare name weighs 1.
Result<std::vector<std::pair<std::string, double>>> ParseTypeWeights(const std::string& text);

class TrafficGenerator {
 public:
  TrafficGenerator(TrafficMix mix, std::uint64_t seed);

  // Appends the lines of one transaction ("\n"-terminated) to `out`; returns
  // how many lines, and counts garbage lines in garbage_lines().
  int AppendTransaction(std::string& out);
  std::uint64_t garbage_lines() const { return garbage_lines_; }

 private:
  void AppendLine(std::string& out, const std::string& line);

  TrafficMix mix_;
  std::mt19937_64 random_;
  std::discrete_distribution<std::size_t> type_;
  std::lognormal_distribution<double> latency_;
  std::uniform_real_distribution<double> unit_{0, 1};
  std::uint64_t garbage_lines_ = 0;
};

struct SendOptions {
  std::string socket_path;                // Unix datagram socket, or
  std::optional<platform::HostPort> udp;  // UDP to a loopback address
  double rate_tps = 10;                   // transactions per second
  std::chrono::milliseconds duration{10000};
  std::uint64_t max_transactions = 0;  // 0: until duration
  std::size_t max_datagram_bytes = 1432;
};

struct SendReport {
  std::uint64_t transactions = 0;
  std::uint64_t lines = 0;
  std::uint64_t garbage_lines = 0;
  std::uint64_t datagrams = 0;
  std::uint64_t dropped_datagrams = 0;  // the receiver's buffer was full, or it was not there
  double seconds = 0;
};

// Sends `generator`'s traffic at options.rate_tps until the duration or the
// count is reached. Fails only if the socket cannot be opened or the UDP
// address is not loopback.
Result<SendReport> SendTraffic(const SendOptions& options, TrafficGenerator& generator);

}  // namespace atmhealth::tools

#endif  // ATMHEALTH_TOOLS_FEED_TRAFFIC_H_
