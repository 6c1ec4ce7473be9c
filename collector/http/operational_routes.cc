#include "collector/http/operational_routes.h"

#include <prometheus/text_serializer.h>

namespace atmhealth::collector {

void AddOperationalRoutes(HttpServer& server, prometheus::Registry& registry) {
  server.AddRoute(http::verb::get, "/metrics",
                  [&registry](const HttpRequest&) -> asio::awaitable<HttpResponse> {
                    co_return MakeResponse(
                        http::status::ok,
                        prometheus::TextSerializer().Serialize(registry.Collect()),
                        "text/plain; version=0.0.4; charset=utf-8");
                  });
  server.AddRoute(http::verb::get, "/healthz",
                  [](const HttpRequest&) -> asio::awaitable<HttpResponse> {
                    co_return MakeResponse(http::status::ok, "ok\n");
                  });
}

}  // namespace atmhealth::collector
