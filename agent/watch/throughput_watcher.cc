#include "agent/watch/throughput_watcher.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <utility>

#include "proto/schema_limits.h"

namespace atmhealth::agent {
namespace {

double Percentile(const feed::Measures& m, double percentile) {
  return percentile == 50 ? m.p50_ms : percentile == 95 ? m.p95_ms : m.p99_ms;
}

std::vector<std::pair<std::string, std::string>> Context(const feed::Measures& m,
                                                         const feed::FeedCounters& counters,
                                                         std::string_view window) {
  return {
      {"window", std::string(window)},
      {"tps", fmt::format("{:.2f}", m.tps)},
      {"transactions", fmt::format("{:.0f}", m.transactions)},
      {"error_ratio", fmt::format("{:.4f}", m.error_ratio)},
      {"success_ratio", fmt::format("{:.4f}", m.success_ratio)},
      {"latency_ms", fmt::format("p50 {:.0f}, p95 {:.0f}, p99 {:.0f} ({} samples)", m.p50_ms,
                                 m.p95_ms, m.p99_ms, m.latency_samples)},
      {"utilisation_percent", fmt::format("{:.1f}", m.utilisation_percent)},
      {"feed_bad_lines", std::to_string(counters.bad_lines)},
  };
}

}  // namespace

WatcherKind ThroughputWatcher::Kind() {
  WatcherKind kind;
  kind.section = "throughput";
  kind.parse = [](const ConfigSection& section,
                  const DeviceConfig& device) -> Result<std::shared_ptr<const WatcherSettings>> {
    auto config = ReadThroughputConfig(section, device.services);
    if (!config.ok()) return config.error();
    return std::shared_ptr<const WatcherSettings>(std::move(config).value());
  };
  kind.create = [](const WatcherSettings& settings,
                   const WatcherContext& context) -> Result<std::unique_ptr<Watcher>> {
    auto watcher = Create(dynamic_cast<const ThroughputConfig&>(settings), context.clock,
                          context.throughput_baseline);
    if (!watcher.ok()) return watcher.error();
    for (const auto& line : settings.Describe()) spdlog::info("{}", line);
    return std::unique_ptr<Watcher>(std::move(watcher).value());
  };
  return kind;
}

ThroughputWatcher::ThroughputWatcher(const ThroughputConfig& config, const platform::Clock& clock)
    : config_(config),
      clock_(clock),
      intake_(std::make_unique<feed::FeedIntake>(config.meter, clock)) {}

Result<std::unique_ptr<ThroughputWatcher>> ThroughputWatcher::Create(
    const ThroughputConfig& config, const platform::Clock& clock,
    ThroughputBaselineStore* baseline_store) {
  std::unique_ptr<ThroughputWatcher> watcher(new ThroughputWatcher(config, clock));
  if (config.surge) {
    auto baseline = SurgeBaseline::Create(config.surge->time_zone);
    if (!baseline.ok())
      return Error(baseline.error().code(), "throughput.surge: " + baseline.error().message());
    watcher->surge_ = std::move(baseline).value();
    watcher->baseline_store_ = baseline_store;
    if (baseline_store != nullptr) {
      // A baseline that cannot be read is learned again; the feed still works.
      auto stored = baseline_store->LoadThroughputBaseline();
      if (stored.ok()) {
        watcher->surge_->Restore(*stored);
        spdlog::info("throughput: surge baseline of {} hours of the week read back",
                     stored->size());
      } else {
        spdlog::error("throughput: surge baseline not read, learning it again: {}",
                      stored.error().message());
      }
    }
  }
  auto receiver =
      feed::FeedReceiver::Open(watcher->io_.get_executor(), config.listen, *watcher->intake_);
  if (!receiver.ok())
    return Error(receiver.error().code(), "throughput: " + receiver.error().message());
  watcher->receiver_ = std::move(receiver).value();
  watcher->thread_ = std::thread([io = &watcher->io_] { io->run(); });
  return watcher;
}

ThroughputWatcher::~ThroughputWatcher() {
  asio::post(io_, [receiver = receiver_] { receiver->Close(); });
  if (thread_.joinable()) thread_.join();  // run() returns once the sockets are closed
}

void ThroughputWatcher::Sample(std::vector<Measurement>& out) {
  const feed::MeterReport report = intake_->Measure();
  const feed::FeedCounters counters = intake_->counters();
  const bool short_window = config_.window == feed::Window::kOneMinute;
  const std::string_view window = short_window ? "1m" : "5m";
  const auto pick = [short_window](const feed::Measures& one, const feed::Measures& five) {
    return short_window ? one : five;
  };
  const auto judge = [&](const std::string& subject, const feed::Measures& m) {
    const auto context = Context(m, counters, window);
    if (m.latency_samples >= config_.min_transactions) {
      out.emplace_back(v1::ALERT_KIND_LATENCY, subject, Percentile(m, config_.latency_percentile),
                       v1::UNIT_MILLISECONDS, context);
    }
    if (m.transactions >= static_cast<double>(config_.min_transactions)) {
      out.emplace_back(v1::ALERT_KIND_ERROR_RATIO, subject, 100 * m.error_ratio, v1::UNIT_PERCENT,
                       context);
    }
  };
  const feed::Measures& all = pick(report.one_minute, report.five_minutes);
  out.emplace_back(v1::ALERT_KIND_THROUGHPUT_CAPACITY, std::string(kAll), all.utilisation_percent,
                   v1::UNIT_PERCENT, Context(all, counters, window));
  judge(std::string(kAll), all);
  types_.clear();
  for (const auto& type : report.types) {
    types_.push_back(TypeSubject(type.type));
    judge(types_.back(), pick(type.one_minute, type.five_minutes));
  }
  MeasureStall(counters.transaction_lines, out);
  if (surge_) MeasureSurge(report, all, out);
  // Each type sized on its own is measured every sample, 0 while it is idle,
  // so its alert resolves by itself when its traffic stops.
  for (const auto& [type, capacity] : config_.type_capacity) {
    feed::Measures measures;
    for (const auto& measured : report.types) {
      if (measured.type == type) measures = pick(measured.one_minute, measured.five_minutes);
    }
    measures.utilisation_percent = 100 * measures.tps / capacity;
    auto context = Context(measures, counters, window);
    context.emplace_back("capacity_tps", FormatNumber(capacity));
    out.emplace_back(v1::ALERT_KIND_THROUGHPUT_CAPACITY, TypeSubject(type),
                     measures.utilisation_percent, v1::UNIT_PERCENT, std::move(context));
  }
}

void ThroughputWatcher::MeasureStall(std::uint64_t transactions, std::vector<Measurement>& out) {
  if (!config_.business_hours) return;
  // The first sample is measured too: silence is counted from the start.
  const bool carried = transactions != last_transaction_lines_ || first_sample_;
  first_sample_ = false;
  last_transaction_lines_ = transactions;
  const bool open = config_.business_hours->Contains(clock_.WallNow());
  if (open && !carried) return;
  out.emplace_back(v1::ALERT_KIND_STALL, std::string(kAll), 0, v1::UNIT_SECONDS,
                   std::vector<std::pair<std::string, std::string>>{
                       {"business_hours", config_.business_hours->Describe()},
                       {"open_now", open ? "yes" : "no"}});
}

void ThroughputWatcher::MeasureSurge(const feed::MeterReport& report, const feed::Measures& judged,
                                     std::vector<Measurement>& out) {
  const ThroughputConfig::Surge& surge = *config_.surge;
  const auto wall = clock_.WallNow();
  const auto monotonic = clock_.MonotonicNow();
  double seconds = 0;
  if (last_surge_sample_) {
    seconds = std::chrono::duration<double>(monotonic - *last_surge_sample_).count();
    // A gap of several intervals (the sampler held up, the machine asleep)
    // is not traffic observed.
    if (seconds > 3 * std::chrono::duration<double>(config_.interval).count()) seconds = 0;
  }
  last_surge_sample_ = monotonic;
  if (auto folded = surge_->Observe(wall, report.one_minute.tps, seconds)) {
    if (baseline_store_ != nullptr) {
      // Kept in memory either way; the next hour saves again.
      if (Status saved = baseline_store_->SaveThroughputBaselineHour(*folded); !saved.ok()) {
        spdlog::warn("throughput: surge baseline of hour {} not saved: {}", folded->hour_of_week,
                     saved.error().message());
      }
    }
  }
  const int hour_of_week = surge_->HourOfWeek(wall);
  const BaselineHour& hour = surge_->Hour(hour_of_week);
  if (hour.weeks < surge.min_weeks) return;
  const double baseline = std::max(hour.mean_tps, surge.min_baseline_tps);
  static constexpr const char* kDays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
  out.emplace_back(v1::ALERT_KIND_SURGE, std::string(kAll), 100 * judged.tps / baseline,
                   v1::UNIT_PERCENT,
                   std::vector<std::pair<std::string, std::string>>{
                       {"tps", fmt::format("{:.2f}", judged.tps)},
                       {"baseline_tps", fmt::format("{:.2f}", hour.mean_tps)},
                       {"baseline_weeks", std::to_string(hour.weeks)},
                       {"hour_of_week", fmt::format("{} {:02}:00 {}", kDays[hour_of_week / 24],
                                                    hour_of_week % 24, surge_->zone_name())}});
}

void ThroughputWatcher::ReportHealth(v1::AgentHealth& health) const {
  static_assert(feed::kLineErrorCount <= wire::kMaxFeedReasons);
  const feed::FeedCounters counters = intake_->counters();
  const feed::MeterReport report = intake_->Measure();
  v1::FeedHealth& feed = *health.mutable_feed();
  feed.set_lines_total(counters.lines);
  feed.set_bad_lines_total(counters.bad_lines);
  for (std::size_t reason = 0; reason < counters.bad_lines_by_reason.size(); ++reason) {
    if (counters.bad_lines_by_reason[reason] == 0) continue;
    v1::FeedBadLines& bad = *feed.add_bad_lines();
    bad.set_reason(wire::SchemaText(feed::LineErrorName(static_cast<feed::LineError>(reason)),
                                    wire::kMaxFeedReasonBytes));
    bad.set_count(counters.bad_lines_by_reason[reason]);
  }
  feed.set_excess_type_lines_total(counters.excess_type_lines);
  feed.set_tps(report.one_minute.tps);
  feed.set_error_ratio(report.one_minute.error_ratio);
  feed.set_p99_ms(report.one_minute.p99_ms);
  for (const feed::TypeMeasures& type : report.types) {
    if (static_cast<std::size_t>(feed.types_size()) == wire::kMaxFeedTypes) break;
    v1::FeedTypeThroughput& out = *feed.add_types();
    out.set_type(wire::SchemaText(type.type, wire::kMaxFeedTypeBytes));
    out.set_tps(type.one_minute.tps);
    out.set_error_ratio(type.one_minute.error_ratio);
    out.set_p99_ms(type.one_minute.p99_ms);
  }
}

std::vector<RuleDefinition> ThroughputWatcher::Rules() const {
  ThresholdSpec capacity(v1::FAILURE_CATEGORY_DAILY_OPERATION_VOLUME);
  capacity.warning = config_.utilisation_warning;
  capacity.critical = config_.utilisation_critical;
  capacity.hysteresis = config_.utilisation_hysteresis;
  capacity.for_duration = config_.for_duration;
  capacity.impact_unavailable = config_.impact_unavailable;
  capacity.impact_degraded = config_.impact_degraded;
  // A feed that stops is not judged here: utilisation is measured every
  // sample (0 when idle), so the capacity alert resolves by itself.

  ThresholdSpec latency = capacity;
  latency.warning = static_cast<double>(config_.latency_warning.count());
  latency.critical = static_cast<double>(config_.latency_critical.count());
  latency.hysteresis = static_cast<double>(config_.latency_hysteresis.count());
  // Too few transactions to judge: the alert resolves rather than stays.
  latency.staleness.after = 3 * config_.interval;
  latency.staleness.outcome = Staleness::Outcome::kResolve;

  ThresholdSpec errors = latency;
  errors.warning = config_.error_warning;
  errors.critical = config_.error_critical;
  errors.hysteresis = config_.error_hysteresis;

  std::vector<RuleDefinition> rules;
  if (config_.business_hours) {
    // Measured as 0 s while the feed carries transactions or business is
    // closed; the silence itself fires it.
    ThresholdSpec stall(v1::FAILURE_CATEGORY_DAILY_OPERATION_VOLUME);
    stall.warning = stall.critical = std::chrono::duration<double>(config_.stall_after).count();
    stall.impact_unavailable = config_.impact_unavailable;
    stall.impact_degraded = config_.impact_degraded;
    stall.staleness.after = config_.stall_after;
    stall.staleness.outcome = Staleness::Outcome::kFire;
    stall.staleness.severity = config_.stall_severity;
    rules.push_back({v1::ALERT_KIND_STALL, std::string(kAll), stall});
  }
  if (config_.surge) {
    const ThroughputConfig::Surge& s = *config_.surge;
    ThresholdSpec surge(v1::FAILURE_CATEGORY_DAILY_OPERATION_VOLUME);
    surge.warning = 100 * s.factor;
    // A warning never becomes critical; a critical surge is critical at once.
    surge.critical = s.severity == v1::SEVERITY_CRITICAL ? surge.warning
                                                         : std::numeric_limits<double>::infinity();
    surge.hysteresis = s.hysteresis;
    surge.for_duration = s.for_duration;
    surge.impact_unavailable = s.impact_unavailable;
    surge.impact_degraded = s.impact_degraded;
    // An hour without enough history is not judged: the alert resolves.
    surge.staleness.after = 3 * config_.interval;
    surge.staleness.outcome = Staleness::Outcome::kResolve;
    rules.push_back({v1::ALERT_KIND_SURGE, std::string(kAll), surge});
  }
  rules.push_back({v1::ALERT_KIND_THROUGHPUT_CAPACITY, std::string(kAll), capacity});
  rules.push_back({v1::ALERT_KIND_LATENCY, std::string(kAll), latency});
  rules.push_back({v1::ALERT_KIND_ERROR_RATIO, std::string(kAll), errors});
  for (const auto& type_capacity : config_.type_capacity) {
    rules.push_back(
        {v1::ALERT_KIND_THROUGHPUT_CAPACITY, TypeSubject(type_capacity.first), capacity});
  }
  for (const auto& type : types_) {
    rules.push_back({v1::ALERT_KIND_LATENCY, type, latency});
    rules.push_back({v1::ALERT_KIND_ERROR_RATIO, type, errors});
  }
  return rules;
}

}  // namespace atmhealth::agent
