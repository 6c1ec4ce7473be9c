#include "collector/fleet/fleet_monitor.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "collector/fleet/fleet_json.h"

namespace atmhealth::collector::fleet {
namespace {

using nlohmann::json;

// What a dashboard shows of a device, without what changes with every
// heartbeat: a device event is published only when this changes.
std::string DeviceSignature(const DeviceView& device, std::int64_t incident_id) {
  std::string signature = fmt::format("{}|{}|{}|{}|", DeviceStateName(device.state),
                                      device.reachable, device.pending, incident_id);
  for (const ServiceView& service : device.services) {
    signature += fmt::format("{}={}@{}:{};", service.service, service.state,
                             service.since_unix_ns.value_or(0), service.reason);
  }
  for (const StoredAlert& alert : device.stored.firing) {
    signature += fmt::format("{}:{};", alert.alert_key, alert.severity);
  }
  return signature;
}

json AlertJson(const DeviceView& device, const StoredAlert& alert, const char* state) {
  return {{"device_id", device.stored.device_id},
          {"site_id", device.stored.site_id},
          {"alert_key", alert.alert_key},
          {"state", state},
          {"kind", alert.kind},
          {"severity", alert.severity},
          {"category", alert.category},
          {"summary", alert.summary},
          {"firing_since", Rfc3339(alert.since_wall_time_unix_ns)}};
}

}  // namespace

std::int64_t FleetView::IncidentOf(std::string_view device_id) const {
  const auto found = incident_of.find(device_id);
  return found == incident_of.end() ? 0 : found->second;
}

json FleetSummaryJson(const FleetView& view) {
  const FleetSnapshot& snapshot = *view.snapshot;
  json services = json::array();
  for (const ServiceCounts& counts : snapshot.services) {
    services.push_back({{"service", counts.service},
                        {"in_service", counts.in_service},
                        {"degraded", counts.degraded},
                        {"out_of_service", counts.out_of_service},
                        {"unknown", counts.unknown}});
  }
  json sites = json::array();
  for (const SiteView& site : snapshot.site_views) {
    sites.push_back({{"site_id", site.site_id},
                     {"name", site.site != nullptr ? json(site.site->name) : json(nullptr)},
                     {"device_count", site.devices.size()},
                     {"by_state", StateCountsJson(site.counts)}});
  }
  std::map<std::string, std::int64_t> by_category;
  for (const Incident& incident : view.open_incidents) {
    for (const std::string& category : incident.categories) ++by_category[category];
  }
  return {{"generated_at", Rfc3339(snapshot.at_unix_ns)},
          {"device_count", snapshot.devices.size()},
          {"by_state", StateCountsJson(snapshot.counts)},
          {"services", services},
          {"sites", sites},
          {"devices_without_registered_site", snapshot.devices_without_registered_site},
          {"incidents_open", view.open_incidents.size()},
          {"incidents_open_by_category", by_category},
          {"tolerance_alerts_firing", view.tolerance_alerts_firing},
          {"load", FleetLoadJson(snapshot)}};
}

Result<std::unique_ptr<FleetMonitor>> FleetMonitor::Open(const std::string& database_path,
                                                         Options options,
                                                         prometheus::Registry& registry,
                                                         const platform::Clock& clock) {
  Result<std::unique_ptr<FleetStore>> store =
      FleetStore::OpenSqlite(database_path, std::chrono::milliseconds(5000));
  if (!store) return store.error();
  return Open(std::move(*store), std::move(options), registry, clock);
}

Result<std::unique_ptr<FleetMonitor>> FleetMonitor::Open(std::unique_ptr<FleetStore> store,
                                                         Options options,
                                                         prometheus::Registry& registry,
                                                         const platform::Clock& clock) {
  std::shared_ptr<const SiteRegistry> sites = std::make_shared<const SiteRegistry>();
  if (!options.sites_file.empty()) {
    Result<SiteRegistry> loaded = SiteRegistry::Load(options.sites_file);
    if (!loaded) return loaded.error();
    spdlog::info("{}: {} sites", options.sites_file.string(), loaded->sites().size());
    sites = std::make_shared<const SiteRegistry>(std::move(*loaded));
  }
  Result<std::vector<Incident>> open = store->ReadIncidents(IncidentQuery{
      .open_only = true, .category = {}, .device_id = {}, .since_unix_ns = 0, .limit = 1 << 30});
  if (!open) return open.error();
  Result<std::int64_t> next_id = store->NextIncidentId();
  if (!next_id) return next_id.error();

  std::unique_ptr<FleetMonitor> monitor(
      new FleetMonitor(std::move(options), std::move(store), registry, clock));
  monitor->sites_ = std::move(sites);
  monitor->tracker_.Restore(std::move(*open), *next_id);
  monitor->restored_ = true;
  monitor->Evaluate();
  return monitor;
}

FleetMonitor::FleetMonitor(Options options, std::unique_ptr<FleetStore> store,
                           prometheus::Registry& registry, const platform::Clock& clock)
    : options_(std::move(options)),
      clock_(clock),
      store_(std::move(store)),
      tracker_(options_.incidents),
      timer_(thread_.get_executor()),
      purge_timer_(thread_.get_executor()),
      devices_(prometheus::BuildGauge()
                   .Name("atmhealth_fleet_devices")
                   .Help("Devices by state (in_service, degraded, out_of_service, unreachable)")
                   .Register(registry)),
      services_(prometheus::BuildGauge()
                    .Name("atmhealth_fleet_services")
                    .Help("Customer services of all devices, by service and state "
                          "(unknown: the device is unreachable)")
                    .Register(registry)),
      alerts_firing_(prometheus::BuildGauge()
                         .Name("atmhealth_fleet_alerts_firing")
                         .Help("Device alerts firing now, by kind and severity")
                         .Register(registry)),
      incidents_open_(prometheus::BuildGauge()
                          .Name("atmhealth_fleet_incidents_open")
                          .Help("Incidents open now")
                          .Register(registry)
                          .Add({})),
      incident_lead_(prometheus::BuildGauge()
                         .Name("atmhealth_fleet_incident_lead")
                         .Help("1 while this collector keeps the incidents (opens, moves and "
                               "numbers them); 0 while it follows another collector's on the "
                               "same database")
                         .Register(registry)
                         .Add({})),
      tolerance_firing_(prometheus::BuildGauge()
                            .Name("atmhealth_fleet_tolerance_alerts_firing")
                            .Help("Impact-tolerance alerts firing, by service and percent of "
                                  "the tolerance passed (50, 100)")
                            .Register(registry)),
      tolerance_raised_(prometheus::BuildCounter()
                            .Name("atmhealth_fleet_tolerance_alerts_raised_total")
                            .Help("Impact-tolerance alerts raised, by service and percent")
                            .Register(registry)),
      evaluation_failures_(prometheus::BuildCounter()
                               .Name("atmhealth_fleet_evaluation_failures_total")
                               .Help("Fleet evaluations that could not read or write the store")
                               .Register(registry)
                               .Add({})),
      database_bytes_(prometheus::BuildGauge()
                          .Name("atmhealth_collector_database_bytes")
                          .Help("Bytes of the collector's database file and write-ahead log")
                          .Register(registry)
                          .Add({})),
      purged_events_(prometheus::BuildCounter()
                         .Name("atmhealth_collector_purged_events_total")
                         .Help("Events deleted by retention ([retention] events)")
                         .Register(registry)
                         .Add({})),
      purged_heartbeats_(prometheus::BuildCounter()
                             .Name("atmhealth_collector_purged_heartbeats_total")
                             .Help("Heartbeat history rows deleted by retention ([retention] "
                                   "events)")
                             .Register(registry)
                             .Add({})),
      purge_failures_(prometheus::BuildCounter()
                          .Name("atmhealth_collector_purge_failures_total")
                          .Help("Retention deletes that failed (retried at the next pass)")
                          .Register(registry)
                          .Add({})) {}

FleetMonitor::~FleetMonitor() { Stop(); }

void FleetMonitor::Start() {
  asio::co_spawn(thread_.get_executor(), Loop(), asio::detached);
  if (options_.retention.events.count() > 0) {
    asio::co_spawn(thread_.get_executor(), PurgeLoop(), asio::detached);
  }
}

void FleetMonitor::Stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
  }
  asio::post(thread_.get_executor(), [this] {
    timer_.cancel();
    purge_timer_.cancel();
  });
  thread_.join();
}

std::shared_ptr<const FleetView> FleetMonitor::Current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

bool FleetMonitor::stopped() const {
  std::lock_guard lock(mutex_);
  return stopped_;
}

// Early evaluations (EvaluateSoon) come at most this often: a fleet whose
// alerts move all the time is evaluated five times a second, not once per
// alert.
constexpr std::chrono::milliseconds kMinEarlyEvaluationGap{200};

asio::awaitable<void> FleetMonitor::Loop() {
  for (;;) {
    if (stopped()) co_return;
    timer_.expires_after(options_.interval);
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopped()) co_return;
    if (ec == asio::error::operation_aborted) {
      // Woken by EvaluateSoon(): at most five evaluations a second.
      const auto due = last_evaluation_ + kMinEarlyEvaluationGap;
      if (std::chrono::steady_clock::now() < due) {
        holding_off_ = true;
        timer_.expires_at(due);
        co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        holding_off_ = false;
        if (stopped()) co_return;
      }
    }
    last_evaluation_ = std::chrono::steady_clock::now();
    Evaluate();
  }
}

void FleetMonitor::EvaluateSoon() {
  asio::post(thread_.get_executor(), [this] {
    if (!holding_off_) timer_.cancel();
  });
}

// Runs on the monitor thread beside Loop(): a batch at a time, so that
// evaluations and API queries run between batches.
asio::awaitable<void> FleetMonitor::PurgeLoop() {
  const Retention& retention = options_.retention;
  for (;;) {
    if (stopped()) co_return;
    purge_timer_.expires_after(retention.interval);
    boost::system::error_code ec;
    co_await purge_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted) co_return;
    const std::int64_t before =
        platform::UnixNanos(clock_.WallNow()) -
        std::chrono::duration_cast<std::chrono::nanoseconds>(retention.events).count();
    FleetStore::Purged pass;
    for (;;) {
      Result<FleetStore::Purged> deleted = store_->Purge(before, retention.batch_rows);
      if (!deleted) {
        purge_failures_.Increment();
        spdlog::warn("retention: not purged, trying again in {} ms: {}", retention.interval.count(),
                     deleted.error().message());
        break;
      }
      pass.events += deleted->events;
      pass.heartbeats += deleted->heartbeats;
      purged_events_.Increment(static_cast<double>(deleted->events));
      purged_heartbeats_.Increment(static_cast<double>(deleted->heartbeats));
      if (std::max(deleted->events, deleted->heartbeats) < retention.batch_rows || stopped()) break;
      purge_timer_.expires_after(retention.pause);
      co_await purge_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted) co_return;
    }
    if (pass.events > 0 || pass.heartbeats > 0) {
      spdlog::info(
          "retention: purged {} events and {} heartbeat history rows received before {} (older "
          "than {} s)",
          pass.events, pass.heartbeats, Rfc3339(before), retention.events.count() / 1000);
    }
  }
}

asio::awaitable<Status> FleetMonitor::ReloadSites() {
  return Query<Status>([this](FleetStore&) -> Status {
    if (options_.sites_file.empty()) {
      return Error(ErrorCode::kNotFound, "no sites file is configured ([fleet] sites_file)");
    }
    Result<SiteRegistry> loaded = SiteRegistry::Load(options_.sites_file);
    if (!loaded) {
      spdlog::warn("sites file not reloaded, the registry in use stays: {}",
                   loaded.error().message());
      return loaded.error();
    }
    spdlog::info("{}: reloaded, {} sites", options_.sites_file.string(), loaded->sites().size());
    sites_ = std::make_shared<const SiteRegistry>(std::move(*loaded));
    return OkStatus();
  });
}

void FleetMonitor::Evaluate() {
  const std::int64_t now = platform::UnixNanos(clock_.WallNow());
  Result<std::vector<StoredDevice>> rows = store_->ReadDevices();
  if (rows) {
    last_rows_ = std::move(*rows);
  } else {
    evaluation_failures_.Increment();
    spdlog::warn("fleet state: judging the devices read before, at the new time: {}",
                 rows.error().message());
  }
  auto snapshot =
      std::make_shared<FleetSnapshot>(DeriveFleet(last_rows_, sites_, options_.rules, now));
  snapshot->version = ++version_;

  const bool leading = HoldIncidentLead();
  const IncidentChanges changes = leading ? tracker_.Update(*snapshot) : FollowIncidents(now);
  const std::map<std::int64_t, Incident>& incidents = leading ? tracker_.incidents() : followed_;
  Status saved = OkStatus();
  if (leading) saved = SaveIncidents(changes, now);

  auto view = std::make_shared<FleetView>();
  view->snapshot = snapshot;
  for (const auto& [id, incident] : incidents) {
    if (!incident.open()) continue;
    view->open_incidents.push_back(incident);
    for (const IncidentDevice& device : incident.devices) {
      if (!device.recovered_unix_ns) view->incident_of[device.device_id] = id;
    }
    for (const ToleranceAlert& alert : incident.tolerance_alerts) {
      view->tolerance_alerts_firing += alert.firing() ? 1 : 0;
    }
  }

  std::shared_ptr<const FleetView> before;
  {
    std::lock_guard lock(mutex_);
    before = std::move(current_);
    current_ = view;
  }
  if (options_.publish) {
    Publish(before != nullptr ? before->snapshot.get() : nullptr, *view, changes, incidents);
  }
  UpdateMetrics(*view);
  incident_lead_.Set(leading ? 1 : 0);
  if (leading && saved) tracker_.DropEnded();
}

bool FleetMonitor::HoldIncidentLead() {
  Result<bool> held = store_->HoldIncidentLead();
  if (!held) {
    evaluation_failures_.Increment();
    spdlog::warn("fleet state: incidents: cannot tell which collector keeps them: {}",
                 held.error().message());
  }
  const bool leading = held && *held;
  if (leading) following_ = false;
  if (leading && !restored_) {
    // Taking over from another collector: carry on the incidents it saved,
    // numbering after its highest.
    Result<std::vector<Incident>> open = store_->ReadIncidents(IncidentQuery{
        .open_only = true, .category = {}, .device_id = {}, .since_unix_ns = 0, .limit = 1 << 30});
    Result<std::int64_t> next_id = open ? store_->NextIncidentId() : open.error();
    if (!open || !next_id) {
      evaluation_failures_.Increment();
      spdlog::warn("fleet state: incidents: not taken over yet, the saved ones cannot be read: {}",
                   (!open ? open.error() : next_id.error()).message());
      return false;
    }
    spdlog::info("fleet state: incidents: this collector keeps them now ({} open, the next is {})",
                 open->size(), *next_id);
    tracker_.Restore(std::move(*open), *next_id);
    restored_ = true;
  }
  if (!leading && restored_) {
    if (leading_) {
      spdlog::warn("fleet state: incidents: another collector keeps them now; following it");
    }
    // What this collector did not save is the new keeper's to judge again.
    restored_ = false;
    unsaved_.clear();
    unsaved_removed_.clear();
    followed_.clear();
  }
  leading_ = leading;
  return leading;
}

// Kept incidents are saved in one transaction; what cannot be saved stays
// in memory and goes with the next save.
Status FleetMonitor::SaveIncidents(const IncidentChanges& changes, std::int64_t now) {
  unsaved_.insert(changes.changed.begin(), changes.changed.end());
  for (const auto& [gone, into] : changes.merged) {
    unsaved_removed_.insert(gone);
    unsaved_.erase(gone);
  }
  std::vector<const Incident*> changed;
  for (const std::int64_t id : unsaved_) {
    if (const Incident* incident = tracker_.Find(id)) changed.push_back(incident);
  }
  const Status saved = store_->SaveIncidents(
      changed, std::vector<std::int64_t>(unsaved_removed_.begin(), unsaved_removed_.end()));
  if (saved) {
    unsaved_.clear();
    unsaved_removed_.clear();
  } else {
    evaluation_failures_.Increment();
    spdlog::warn(
        "fleet state: incidents not saved, kept in memory and saved with the next "
        "change: {}",
        saved.error().message());
  }
  for (const auto& [id, alert] : changes.tolerance) {
    if (alert.firing()) {
      tolerance_raised_
          .Add({{"service", alert.service}, {"percent", std::to_string(alert.percent)}})
          .Increment();
      spdlog::warn("incident {}: {} out for {} s: {} % of its impact tolerance ({} s)", id,
                   alert.service, (now - alert.outage_since_unix_ns) / 1'000'000'000, alert.percent,
                   alert.tolerance_ms / 1000);
    } else {
      spdlog::info("incident {}: {} is back; the {} % tolerance alert is resolved", id,
                   alert.service, alert.percent);
    }
  }

  return saved;
}

IncidentChanges FleetMonitor::FollowIncidents(std::int64_t now) {
  IncidentChanges changes;
  // The open incidents and those ended lately (by the keeper's clock,
  // which may differ from this one by some seconds), as the keeper saved
  // them.
  constexpr std::int64_t kEndedLately = 600'000'000'000;
  Result<std::vector<Incident>> read =
      store_->ReadIncidents(IncidentQuery{.open_only = false,
                                          .category = {},
                                          .device_id = {},
                                          .since_unix_ns = now - kEndedLately,
                                          .limit = 1 << 30});
  if (!read) {
    evaluation_failures_.Increment();
    spdlog::warn("fleet state: incidents: showing those read before: {}", read.error().message());
    return changes;
  }
  std::map<std::int64_t, Incident> latest;
  for (Incident& incident : *read) latest.emplace(incident.id, std::move(incident));
  // The first read after starting to follow only says where things are.
  const bool first = !following_;
  following_ = true;
  for (const auto& [id, incident] : latest) {
    const auto old = followed_.find(id);
    if (first ||
        (old != followed_.end() && old->second.updated_unix_ns == incident.updated_unix_ns)) {
      continue;
    }
    changes.changed.push_back(id);
    for (const ToleranceAlert& alert : incident.tolerance_alerts) {
      const bool seen =
          old != followed_.end() &&
          std::any_of(old->second.tolerance_alerts.begin(), old->second.tolerance_alerts.end(),
                      [&](const ToleranceAlert& before) {
                        return before.service == alert.service && before.percent == alert.percent &&
                               before.raised_unix_ns == alert.raised_unix_ns &&
                               before.firing() == alert.firing();
                      });
      if (!seen) changes.tolerance.emplace_back(id, alert);
    }
  }
  // An open incident that is gone was merged into the one its devices are in.
  for (const auto& [id, incident] : followed_) {
    if (!incident.open() || latest.contains(id)) continue;
    for (const auto& [into, other] : latest) {
      const bool shares = std::any_of(
          incident.devices.begin(), incident.devices.end(), [&](const IncidentDevice& device) {
            return std::any_of(
                other.devices.begin(), other.devices.end(),
                [&](const IncidentDevice& mine) { return mine.device_id == device.device_id; });
          });
      if (shares) {
        changes.merged.emplace_back(id, into);
        break;
      }
    }
  }
  followed_ = std::move(latest);
  return changes;
}

void FleetMonitor::Publish(const FleetSnapshot* before, const FleetView& after,
                           const IncidentChanges& changes,
                           const std::map<std::int64_t, Incident>& incidents) {
  bool changed = false;
  for (const DeviceView& device : after.snapshot->devices) {
    const std::int64_t incident = after.IncidentOf(device.stored.device_id);
    const DeviceView* old = before != nullptr ? before->Find(device.stored.device_id) : nullptr;
    // The incident a device was in is not kept in the old snapshot; the
    // signature of the old one uses the incident it has now, so that only
    // the device's own changes (and the incident event) are published.
    if (old != nullptr && DeviceSignature(*old, incident) == DeviceSignature(device, incident)) {
      continue;
    }
    changed = true;
    options_.publish("device", DeviceJson(device, incident));
    std::set<std::string> was_firing;
    if (old != nullptr) {
      for (const StoredAlert& alert : old->stored.firing) was_firing.insert(alert.alert_key);
    }
    for (const StoredAlert& alert : device.stored.firing) {
      if (was_firing.erase(alert.alert_key) == 0) {
        options_.publish("alert", AlertJson(device, alert, "firing"));
      }
    }
    if (old != nullptr) {
      for (const StoredAlert& alert : old->stored.firing) {
        if (was_firing.contains(alert.alert_key)) {
          options_.publish("alert", AlertJson(device, alert, "resolved"));
        }
      }
    }
  }
  for (const auto& [gone, into] : changes.merged) {
    changed = true;
    options_.publish("incident_merged", {{"incident_id", gone}, {"merged_into", into}});
  }
  for (const std::int64_t id : changes.changed) {
    changed = true;
    if (const auto incident = incidents.find(id); incident != incidents.end()) {
      options_.publish("incident", IncidentJson(incident->second, after.snapshot->at_unix_ns));
    }
  }
  for (const auto& [id, alert] : changes.tolerance) {
    changed = true;
    options_.publish("tolerance", ToleranceAlertJson(id, alert));
  }
  // The load changes with heartbeats, not with states: it is published too,
  // at most once per evaluation.
  if (!changed && before != nullptr) {
    changed = FleetLoadJson(*before) != FleetLoadJson(*after.snapshot);
  }
  if (changed) options_.publish("fleet", FleetSummaryJson(after));
}

void FleetMonitor::UpdateMetrics(const FleetView& view) {
  const FleetSnapshot& snapshot = *view.snapshot;
  devices_.Add({{"state", "in_service"}}).Set(static_cast<double>(snapshot.counts.in_service));
  devices_.Add({{"state", "degraded"}}).Set(static_cast<double>(snapshot.counts.degraded));
  devices_.Add({{"state", "out_of_service"}})
      .Set(static_cast<double>(snapshot.counts.out_of_service));
  devices_.Add({{"state", "unreachable"}}).Set(static_cast<double>(snapshot.counts.unreachable));
  for (const ServiceCounts& counts : snapshot.services) {
    services_.Add({{"service", counts.service}, {"state", "in_service"}})
        .Set(static_cast<double>(counts.in_service));
    services_.Add({{"service", counts.service}, {"state", "degraded"}})
        .Set(static_cast<double>(counts.degraded));
    services_.Add({{"service", counts.service}, {"state", "out_of_service"}})
        .Set(static_cast<double>(counts.out_of_service));
    services_.Add({{"service", counts.service}, {"state", "unknown"}})
        .Set(static_cast<double>(counts.unknown));
  }
  std::map<std::map<std::string, std::string>, double> firing;
  for (const DeviceView& device : snapshot.devices) {
    for (const StoredAlert& alert : device.stored.firing) {
      firing[{{"kind", alert.kind}, {"severity", alert.severity}}] += 1;
    }
  }
  for (auto& [labels, seen] : alert_series_) {
    if (!firing.contains(labels)) alerts_firing_.Add(labels).Set(0);
  }
  for (const auto& [labels, count] : firing) {
    alerts_firing_.Add(labels).Set(count);
    alert_series_[labels] = true;
  }
  incidents_open_.Set(static_cast<double>(view.open_incidents.size()));
  std::map<std::pair<std::string, int>, double> tolerance;
  for (const std::string_view service : kCustomerServices) {
    for (const int percent : {50, 100}) tolerance[{std::string(service), percent}] = 0;
  }
  for (const Incident& incident : view.open_incidents) {
    for (const ToleranceAlert& alert : incident.tolerance_alerts) {
      if (alert.firing()) tolerance[{alert.service, alert.percent}] += 1;
    }
  }
  for (const auto& [key, count] : tolerance) {
    tolerance_firing_.Add({{"service", key.first}, {"percent", std::to_string(key.second)}})
        .Set(count);
  }
  if (Result<std::int64_t> bytes = store_->DatabaseBytes(); bytes) {
    database_bytes_.Set(static_cast<double>(*bytes));
  }
}

}  // namespace atmhealth::collector::fleet
