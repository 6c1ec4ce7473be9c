// Incidents: what operations handle and report. A device that becomes
// impaired (a customer service out or degraded, unreachable, or a critical
// alert) opens an incident or joins one:
//
//   1. an open fleet-wide incident that a device joined within the
//      correlation window: a mass failure keeps gathering its devices;
//   2. else, when with this device `correlation_min_devices` devices failed
//      within the window, the open incidents they are in merge into one
//      fleet-wide incident listing them all (the 2011 and 2021 mass ATM
//      stops were one incident each, not hundreds);
//   3. else an open incident of another device of the same site (a site
//      incident);
//   4. else a new incident of this device.
//
// A device that works again is marked recovered; the incident ends when all
// its devices have. Each customer service lost in an incident is measured
// against its impact tolerance (the maximum tolerable outage, from config):
// at 50 % and at 100 % the collector raises its own alert, resolved when the
// service is back.
//
// Not thread-safe: the fleet monitor calls it from its thread.
#ifndef ATMHEALTH_COLLECTOR_FLEET_INCIDENT_TRACKER_H_
#define ATMHEALTH_COLLECTOR_FLEET_INCIDENT_TRACKER_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "collector/fleet/fleet_state.h"

namespace atmhealth::collector::fleet {

struct IncidentRules {
  std::chrono::milliseconds correlation_window{120'000};
  std::size_t correlation_min_devices = 10;
  // Customer service short name -> maximum tolerable outage. A service
  // without one is tracked but never raises tolerance alerts.
  std::map<std::string, std::chrono::milliseconds, std::less<>> tolerance;
};

struct IncidentDevice {
  std::string device_id;
  std::string site_id;
  std::int64_t joined_unix_ns = 0;  // when it failed (collector clock)
  std::optional<std::int64_t> recovered_unix_ns;
};

struct IncidentService {
  std::string service;
  std::int64_t first_lost_unix_ns = 0;             // first time it was lost in this incident
  std::optional<std::int64_t> lost_since_unix_ns;  // set while lost: start of the current outage
  std::optional<std::int64_t> restored_unix_ns;    // set once back after an outage
  std::int64_t devices_lost = 0;                   // devices of the incident without it now
  std::optional<std::int64_t> tolerance_ms;
};

// One of the collector's own alerts: a service's outage passed `percent` of
// its tolerance.
struct ToleranceAlert {
  std::string service;
  int percent = 0;  // 50 or 100
  std::int64_t outage_since_unix_ns = 0;
  std::int64_t tolerance_ms = 0;
  std::int64_t raised_unix_ns = 0;
  std::optional<std::int64_t> resolved_unix_ns;
  bool firing() const { return !resolved_unix_ns.has_value(); }
};

struct Incident {
  std::int64_t id = 0;
  std::string scope;    // device, site or fleet
  std::string site_id;  // the site of a device or site incident; empty for fleet
  std::int64_t started_unix_ns = 0;
  std::optional<std::int64_t> ended_unix_ns;
  std::vector<IncidentDevice> devices;  // in joining order
  std::set<std::string> alert_keys;     // alerts that fired on its devices
  std::set<std::string> categories;     // FSA categories of those alerts; "unreachable" too
  std::vector<IncidentService> services;
  std::vector<ToleranceAlert> tolerance_alerts;
  std::int64_t updated_unix_ns = 0;

  bool open() const { return !ended_unix_ns.has_value(); }
};

// What one Update changed, for the event stream and the store.
struct IncidentChanges {
  std::vector<std::int64_t> changed;  // ids of incidents created or modified
  std::vector<std::pair<std::int64_t, std::int64_t>> merged;       // (removed id, merged into id)
  std::vector<std::pair<std::int64_t, ToleranceAlert>> tolerance;  // raised or resolved now
  bool empty() const { return changed.empty() && merged.empty() && tolerance.empty(); }
};

class IncidentTracker {
 public:
  explicit IncidentTracker(IncidentRules rules) : rules_(std::move(rules)) {}

  // Resumes from the open incidents of the store; `next_id` is above every
  // stored id.
  void Restore(std::vector<Incident> open, std::int64_t next_id);

  // Moves incidents on to `snapshot`.
  IncidentChanges Update(const FleetSnapshot& snapshot);

  // Open incidents, and those that ended during this tracker's life (until
  // the store keeps them), by id.
  const std::map<std::int64_t, Incident>& incidents() const { return incidents_; }
  const Incident* Find(std::int64_t id) const;
  // The open incident a device is in; 0 when none.
  std::int64_t IncidentOf(std::string_view device_id) const;
  // Forgets ended incidents (once they are stored).
  void DropEnded();

 private:
  Incident& Open(const DeviceView& device, std::int64_t at, std::vector<std::int64_t>& changed);
  std::int64_t ChooseIncident(const DeviceView& device, std::int64_t at, IncidentChanges& changes);
  void MergeInto(Incident& target, Incident& source);
  void UpdateServices(Incident& incident, const FleetSnapshot& snapshot, IncidentChanges& changes);

  IncidentRules rules_;
  std::map<std::int64_t, Incident> incidents_;
  std::map<std::string, std::int64_t, std::less<>> device_incident_;  // open incidents only
  std::int64_t next_id_ = 1;
};

}  // namespace atmhealth::collector::fleet

#endif  // ATMHEALTH_COLLECTOR_FLEET_INCIDENT_TRACKER_H_
