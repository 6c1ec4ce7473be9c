// The routes every collector serves for its operators: GET /metrics
// (Prometheus text format) and GET /healthz.
#ifndef ATMHEALTH_COLLECTOR_HTTP_OPERATIONAL_ROUTES_H_
#define ATMHEALTH_COLLECTOR_HTTP_OPERATIONAL_ROUTES_H_

#include <prometheus/registry.h>

#include <functional>

#include "collector/http/http_server.h"
#include "platform/status.h"

namespace atmhealth::collector {

// Whether the store can write now (StoreExecutor::WriteHealth). Thread-safe.
using StoreHealth = std::function<Status()>;

// GET /metrics answers with everything in `registry` (which must outlive the
// server) in the Prometheus text exposition format; GET /healthz answers 200
// "ok" while the store writes, and 503 "store cannot write: <why>" when
// `store_health` reports an error (the last commit failed: disk full, I/O
// error), so that a load balancer or a monitor takes the collector out.
void AddOperationalRoutes(HttpServer& server, prometheus::Registry& registry,
                          StoreHealth store_health);

}  // namespace atmhealth::collector

#endif  // ATMHEALTH_COLLECTOR_HTTP_OPERATIONAL_ROUTES_H_
