#include "collector/fleet/incident_tracker.h"

#include <algorithm>
#include <cstdlib>

namespace atmhealth::collector::fleet {
namespace {

constexpr std::int64_t kNanosPerMilli = 1'000'000;
constexpr int kTolerancePercents[] = {50, 100};

IncidentDevice* FindDevice(Incident& incident, std::string_view device_id) {
  for (IncidentDevice& device : incident.devices) {
    if (device.device_id == device_id) return &device;
  }
  return nullptr;
}

IncidentService* FindService(Incident& incident, std::string_view service) {
  for (IncidentService& entry : incident.services) {
    if (entry.service == service) return &entry;
  }
  return nullptr;
}

template <typename T>
std::optional<T> EarliestOf(const std::optional<T>& a, const std::optional<T>& b) {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

// Alert keys and FSA categories of what the device suffers now.
bool NoteCauses(Incident& incident, const DeviceView& device) {
  bool changed = false;
  for (const StoredAlert& alert : device.stored.firing) {
    if (alert.severity == "info" || alert.drill()) continue;
    changed |= incident.alert_keys.insert(alert.alert_key).second;
    changed |= incident.categories.insert(alert.category).second;
  }
  if (!device.reachable) changed |= incident.categories.insert("unreachable").second;
  return changed;
}

}  // namespace

void IncidentTracker::Restore(std::vector<Incident> open, std::int64_t next_id) {
  incidents_.clear();
  device_incident_.clear();
  next_id_ = std::max<std::int64_t>(next_id, 1);
  for (Incident& incident : open) {
    next_id_ = std::max(next_id_, incident.id + 1);
    for (const IncidentDevice& device : incident.devices) {
      device_incident_[device.device_id] = incident.id;
    }
    incidents_.emplace(incident.id, std::move(incident));
  }
}

const Incident* IncidentTracker::Find(std::int64_t id) const {
  const auto found = incidents_.find(id);
  return found == incidents_.end() ? nullptr : &found->second;
}

std::int64_t IncidentTracker::IncidentOf(std::string_view device_id) const {
  const auto found = device_incident_.find(device_id);
  return found == device_incident_.end() ? 0 : found->second;
}

void IncidentTracker::DropEnded() {
  std::erase_if(incidents_, [](const auto& entry) { return !entry.second.open(); });
}

Incident& IncidentTracker::Open(const DeviceView& device, std::int64_t at,
                                std::vector<std::int64_t>& changed) {
  Incident incident;
  incident.id = next_id_++;
  incident.scope = "device";
  incident.site_id = device.stored.site_id;
  incident.started_unix_ns = at;
  changed.push_back(incident.id);
  return incidents_.emplace(incident.id, std::move(incident)).first->second;
}

void IncidentTracker::MergeInto(Incident& target, Incident& source) {
  target.started_unix_ns = std::min(target.started_unix_ns, source.started_unix_ns);
  for (IncidentDevice& device : source.devices) {
    if (FindDevice(target, device.device_id) != nullptr) continue;
    device_incident_[device.device_id] = target.id;
    target.devices.push_back(std::move(device));
  }
  target.alert_keys.merge(source.alert_keys);
  target.categories.merge(source.categories);
  for (IncidentService& service : source.services) {
    IncidentService* mine = FindService(target, service.service);
    if (mine == nullptr) {
      target.services.push_back(std::move(service));
      continue;
    }
    mine->first_lost_unix_ns = std::min(mine->first_lost_unix_ns, service.first_lost_unix_ns);
    mine->lost_since_unix_ns = EarliestOf(mine->lost_since_unix_ns, service.lost_since_unix_ns);
  }
  for (ToleranceAlert& alert : source.tolerance_alerts) {
    const auto same = std::find_if(target.tolerance_alerts.begin(), target.tolerance_alerts.end(),
                                   [&](const ToleranceAlert& mine) {
                                     return mine.firing() && mine.service == alert.service &&
                                            mine.percent == alert.percent;
                                   });
    if (same == target.tolerance_alerts.end()) {
      target.tolerance_alerts.push_back(std::move(alert));
    } else if (alert.raised_unix_ns < same->raised_unix_ns) {
      *same = std::move(alert);
    }
  }
}

std::int64_t IncidentTracker::ChooseIncident(const DeviceView& device, std::int64_t at,
                                             IncidentChanges& changes) {
  const std::int64_t window = rules_.correlation_window.count() * kNanosPerMilli;
  // 1. A mass failure still gathering devices.
  for (auto& [id, incident] : incidents_) {
    if (!incident.open() || incident.scope != "fleet") continue;
    for (const IncidentDevice& member : incident.devices) {
      if (std::llabs(at - member.joined_unix_ns) <= window) return id;
    }
  }
  // 2. Enough devices failed within the window: one fleet incident.
  std::set<std::int64_t> recent;
  std::size_t failed = 1;  // this device
  for (auto& [id, incident] : incidents_) {
    if (!incident.open()) continue;
    for (const IncidentDevice& member : incident.devices) {
      if (member.recovered_unix_ns || std::llabs(at - member.joined_unix_ns) > window) continue;
      ++failed;
      recent.insert(id);
    }
  }
  if (rules_.correlation_min_devices >= 2 && failed >= rules_.correlation_min_devices &&
      !recent.empty()) {
    Incident& target = incidents_.at(*recent.begin());
    target.scope = "fleet";
    target.site_id.clear();
    for (auto other = std::next(recent.begin()); other != recent.end(); ++other) {
      Incident& source = incidents_.at(*other);
      MergeInto(target, source);
      changes.merged.emplace_back(source.id, target.id);
      incidents_.erase(*other);
    }
    changes.changed.push_back(target.id);
    return target.id;
  }
  // 3. Another device of the same site is down.
  if (!device.stored.site_id.empty()) {
    for (auto& [id, incident] : incidents_) {
      if (!incident.open()) continue;
      for (const IncidentDevice& member : incident.devices) {
        if (member.site_id != device.stored.site_id || member.recovered_unix_ns) continue;
        if (incident.scope == "device") incident.scope = "site";
        changes.changed.push_back(id);
        return id;
      }
    }
  }
  return 0;
}

void IncidentTracker::UpdateServices(Incident& incident, const FleetSnapshot& snapshot,
                                     IncidentChanges& changes) {
  const std::int64_t now = snapshot.at_unix_ns;
  for (const std::string_view name : kCustomerServices) {
    std::int64_t lost_devices = 0;
    std::optional<std::int64_t> since;
    for (const IncidentDevice& member : incident.devices) {
      if (member.recovered_unix_ns) continue;
      const DeviceView* view = snapshot.Find(member.device_id);
      const ServiceView* service = view != nullptr ? view->Service(name) : nullptr;
      if (service == nullptr || !service->lost()) continue;
      ++lost_devices;
      since = EarliestOf(since, std::optional<std::int64_t>(service->since_unix_ns.value_or(now)));
    }
    IncidentService* entry = FindService(incident, name);
    bool changed = false;
    if (lost_devices > 0) {
      if (entry == nullptr) {
        IncidentService created;
        created.service = std::string(name);
        created.first_lost_unix_ns = *since;
        if (const auto tolerance = rules_.tolerance.find(name);
            tolerance != rules_.tolerance.end()) {
          created.tolerance_ms = tolerance->second.count();
        }
        incident.services.push_back(std::move(created));
        entry = &incident.services.back();
        changed = true;
      }
      if (!entry->lost_since_unix_ns || *since < *entry->lost_since_unix_ns) {
        entry->lost_since_unix_ns = since;
        entry->restored_unix_ns.reset();
        changed = true;
      }
      if (entry->devices_lost != lost_devices) {
        entry->devices_lost = lost_devices;
        changed = true;
      }
      if (entry->tolerance_ms && *entry->tolerance_ms > 0) {
        const std::int64_t elapsed = now - *entry->lost_since_unix_ns;
        const std::int64_t tolerance = *entry->tolerance_ms * kNanosPerMilli;
        for (const int percent : kTolerancePercents) {
          if (elapsed * 100 < tolerance * percent) continue;
          const bool raised = std::any_of(
              incident.tolerance_alerts.begin(), incident.tolerance_alerts.end(),
              [&](const ToleranceAlert& alert) {
                return alert.firing() && alert.service == name && alert.percent == percent;
              });
          if (raised) continue;
          ToleranceAlert alert;
          alert.service = std::string(name);
          alert.percent = percent;
          alert.outage_since_unix_ns = *entry->lost_since_unix_ns;
          alert.tolerance_ms = *entry->tolerance_ms;
          alert.raised_unix_ns = now;
          incident.tolerance_alerts.push_back(alert);
          changes.tolerance.emplace_back(incident.id, alert);
          changed = true;
        }
      }
    } else if (entry != nullptr && entry->lost_since_unix_ns) {
      entry->lost_since_unix_ns.reset();
      entry->restored_unix_ns = now;
      entry->devices_lost = 0;
      for (ToleranceAlert& alert : incident.tolerance_alerts) {
        if (alert.service != name || !alert.firing()) continue;
        alert.resolved_unix_ns = now;
        changes.tolerance.emplace_back(incident.id, alert);
      }
      changed = true;
    }
    if (changed) changes.changed.push_back(incident.id);
  }
}

IncidentChanges IncidentTracker::Update(const FleetSnapshot& snapshot) {
  IncidentChanges changes;
  const std::int64_t now = snapshot.at_unix_ns;
  for (const DeviceView& device : snapshot.devices) {
    const std::string& id = device.stored.device_id;
    const auto known = device_incident_.find(id);
    if (device.impaired()) {
      Incident* incident = nullptr;
      if (known != device_incident_.end()) {
        incident = &incidents_.at(known->second);
        IncidentDevice* member = FindDevice(*incident, id);
        if (member != nullptr && member->recovered_unix_ns) {
          member->recovered_unix_ns.reset();
          changes.changed.push_back(incident->id);
        }
      } else {
        const std::int64_t at = std::min(device.impaired_since_unix_ns().value_or(now), now);
        const std::int64_t chosen = ChooseIncident(device, at, changes);
        incident = chosen != 0 ? &incidents_.at(chosen) : &Open(device, at, changes.changed);
        incident->devices.push_back(IncidentDevice{id, device.stored.site_id, at, std::nullopt});
        incident->started_unix_ns = std::min(incident->started_unix_ns, at);
        device_incident_[id] = incident->id;
        changes.changed.push_back(incident->id);
      }
      if (NoteCauses(*incident, device)) changes.changed.push_back(incident->id);
    } else if (known != device_incident_.end()) {
      Incident& incident = incidents_.at(known->second);
      IncidentDevice* member = FindDevice(incident, id);
      if (member != nullptr && !member->recovered_unix_ns) {
        member->recovered_unix_ns = now;
        changes.changed.push_back(incident.id);
      }
    }
  }

  for (auto& [id, incident] : incidents_) {
    if (!incident.open()) continue;
    UpdateServices(incident, snapshot, changes);
    const bool all_recovered =
        std::all_of(incident.devices.begin(), incident.devices.end(),
                    [](const IncidentDevice& device) { return device.recovered_unix_ns; });
    if (all_recovered) {
      incident.ended_unix_ns = now;
      for (const IncidentDevice& device : incident.devices)
        device_incident_.erase(device.device_id);
      changes.changed.push_back(id);
    }
  }

  std::sort(changes.changed.begin(), changes.changed.end());
  changes.changed.erase(std::unique(changes.changed.begin(), changes.changed.end()),
                        changes.changed.end());
  std::erase_if(changes.changed, [this](std::int64_t id) { return !incidents_.contains(id); });
  for (const std::int64_t id : changes.changed) incidents_.at(id).updated_unix_ns = now;
  return changes;
}

}  // namespace atmhealth::collector::fleet
