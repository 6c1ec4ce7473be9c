// The customer availability feed: per site and per device, which customer
// services work now, since when one is out, and the nearest ATMs that offer
// the same service now (great-circle distance between registered sites, only
// sites open now). What banks' websites, apps and call centres poll during
// an outage; docs/api.md documents the fields, which stay stable.
//
// The body depends only on the fleet's state (no generation time in it), so
// that its ETag changes only when something a customer sees changed.
#ifndef ATMHEALTH_COLLECTOR_FLEET_AVAILABILITY_FEED_H_
#define ATMHEALTH_COLLECTOR_FLEET_AVAILABILITY_FEED_H_

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string_view>

#include "collector/fleet/fleet_state.h"

namespace atmhealth::collector::fleet {

struct FeedOptions {
  std::size_t nearest = 3;  // alternatives listed per unavailable service
};

// The whole feed, or one site's entry when `site_id` is not empty (an empty
// "sites" array when no device or registered site has that id).
nlohmann::json AvailabilityFeed(const FleetSnapshot& snapshot, const FeedOptions& options,
                                std::string_view site_id = {});

}  // namespace atmhealth::collector::fleet

#endif  // ATMHEALTH_COLLECTOR_FLEET_AVAILABILITY_FEED_H_
