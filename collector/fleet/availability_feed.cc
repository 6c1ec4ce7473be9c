#include "collector/fleet/availability_feed.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "collector/fleet/fleet_json.h"

namespace atmhealth::collector::fleet {
namespace {

using nlohmann::json;

struct Alternative {
  const DeviceView* device;
  double distance_m;
};

json AlternativeJson(const Alternative& alternative) {
  const Site* site = alternative.device->site;
  return {{"device_id", alternative.device->stored.device_id},
          {"site_id", site->id},
          {"site_name", site->name},
          {"address", site->address},
          {"latitude", site->latitude},
          {"longitude", site->longitude},
          {"distance_m", static_cast<std::int64_t>(std::llround(alternative.distance_m))}};
}

// An ATM a customer can be sent to for `service`: reachable, the service
// works, at a registered site that is open now.
bool Offers(const DeviceView& device, std::string_view service, std::int64_t now) {
  if (device.stored.kind != "atm" || !device.reachable || device.site == nullptr) return false;
  const ServiceView* entry = device.Service(service);
  return entry != nullptr && entry->available() && device.site->OpenAt(now);
}

class Nearest {
 public:
  Nearest(const FleetSnapshot& snapshot, std::size_t limit) : snapshot_(snapshot), limit_(limit) {}

  // The nearest ATMs at other sites offering `service`, from `site`.
  const std::vector<Alternative>& Elsewhere(const Site& site, std::string_view service) {
    const auto key = std::make_pair(site.id, std::string(service));
    const auto cached = cache_.find(key);
    if (cached != cache_.end()) return cached->second;
    std::vector<Alternative> found;
    for (const DeviceView& device : snapshot_.devices) {
      if (device.site == &site || !Offers(device, service, snapshot_.at_unix_ns)) continue;
      found.push_back(
          Alternative{&device, GreatCircleMeters(site.latitude, site.longitude,
                                                 device.site->latitude, device.site->longitude)});
    }
    const auto closer = [](const Alternative& a, const Alternative& b) {
      if (a.distance_m != b.distance_m) return a.distance_m < b.distance_m;
      return a.device->stored.device_id < b.device->stored.device_id;
    };
    const std::size_t keep = std::min(limit_, found.size());
    std::partial_sort(found.begin(), found.begin() + static_cast<std::ptrdiff_t>(keep), found.end(),
                      closer);
    found.resize(keep);
    return cache_.emplace(key, std::move(found)).first->second;
  }

  // For one device: other ATMs of its own site first (0 m), then elsewhere.
  json ForDevice(const DeviceView& device, const SiteView& view, std::string_view service) {
    json list = json::array();
    if (device.site == nullptr) return list;
    for (const std::size_t index : view.devices) {
      const DeviceView& other = snapshot_.devices[index];
      if (&other == &device || !Offers(other, service, snapshot_.at_unix_ns)) continue;
      if (list.size() >= limit_) return list;
      list.push_back(AlternativeJson(Alternative{&other, 0}));
    }
    for (const Alternative& alternative : Elsewhere(*device.site, service)) {
      if (list.size() >= limit_) break;
      list.push_back(AlternativeJson(alternative));
    }
    return list;
  }

 private:
  const FleetSnapshot& snapshot_;
  const std::size_t limit_;
  std::map<std::pair<std::string, std::string>, std::vector<Alternative>> cache_;
};

json SiteEntry(const SiteView& view, const FleetSnapshot& snapshot, Nearest& nearest) {
  const Site* site = view.site;
  json devices = json::array();
  // service -> (available anywhere at the site, latest time a device lost it)
  std::map<std::string, std::pair<bool, std::optional<std::int64_t>>> site_services;
  for (const std::size_t index : view.devices) {
    const DeviceView& device = snapshot.devices[index];
    json services = json::array();
    bool all_available = !device.services.empty();
    for (const ServiceView& service : device.services) {
      const bool available = service.available();
      all_available &= available;
      auto& [any_available, out_since] = site_services[service.service];
      any_available |= available;
      if (!available && service.since_unix_ns) {
        out_since =
            out_since ? std::max(*out_since, *service.since_unix_ns) : service.since_unix_ns;
      }
      services.push_back(
          {{"service", service.service},
           {"available", available},
           {"state", service.state},
           {"out_since", available ? json(nullptr) : TimeOrNull(service.since_unix_ns)},
           {"nearest",
            available ? json::array() : nearest.ForDevice(device, view, service.service)}});
    }
    devices.push_back({{"device_id", device.stored.device_id},
                       {"kind", device.stored.kind},
                       {"in_service", device.reachable && all_available},
                       {"services", services}});
  }
  json services = json::array();
  for (const auto& [name, state] : site_services) {
    const bool available = state.first;
    json alternatives = json::array();
    if (!available && site != nullptr) {
      for (const Alternative& alternative : nearest.Elsewhere(*site, name)) {
        alternatives.push_back(AlternativeJson(alternative));
      }
    }
    services.push_back({{"service", name},
                        {"available", available},
                        {"out_since", available ? json(nullptr) : TimeOrNull(state.second)},
                        {"nearest", alternatives}});
  }
  return {{"site_id", view.site_id},
          {"name", site != nullptr ? json(site->name) : json(nullptr)},
          {"address", site != nullptr ? json(site->address) : json(nullptr)},
          {"latitude", site != nullptr ? json(site->latitude) : json(nullptr)},
          {"longitude", site != nullptr ? json(site->longitude) : json(nullptr)},
          {"category", site != nullptr ? json(site->category) : json(nullptr)},
          {"open_now", site != nullptr ? json(site->OpenAt(snapshot.at_unix_ns)) : json(nullptr)},
          {"services", services},
          {"devices", devices}};
}

}  // namespace

json AvailabilityFeed(const FleetSnapshot& snapshot, const FeedOptions& options,
                      std::string_view site_id) {
  Nearest nearest(snapshot, options.nearest);
  json sites = json::array();
  for (const SiteView& view : snapshot.site_views) {
    if (!site_id.empty() && view.site_id != site_id) continue;
    sites.push_back(SiteEntry(view, snapshot, nearest));
  }
  return {{"feed_version", 1}, {"sites", sites}};
}

}  // namespace atmhealth::collector::fleet
