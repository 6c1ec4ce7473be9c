// The [throughput] section: where the transaction feed is received, what its
// lines mean, the device's capacity and the levels of the throughput alerts.
#ifndef ATMHEALTH_AGENT_WATCH_THROUGHPUT_CONFIG_H_
#define ATMHEALTH_AGENT_WATCH_THROUGHPUT_CONFIG_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/config.h"
#include "agent/config_section.h"
#include "agent/feed/feed_receiver.h"
#include "agent/feed/transaction_meter.h"
#include "agent/watch/business_hours.h"
#include "atmhealth/v1/device.pb.h"

namespace atmhealth::agent {

struct ThroughputConfig final : WatcherSettings {
  ThroughputConfig() { interval = std::chrono::seconds(10); }

  feed::FeedListenOptions
      listen;                // socket, socket_mode, socket_group, udp, max_datagram, receive_buffer
  feed::MeterOptions meter;  // capacity_tps, max_types, [throughput.schema]
  // [throughput.type_capacity]: the transactions per second each type
  // (category) is sized for, e.g. withdrawal = 12; at most max_types entries.
  // A type listed here has its own utilisation alert ("type:withdrawal").
  std::vector<std::pair<std::string, double>> type_capacity;
  feed::Window window = feed::Window::kOneMinute;  // window: "1m" or "5m", what alerts judge

  double utilisation_warning = 80;  // percent of capacity_tps
  double utilisation_critical = 100;
  double utilisation_hysteresis = 5;
  double latency_percentile = 99;  // latency_percentile: 50, 95 or 99
  std::chrono::milliseconds latency_warning{2000};
  std::chrono::milliseconds latency_critical{5000};
  std::chrono::milliseconds latency_hysteresis{200};
  double error_warning = 5;  // percent of transactions with an error result
  double error_critical = 20;
  double error_hysteresis = 1;
  // Latency and error ratio are judged only over at least this many
  // transactions (latency samples) in the window: two failures out of three
  // transactions at night are no error ratio.
  std::size_t min_transactions = 20;
  std::chrono::milliseconds for_duration{60000};        // for: how long a level must hold
  std::vector<v1::CustomerService> impact_unavailable;  // unavailable: lost when critical
  std::vector<v1::CustomerService> impact_degraded;     // degraded: slowed while firing

  // [throughput.business_hours]: when the feed must carry transactions. A
  // feed without any for stall_after inside them is a stall (ALERT_KIND_STALL,
  // at stall_severity); outside them silence is normal. Absent: no stall
  // alert.
  std::optional<BusinessHours> business_hours;
  std::chrono::milliseconds stall_after{std::chrono::minutes(10)};
  v1::Severity stall_severity = v1::SEVERITY_CRITICAL;

  // [throughput.surge]: traffic far above what this hour of this weekday
  // usually carries (ALERT_KIND_SURGE, "surge:all"). The watcher learns the
  // mean tps of each hour of the week (SurgeBaseline, kept in the buffer
  // file) and, for an hour with min_weeks of history, measures the window's
  // tps in percent of it. Absent: no surge alert, nothing learned.
  struct Surge {
    // IANA zone of the hours of the week; empty in the file: the business
    // hours' zone, else the system's.
    std::string time_zone;
    double factor = 3;            // fires at factor x the baseline
    std::size_t min_weeks = 3;    // weeks an hour must have been observed before it may fire
    double min_baseline_tps = 1;  // a quieter baseline counts as this (a quiet night is no surge)
    double hysteresis = 20;       // percent of the baseline
    v1::Severity severity = v1::SEVERITY_WARNING;
    std::chrono::milliseconds for_duration{std::chrono::minutes(5)};
    std::vector<v1::CustomerService>
        impact_unavailable;  // lost when critical (degraded if a warning)
    std::vector<v1::CustomerService> impact_degraded;
  };
  std::optional<Surge> surge;

  std::vector<std::string> Describe() const override;
};

// Reads [throughput]; nullptr when the file has no such section or it is
// empty (no feed).
// Services named in impacts must be among `offered`.
Result<std::shared_ptr<const ThroughputConfig>> ReadThroughputConfig(
    const ConfigSection& section, const std::vector<v1::CustomerService>& offered);

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_WATCH_THROUGHPUT_CONFIG_H_
