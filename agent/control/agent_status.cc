#include "agent/control/agent_status.h"

#include <fmt/format.h>

#include "platform/clock.h"
#include "proto/names.h"

namespace atmhealth::agent::control {
namespace {

std::int64_t UnixNanos(std::chrono::system_clock::time_point at) {
  return at == std::chrono::system_clock::time_point{} ? 0 : platform::UnixNanos(at);
}

// "ok", "warning", "critical", "stale" or "unmeasured".
std::string RuleState(const Rule& rule) {
  if (rule.firing_severity() != v1::SEVERITY_UNSPECIFIED) {
    return wire::ShortName(rule.firing_severity());
  }
  if (rule.stale()) return "stale";
  if (!rule.last_measurement()) return "unmeasured";
  return "ok";
}

nlohmann::json SubjectStatus(const Rule& rule) {
  nlohmann::json subject{{"alert_key", rule.alert_key()}, {"state", RuleState(rule)}};
  if (const auto& last = rule.last_measurement()) {
    subject["value"] = last->value;
    subject["unit"] = wire::ShortName(last->unit);
  }
  return subject;
}

}  // namespace

void ActiveAlerts::Observe(const v1::Event& event) {
  if (event.state() == v1::ALERT_STATE_RESOLVED) {
    alerts_.erase(event.alert_key());
    return;
  }
  if (event.state() != v1::ALERT_STATE_FIRING) return;
  auto [it, added] =
      alerts_.try_emplace(event.alert_key(), Alert{event, event.wall_time_unix_ns()});
  if (!added) it->second.latest = event;
}

nlohmann::json SamplerStatus(const std::vector<WatcherActivity>& watchers, const RuleSet& rules,
                             const ActiveAlerts& alerts,
                             const std::vector<v1::ServiceStatus>& services) {
  nlohmann::json out{{"watchers", nlohmann::json::array()},
                     {"alerts", nlohmann::json::array()},
                     {"services", nlohmann::json::array()}};
  for (const WatcherActivity& watcher : watchers) {
    nlohmann::json subjects = nlohmann::json::array();
    for (const auto& [key, rule] : rules.rules()) {
      if (rule->owner() == watcher.name) subjects.push_back(SubjectStatus(*rule));
    }
    out["watchers"].push_back({{"name", watcher.name},
                               {"interval_ms", watcher.interval.count()},
                               {"samples", watcher.samples},
                               {"last_sample_unix_ns", watcher.last_sample_unix_ns},
                               {"last_measurements", watcher.last_measurements},
                               {"subjects", std::move(subjects)}});
  }
  for (const auto& [key, alert] : alerts.alerts()) {
    const v1::Event& e = alert.latest;
    out["alerts"].push_back({{"alert_key", key},
                             {"kind", wire::ShortName(e.kind())},
                             {"severity", wire::ShortName(e.severity())},
                             {"since_unix_ns", alert.since_unix_ns},
                             {"latest_unix_ns", e.wall_time_unix_ns()},
                             {"value", e.value()},
                             {"threshold", e.threshold()},
                             {"unit", wire::ShortName(e.unit())},
                             {"summary", e.summary()}});
  }
  for (const v1::ServiceStatus& service : services) {
    out["services"].push_back({{"service", wire::ShortName(service.service())},
                               {"state", wire::ShortName(service.state())},
                               {"reason", service.reason()}});
  }
  return out;
}

nlohmann::json BufferStatus(const std::string& path, const EventStoreStats& stats) {
  return {{"path", path},
          {"stored_bytes", stats.stored_bytes},
          {"limit_bytes", stats.limit_bytes},
          {"last_seq", stats.last_seq},
          {"committed_seq", stats.committed_seq},
          {"delivered_seq", stats.delivered_seq},
          {"pending_events", stats.pending_events},
          {"dropped_total", stats.dropped_total},
          {"set_aside_total", stats.set_aside_total},
          {"degraded", stats.degraded}};
}

nlohmann::json LinkStatus(const UplinkLink& link, const UplinkCounters& counters,
                          const EventStoreStats& stats) {
  return {{"endpoint", link.endpoint},
          {"connected", link.connected},
          {"connected_since_unix_ns", link.connected ? UnixNanos(link.connected_since) : 0},
          {"last_ack_seq", link.last_ack_seq},
          {"last_ack_unix_ns", UnixNanos(link.last_ack_at)},
          {"last_error", link.last_error},
          {"backlog_events", stats.backlog_events},
          {"oldest_undelivered_unix_ns", stats.oldest_undelivered_unix_ns.value_or(0)},
          {"connects", counters.connects.load()},
          {"connect_failures", counters.connect_failures.load()},
          {"refusals", counters.refusals.load()}};
}

nlohmann::json ControlStatus(const ControlCounters& counters) {
  return {{"requests", counters.requests.load()},
          {"bad_requests", counters.bad_requests.load()},
          {"failed", counters.failed.load()},
          {"refused", counters.refused.load()}};
}

std::vector<std::string> DegradedReasons(const UplinkLink& link, const EventStoreStats& stats) {
  std::vector<std::string> reasons;
  if (stats.degraded) {
    reasons.push_back(
        fmt::format("buffer not committing: {} events wait in memory", stats.pending_events));
  }
  if (!link.connected) {
    reasons.push_back(link.last_error.empty()
                          ? "collector not connected"
                          : fmt::format("collector not connected: {}", link.last_error));
  }
  return reasons;
}

nlohmann::json ReloadStatus(const ReloadCounters& counters) {
  nlohmann::json reload = {{"applied", counters.applied}, {"refused", counters.refused}};
  if (!counters.last_refusal.empty()) reload["last_refusal"] = counters.last_refusal;
  if (counters.last_unix_ns != 0) reload["last_unix_ns"] = counters.last_unix_ns;
  return reload;
}

nlohmann::json DiagnosticsStatus(const Snapshotter::Counters& counters) {
  nlohmann::json diagnostics = {
      {"taken", counters.taken}, {"skipped", counters.skipped}, {"pending", counters.pending}};
  if (counters.last_unix_ns != 0) diagnostics["last_unix_ns"] = counters.last_unix_ns;
  return diagnostics;
}

}  // namespace atmhealth::agent::control
