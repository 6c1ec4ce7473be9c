#include "collector/fleet/fleet_state.h"

#include <algorithm>

#include "proto/drill_mark.h"

namespace atmhealth::collector::fleet {
namespace {

constexpr std::int64_t kNanosPerMilli = 1'000'000;

std::int64_t ToNanos(std::chrono::milliseconds duration) {
  return static_cast<std::int64_t>(duration.count()) * kNanosPerMilli;
}

const StoredAlert* FindAlert(const StoredDevice& device, std::string_view key) {
  for (const StoredAlert& alert : device.firing) {
    if (alert.alert_key == key) return &alert;
  }
  return nullptr;
}

void DeriveLoad(FleetSnapshot& snapshot) {
  FleetLoad& load = snapshot.load;
  double errors_per_second = 0;
  for (std::size_t index = 0; index < snapshot.devices.size(); ++index) {
    const DeviceView& device = snapshot.devices[index];
    if (!device.reachable || !device.stored.heartbeat || !device.stored.heartbeat->feed) continue;
    const StoredFeed& feed = *device.stored.heartbeat->feed;
    ++load.devices_reporting;
    load.tps += feed.tps;
    errors_per_second += feed.tps * feed.error_ratio;
    load.p99_ms_max = std::max(load.p99_ms_max, feed.p99_ms);
    load.busiest.push_back(index);
  }
  load.error_ratio = load.tps > 0 ? errors_per_second / load.tps : 0;
  const auto tps = [&](std::size_t index) {
    return snapshot.devices[index].stored.heartbeat->feed->tps;
  };
  const std::size_t kept = std::min(load.busiest.size(), FleetLoad::kBusiest);
  std::partial_sort(load.busiest.begin(), load.busiest.begin() + static_cast<std::ptrdiff_t>(kept),
                    load.busiest.end(), [&](std::size_t a, std::size_t b) {
                      return tps(a) != tps(b) ? tps(a) > tps(b) : a < b;
                    });
  load.busiest.resize(kept);
}

}  // namespace

const char* DeviceStateName(DeviceState state) {
  switch (state) {
    case DeviceState::kInService:
      return "in_service";
    case DeviceState::kDegraded:
      return "degraded";
    case DeviceState::kOutOfService:
      return "out_of_service";
    case DeviceState::kUnreachable:
      return "unreachable";
  }
  return "unreachable";
}

std::optional<DeviceState> ParseDeviceState(std::string_view name) {
  for (const DeviceState state : {DeviceState::kInService, DeviceState::kDegraded,
                                  DeviceState::kOutOfService, DeviceState::kUnreachable}) {
    if (name == DeviceStateName(state)) return state;
  }
  return std::nullopt;
}

bool StoredAlert::drill() const { return wire::IsDrillSummary(summary); }

bool DeviceView::impaired() const {
  if (pending) return false;
  if (state != DeviceState::kInService) return true;
  return std::any_of(stored.firing.begin(), stored.firing.end(), [](const StoredAlert& alert) {
    return alert.severity == "critical" && !alert.drill();
  });
}

std::optional<std::int64_t> DeviceView::impaired_since_unix_ns() const {
  if (!reachable) return unreachable_since_unix_ns;
  std::optional<std::int64_t> since;
  for (const ServiceView& service : services) {
    if (service.state == "in_service" || !service.since_unix_ns) continue;
    since = since ? std::min(*since, *service.since_unix_ns) : *service.since_unix_ns;
  }
  return since;
}

const ServiceView* DeviceView::Service(std::string_view name) const {
  for (const ServiceView& service : services) {
    if (service.service == name) return &service;
  }
  return nullptr;
}

void StateCounts::Add(DeviceState state) {
  switch (state) {
    case DeviceState::kInService:
      ++in_service;
      break;
    case DeviceState::kDegraded:
      ++degraded;
      break;
    case DeviceState::kOutOfService:
      ++out_of_service;
      break;
    case DeviceState::kUnreachable:
      ++unreachable;
      break;
  }
}

const DeviceView* FleetSnapshot::Find(std::string_view device_id) const {
  const auto found = device_index.find(device_id);
  return found == device_index.end() ? nullptr : &devices[found->second];
}

FleetSnapshot DeriveFleet(std::vector<StoredDevice> devices,
                          std::shared_ptr<const SiteRegistry> sites, const FleetRules& rules,
                          std::int64_t now_unix_ns) {
  FleetSnapshot snapshot;
  snapshot.at_unix_ns = now_unix_ns;
  snapshot.sites = sites != nullptr ? std::move(sites) : std::make_shared<const SiteRegistry>();
  std::sort(devices.begin(), devices.end(),
            [](const StoredDevice& a, const StoredDevice& b) { return a.device_id < b.device_id; });
  for (const std::string_view service : kCustomerServices) {
    snapshot.services.push_back(ServiceCounts{std::string(service)});
  }

  std::map<std::string, std::size_t> site_slots;
  for (const Site& site : snapshot.sites->sites()) {
    site_slots.emplace(site.id, snapshot.site_views.size());
    snapshot.site_views.push_back(SiteView{site.id, &site, {}, {}});
  }

  snapshot.devices.reserve(devices.size());
  for (StoredDevice& stored : devices) {
    DeviceView view;
    view.stored = std::move(stored);
    const StoredDevice& device = view.stored;
    view.site = snapshot.sites->Find(device.site_id);

    if (device.heartbeat) {
      const std::int64_t interval = device.heartbeat->interval_ms > 0
                                        ? device.heartbeat->interval_ms * kNanosPerMilli
                                        : ToNanos(rules.default_interval);
      const std::int64_t overdue_at =
          device.heartbeat->received_unix_ns + interval * std::max(1, rules.missed_heartbeats);
      view.reachable = now_unix_ns < overdue_at;
      if (!view.reachable) view.unreachable_since_unix_ns = overdue_at;
    } else {
      const std::int64_t overdue_at =
          device.last_hello_unix_ns + ToNanos(rules.first_heartbeat_grace);
      view.reachable = false;
      view.pending = now_unix_ns < overdue_at;
      if (!view.pending) view.unreachable_since_unix_ns = overdue_at;
    }

    bool any_out = false;
    bool any_degraded = false;
    for (const StoredService& service : device.services) {
      ServiceView out;
      out.service = service.service;
      if (view.reachable) {
        out.state = service.state;
        out.since_unix_ns = service.since_unix_ns;
        out.reason = service.reason;
        if (const StoredAlert* alert = FindAlert(device, service.reason)) {
          out.reason_summary = alert->summary;
        }
        any_out |= service.state == "out_of_service";
        any_degraded |= service.state == "degraded";
      } else {
        out.state = "unknown";
        out.since_unix_ns = view.unreachable_since_unix_ns;
        out.reason = "unreachable";
        out.reason_summary = view.pending ? "connected, no heartbeat yet"
                                          : "no heartbeat within the announced interval";
      }
      view.services.push_back(std::move(out));
    }
    std::sort(view.services.begin(), view.services.end(),
              [](const ServiceView& a, const ServiceView& b) { return a.service < b.service; });
    view.state = !view.reachable ? DeviceState::kUnreachable
                 : any_out       ? DeviceState::kOutOfService
                 : any_degraded  ? DeviceState::kDegraded
                                 : DeviceState::kInService;

    const std::size_t index = snapshot.devices.size();
    snapshot.device_index.emplace(device.device_id, index);
    snapshot.counts.Add(view.state);
    for (const ServiceView& service : view.services) {
      for (ServiceCounts& counts : snapshot.services) {
        if (counts.service != service.service) continue;
        if (service.state == "in_service") ++counts.in_service;
        if (service.state == "degraded") ++counts.degraded;
        if (service.state == "out_of_service") ++counts.out_of_service;
        if (service.state == "unknown") ++counts.unknown;
      }
    }
    if (view.site == nullptr) ++snapshot.devices_without_registered_site;
    auto [slot, added] = site_slots.emplace(device.site_id, snapshot.site_views.size());
    if (added) snapshot.site_views.push_back(SiteView{device.site_id, nullptr, {}, {}});
    snapshot.site_views[slot->second].devices.push_back(index);
    snapshot.site_views[slot->second].counts.Add(view.state);
    snapshot.devices.push_back(std::move(view));
  }
  DeriveLoad(snapshot);
  return snapshot;
}

}  // namespace atmhealth::collector::fleet
