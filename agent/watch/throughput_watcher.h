// The throughput watcher: the third of the FSA's daily-operation failure
// causes (transaction volume beyond capacity), seen from the device. It owns
// the transaction feed (agent/feed/): a receiver on its own thread takes the
// ATM application's datagrams, and every sample turns the meter's window
// into measurements:
//   ALERT_KIND_THROUGHPUT_CAPACITY  all          utilisation of capacity_tps (UNIT_PERCENT)
//   ALERT_KIND_LATENCY              all, type:<t>  the configured percentile (UNIT_MILLISECONDS)
//   ALERT_KIND_ERROR_RATIO          all, type:<t>  percent of transactions with an error result
//   ALERT_KIND_THROUGHPUT_CAPACITY  type:<t>     utilisation of the type's own capacity
//   ALERT_KIND_STALL                all          with business hours: not measured while the
//                                                feed is silent inside them (0 s otherwise),
//                                                so the rule's staleness fires after stall_after
//   ALERT_KIND_SURGE                all          with [throughput.surge]: the window's tps in
//                                                percent of the usual tps of this hour of the
//                                                week, once that hour has min_weeks of history
// Latency and error ratio only over at least min_transactions; with fewer,
// the subject is not measured and its alert resolves after three intervals.
// Each measurement carries tps, ratios and percentiles as context.
#ifndef ATMHEALTH_AGENT_WATCH_THROUGHPUT_WATCHER_H_
#define ATMHEALTH_AGENT_WATCH_THROUGHPUT_WATCHER_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "agent/feed/feed_intake.h"
#include "agent/feed/feed_receiver.h"
#include "agent/store/throughput_baseline.h"
#include "agent/watch/surge_baseline.h"
#include "agent/watch/throughput_config.h"
#include "agent/watch/watcher.h"
#include "agent/watch/watcher_registry.h"
#include "platform/asio.h"
#include "platform/clock.h"

namespace atmhealth::agent {

// Not thread-safe: sampled by one thread (the feed has its own).
class ThroughputWatcher final : public Watcher {
 public:
  static WatcherKind Kind();
  // Opens the feed's sockets and starts receiving. `clock` must outlive the
  // watcher, and so must `baseline_store` (where the surge baseline is kept;
  // null: learned in memory only), which is used on the sampling thread.
  static Result<std::unique_ptr<ThroughputWatcher>> Create(
      const ThroughputConfig& config, const platform::Clock& clock,
      ThroughputBaselineStore* baseline_store = nullptr);
  ~ThroughputWatcher() override;

  std::string_view name() const override { return "throughput"; }
  void Sample(std::vector<Measurement>& out) override;
  std::vector<RuleDefinition> Rules() const override;
  // The feed's counters, refused lines by reason and the last minute's load,
  // overall and per type, cut to the schema's bounds.
  void ReportHealth(v1::AgentHealth& health) const override;

  // The subject of the measures of all types together.
  static constexpr std::string_view kAll = "all";
  // The subject of the measures of one transaction type: "type:withdrawal".
  static std::string TypeSubject(std::string_view type) { return "type:" + std::string(type); }

  const feed::FeedIntake& intake() const { return *intake_; }
  std::uint16_t udp_port() const { return receiver_->udp_port(); }

 private:
  ThroughputWatcher(const ThroughputConfig& config, const platform::Clock& clock);

  // The stall measurement: reported unless the feed has carried no
  // transaction since the last sample inside business hours, so that a
  // silent feed goes stale and fires by itself (RuleSet::Tick).
  void MeasureStall(std::uint64_t transactions, std::vector<Measurement>& out);
  // Learns the hour's traffic from the one-minute tps and measures `judged`
  // (the configured window's) against the hour's baseline.
  void MeasureSurge(const feed::MeterReport& report, const feed::Measures& judged,
                    std::vector<Measurement>& out);

  ThroughputConfig config_;
  const platform::Clock& clock_;
  std::uint64_t last_transaction_lines_ = 0;
  bool first_sample_ = true;
  std::unique_ptr<feed::FeedIntake> intake_;
  asio::io_context io_{1};
  std::shared_ptr<feed::FeedReceiver> receiver_;
  std::thread thread_;
  std::vector<std::string> types_;      // the types of the last sample, for Rules()
  std::optional<SurgeBaseline> surge_;  // with [throughput.surge]
  ThroughputBaselineStore* baseline_store_ = nullptr;
  std::optional<std::chrono::steady_clock::time_point> last_surge_sample_;
};

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_WATCH_THROUGHPUT_WATCHER_H_
