#include "tools/feed_traffic.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "agent/feed/feed_receiver.h"
#include "platform/asio.h"

namespace atmhealth::tools {
namespace {

// Malformed lines as broken clients write them (see the reasons in
// agent/feed/statsd_line.h).
const char* const kGarbage[] = {
    "atm.tx|c",
    "atm.tx:abc|c|#type:withdrawal",
    "atm.tx:1|zz",
    ":1|c",
    "atm.tx:1|c|#type",
    "atm.tx:1|c|@x|#type:withdrawal",
    "atm.tx.latency:-5|ms",
    "atm.tx:1e309|c",
    "\x01\x02\xff\xfe binary noise",
};

std::discrete_distribution<std::size_t> TypeDistribution(const TrafficMix& mix) {
  std::vector<double> weights;
  for (const auto& [type, weight] : mix.types) weights.push_back(weight);
  return std::discrete_distribution<std::size_t>(weights.begin(), weights.end());
}

}  // namespace

Result<std::vector<std::pair<std::string, double>>> ParseTypeWeights(const std::string& text) {
  std::vector<std::pair<std::string, double>> types;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    const std::size_t equals = item.find('=');
    std::pair<std::string, double> type{item.substr(0, equals), 1};
    if (equals != std::string::npos) {
      char* end = nullptr;
      type.second = std::strtod(item.c_str() + equals + 1, &end);
      if (end == item.c_str() + equals + 1 || *end != '\0' || !(type.second > 0)) {
        return Error(ErrorCode::kInvalidArgument,
                     "\"" + item + "\": the weight must be a positive number");
      }
    }
    if (type.first.empty()) {
      return Error(ErrorCode::kInvalidArgument, "\"" + text + "\": an empty type name");
    }
    types.push_back(std::move(type));
    start = comma + 1;
  }
  return types;
}

TrafficGenerator::TrafficGenerator(TrafficMix mix, std::uint64_t seed)
    : mix_(std::move(mix)),
      random_(seed),
      type_(TypeDistribution(mix_)),
      latency_(std::log(mix_.latency_median_ms), mix_.latency_sigma) {}

void TrafficGenerator::AppendLine(std::string& out, const std::string& line) {
  if (mix_.garbage_ratio > 0 && unit_(random_) < mix_.garbage_ratio) {
    out += kGarbage[random_() % std::size(kGarbage)];
    ++garbage_lines_;
  } else {
    out += line;
  }
  out += '\n';
}

int TrafficGenerator::AppendTransaction(std::string& out) {
  const std::string& type = mix_.types[type_(random_)].first;
  const double roll = unit_(random_);
  const char* result = roll < mix_.error_ratio                        ? "error"
                       : roll < mix_.error_ratio + mix_.decline_ratio ? "declined"
                                                                      : "ok";
  const double latency = std::round(latency_(random_) * 10) / 10;
  // A sampling client sends one transaction of every 1 / rate.
  if (mix_.sample_rate < 1 && unit_(random_) >= mix_.sample_rate) return 0;
  std::string rate;
  if (mix_.sample_rate < 1) rate = "|@" + std::to_string(mix_.sample_rate);
  char value[32];
  std::snprintf(value, sizeof(value), "%.1f", latency);
  AppendLine(out, mix_.transaction_metric + ":1|c" + rate + "|#" + mix_.type_tag + ":" + type +
                      "," + mix_.result_tag + ":" + result);
  AppendLine(out,
             mix_.latency_metric + ":" + value + "|ms" + rate + "|#" + mix_.type_tag + ":" + type);
  return 2;
}

Result<SendReport> SendTraffic(const SendOptions& options, TrafficGenerator& generator) {
  asio::io_context io;
  asio::local::datagram_protocol::socket local(io);
  asio::ip::udp::socket udp(io);
  asio::ip::udp::endpoint udp_endpoint;
  boost::system::error_code ec;
  if (options.udp) {
    auto endpoint = agent::feed::LoopbackUdpEndpoint(*options.udp);
    if (!endpoint.ok()) return endpoint.error();
    udp_endpoint = *endpoint;
    udp.open(udp_endpoint.protocol(), ec);
  } else {
    local.open(asio::local::datagram_protocol(), ec);
  }
  if (ec) return Error(ErrorCode::kIo, "socket: " + ec.message());
  // A busy receiver drops the datagram rather than stalling the sender, as
  // StatsD clients do.
  if (options.udp) {
    udp.non_blocking(true, ec);
  } else {
    local.non_blocking(true, ec);
  }
  const asio::local::datagram_protocol::endpoint local_endpoint(options.socket_path);

  SendReport report;
  std::string datagram;
  std::string transaction;
  auto flush = [&] {
    if (datagram.empty()) return;
    boost::system::error_code send_error;
    if (options.udp) {
      udp.send_to(asio::buffer(datagram), udp_endpoint, 0, send_error);
    } else {
      local.send_to(asio::buffer(datagram), local_endpoint, 0, send_error);
    }
    ++report.datagrams;
    if (send_error) ++report.dropped_datagrams;
    datagram.clear();
  };

  const auto start = std::chrono::steady_clock::now();
  const auto end = start + options.duration;
  constexpr std::chrono::milliseconds kTick{10};
  for (auto tick = start; tick < end; tick += kTick) {
    std::this_thread::sleep_until(tick);
    const double elapsed = std::chrono::duration<double>(tick + kTick - start).count();
    auto due = static_cast<std::uint64_t>(options.rate_tps * elapsed);
    if (options.max_transactions > 0) due = std::min(due, options.max_transactions);
    while (report.transactions < due) {
      transaction.clear();
      report.lines += static_cast<std::uint64_t>(generator.AppendTransaction(transaction));
      ++report.transactions;
      if (datagram.size() + transaction.size() > options.max_datagram_bytes) flush();
      datagram += transaction;
    }
    flush();
    if (options.max_transactions > 0 && report.transactions >= options.max_transactions) break;
  }
  report.garbage_lines = generator.garbage_lines();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace atmhealth::tools
