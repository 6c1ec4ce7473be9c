#include "collector/http/operational_routes.h"

#include <prometheus/text_serializer.h>

#include <utility>

namespace atmhealth::collector {

void AddOperationalRoutes(HttpServer& server, prometheus::Registry& registry,
                          StoreHealth store_health) {
  server.AddRoute(http::verb::get, "/metrics",
                  [&registry](const HttpRequest&) -> asio::awaitable<HttpResponse> {
                    co_return MakeResponse(
                        http::status::ok,
                        prometheus::TextSerializer().Serialize(registry.Collect()),
                        "text/plain; version=0.0.4; charset=utf-8");
                  });
  server.AddRoute(
      http::verb::get, "/healthz",
      [store_health =
           std::move(store_health)](const HttpRequest&) -> asio::awaitable<HttpResponse> {
        if (Status writable = store_health(); !writable) {
          co_return MakeResponse(http::status::service_unavailable,
                                 "store cannot write: " + writable.error().message() + "\n");
        }
        co_return MakeResponse(http::status::ok, "ok\n");
      });
}

}  // namespace atmhealth::collector
