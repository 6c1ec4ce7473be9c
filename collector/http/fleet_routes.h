// The JSON API of the operations centre and the customer availability feed
// (docs/api.md, docs/openapi.json):
//
//   GET  /api/v1/fleet            fleet summary                     read
//   GET  /api/v1/devices          devices, filtered                  read
//   GET  /api/v1/device?id=       one device with its history        read
//   GET  /api/v1/incidents        open, recent or all incidents      read
//   GET  /api/v1/sites            sites with availability            read
//   GET  /api/v1/stream           server-sent events                 read
//   POST /api/v1/sites/reload     reads the sites file again         admin
//   GET  /api/v1/availability     customer availability feed         public
#ifndef ATMHEALTH_COLLECTOR_HTTP_FLEET_ROUTES_H_
#define ATMHEALTH_COLLECTOR_HTTP_FLEET_ROUTES_H_

#include <chrono>

#include "collector/fleet/availability_feed.h"
#include "collector/fleet/fleet_monitor.h"
#include "collector/http/access_control.h"
#include "collector/http/event_stream.h"
#include "collector/http/http_server.h"

namespace atmhealth::collector {

struct FleetRouteOptions {
  fleet::FeedOptions feed;
  std::chrono::seconds feed_max_age{10};  // Cache-Control max-age of the feed
};

// Adds the routes. Everything passed must outlive the server.
void AddFleetRoutes(HttpServer& server, fleet::FleetMonitor& monitor, EventStream& events,
                    AccessControl& access, const FleetRouteOptions& options);

}  // namespace atmhealth::collector

#endif  // ATMHEALTH_COLLECTOR_HTTP_FLEET_ROUTES_H_
