// The operations dashboard: a static page (HTML, CSS, JavaScript from
// collector/http/dashboard/, compiled into the binary by
// cmake/EmbedFiles.cmake) that reads the operator API and follows
// /api/v1/stream live. Nothing is loaded from anywhere but the collector:
// the Content-Security-Policy of every file says so to the browser too.
//
//   GET /                      303 to /dashboard/
//   GET /dashboard             303 to /dashboard/
//   GET /dashboard/            index.html
//   GET /dashboard/<file>      the page's stylesheet and script
//
// The files are public (they hold no data); the page asks for an operator
// token and sends it as a bearer header to the API (docs/dashboard.md).
#ifndef ATMHEALTH_COLLECTOR_HTTP_DASHBOARD_ROUTES_H_
#define ATMHEALTH_COLLECTOR_HTTP_DASHBOARD_ROUTES_H_

#include <span>
#include <string_view>

#include "collector/http/http_server.h"

namespace atmhealth::collector {

// A file compiled into the binary.
struct EmbeddedFile {
  std::string_view name;     // "dashboard.js"
  std::string_view content;  // its bytes
};

// The dashboard's files (generated at build time).
std::span<const EmbeddedFile> DashboardFiles();

// The Content-Type served for `name`, by its extension.
std::string_view ContentTypeOf(std::string_view name);

void AddDashboardRoutes(HttpServer& server);

}  // namespace atmhealth::collector

#endif  // ATMHEALTH_COLLECTOR_HTTP_DASHBOARD_ROUTES_H_
