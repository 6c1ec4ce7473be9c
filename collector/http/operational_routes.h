// The routes every collector serves for its operators: GET /metrics
// (Prometheus text format) and GET /healthz.
#ifndef ATMHEALTH_COLLECTOR_HTTP_OPERATIONAL_ROUTES_H_
#define ATMHEALTH_COLLECTOR_HTTP_OPERATIONAL_ROUTES_H_

#include <prometheus/registry.h>

#include "collector/http/http_server.h"

namespace atmhealth::collector {

// GET /metrics answers with everything in `registry` (which must outlive the
// server) in the Prometheus text exposition format; GET /healthz answers 200
// "ok" while the process serves requests.
void AddOperationalRoutes(HttpServer& server, prometheus::Registry& registry);

}  // namespace atmhealth::collector

#endif  // ATMHEALTH_COLLECTOR_HTTP_OPERATIONAL_ROUTES_H_
