#include "collector/http/dashboard_routes.h"

#include <string>

namespace atmhealth::collector {
namespace {

// Only the collector itself: no CDN, no external font, no inline script or
// style, and the page may not be framed by another site.
constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

HttpResponse FileResponse(const EmbeddedFile& file) {
  HttpResponse response =
      MakeResponse(http::status::ok, std::string(file.content), ContentTypeOf(file.name));
  response.set("Content-Security-Policy", kContentSecurityPolicy);
  response.set("X-Content-Type-Options", "nosniff");
  response.set("Referrer-Policy", "no-referrer");
  // A new collector version serves new files: always revalidate.
  response.set(http::field::cache_control, "no-cache");
  return response;
}

HttpResponse Redirect(std::string_view location) {
  HttpResponse response = MakeResponse(http::status::see_other, "");
  response.set(http::field::location, std::string(location));
  return response;
}

}  // namespace

std::string_view ContentTypeOf(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

void AddDashboardRoutes(HttpServer& server) {
  const auto redirect = [](const HttpRequest&) -> asio::awaitable<HttpResponse> {
    co_return Redirect("/dashboard/");
  };
  server.AddRoute(http::verb::get, "/", redirect);
  server.AddRoute(http::verb::get, "/dashboard", redirect);
  for (const EmbeddedFile& file : DashboardFiles()) {
    const std::string path =
        file.name == "index.html" ? "/dashboard/" : "/dashboard/" + std::string(file.name);
    const EmbeddedFile* served = &file;
    server.AddRoute(http::verb::get, path,
                    [served](const HttpRequest&) -> asio::awaitable<HttpResponse> {
                      co_return FileResponse(*served);
                    });
  }
}

}  // namespace atmhealth::collector
