#include "collector/http/fleet_routes.h"

#include <fmt/format.h>

#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <variant>

#include "collector/fleet/fleet_json.h"
#include "collector/fleet/fsa_report.h"
#include "collector/http/query_string.h"
#include "proto/names.h"

namespace atmhealth::collector {
namespace {

using fleet::FleetView;
using nlohmann::json;

constexpr const char* kJson = "application/json";
constexpr std::int64_t kNanosPerSecond = 1'000'000'000;
constexpr std::int64_t kRecentWindowNs = 24 * 3600 * kNanosPerSecond;
constexpr std::int64_t kHistoryLimit = 50;
constexpr std::int64_t kDeviceIncidentLimit = 20;
constexpr std::int64_t kMaxListLimit = 1000;

std::string_view TargetOf(const HttpRequest& request) {
  return {request.target().data(), request.target().size()};
}

HttpResponse JsonResponse(const json& body, http::status status = http::status::ok) {
  HttpResponse response =
      MakeResponse(status, body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n", kJson);
  response.set(http::field::cache_control, "no-store");
  return response;
}

HttpResponse BadRequest(std::string_view parameter, std::string_view detail) {
  return JsonResponse({{"error", "bad_parameter"}, {"parameter", parameter}, {"detail", detail}},
                      http::status::bad_request);
}

bool IsService(std::string_view name) {
  for (const std::string_view known : fleet::kCustomerServices) {
    if (known == name) return true;
  }
  return false;
}

// "withdrawal, deposit, ..." for error messages.
std::string ServiceNames() {
  std::string names;
  for (const std::string_view known : fleet::kCustomerServices) {
    names += names.empty() ? "" : ", ";
    names += known;
  }
  return names;
}

// The filters of GET /api/v1/devices; an error response when one is bad.
struct DeviceFilter {
  std::optional<std::string> site;
  std::optional<fleet::DeviceState> state;
  std::optional<std::string> service;
  std::optional<std::string> service_state;
  std::optional<std::string> kind;

  bool Matches(const fleet::DeviceView& device) const {
    if (site && device.stored.site_id != *site) return false;
    if (state && device.state != *state) return false;
    if (kind && device.stored.kind != *kind) return false;
    if (service) {
      const fleet::ServiceView* entry = device.Service(*service);
      if (entry == nullptr) return false;
      if (service_state && entry->state != *service_state) return false;
    }
    return true;
  }
};

std::variant<DeviceFilter, HttpResponse> ParseDeviceFilter(std::string_view target) {
  DeviceFilter filter;
  filter.site = QueryParameter(target, "site");
  if (auto state = QueryParameter(target, "state")) {
    filter.state = fleet::ParseDeviceState(*state);
    if (!filter.state) {
      return BadRequest("state", fmt::format("\"{}\" is not in_service, degraded, "
                                             "out_of_service or unreachable",
                                             *state));
    }
  }
  if (auto service = QueryParameter(target, "service")) {
    if (!IsService(*service)) {
      return BadRequest("service",
                        fmt::format("\"{}\" is not one of {}", *service, ServiceNames()));
    }
    filter.service = *service;
  }
  if (auto service_state = QueryParameter(target, "service_state")) {
    if (!filter.service) return BadRequest("service_state", "needs service=");
    if (*service_state != "in_service" && *service_state != "degraded" &&
        *service_state != "out_of_service" && *service_state != "unknown") {
      return BadRequest("service_state", fmt::format("\"{}\" is not in_service, degraded, "
                                                     "out_of_service or unknown",
                                                     *service_state));
    }
    filter.service_state = *service_state;
  }
  if (auto kind = QueryParameter(target, "kind")) {
    if (!wire::ParseDeviceKind(*kind)) {
      return BadRequest("kind", fmt::format("\"{}\" is not atm or branch_server", *kind));
    }
    filter.kind = *kind;
  }
  return filter;
}

// 503 with the store's error, when a read through the fleet monitor failed.
HttpResponse StoreUnavailable(const Error& error) {
  return JsonResponse({{"error", "store_unavailable"}, {"detail", error.message()}},
                      http::status::service_unavailable);
}

// The incidents of `query`, read on the fleet monitor's thread.
asio::awaitable<Result<std::vector<fleet::Incident>>> ReadIncidents(fleet::FleetMonitor& monitor,
                                                                    fleet::IncidentQuery query) {
  // A named function, not a temporary in the co_await expression: GCC 12
  // destroys such temporaries twice.
  std::function<Result<std::vector<fleet::Incident>>(fleet::FleetStore&)> read =
      [query](fleet::FleetStore& store) { return store.ReadIncidents(query); };
  co_return co_await monitor.Query<Result<std::vector<fleet::Incident>>>(std::move(read));
}

std::optional<std::int64_t> ParseCount(std::string_view text) {
  std::int64_t value = 0;
  if (text.empty() || text.size() > 9) return std::nullopt;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

json SnapshotJson(const FleetView& view) {
  json devices = json::array();
  for (const fleet::DeviceView& device : view.snapshot->devices) {
    devices.push_back(fleet::DeviceJson(device, view.IncidentOf(device.stored.device_id)));
  }
  json incidents = json::array();
  for (const fleet::Incident& incident : view.open_incidents) {
    incidents.push_back(fleet::IncidentJson(incident, view.snapshot->at_unix_ns));
  }
  return {{"fleet", fleet::FleetSummaryJson(view)}, {"devices", devices}, {"incidents", incidents}};
}

// An entity tag of the body: the first 128 bits of its SHA-256.
std::string EntityTag(const std::string& body) {
  return "\"" + Sha256Hex(body).substr(0, 32) + "\"";
}

// If-None-Match holds `tag` (or "*"); weak tags compare by their opaque part.
bool NoneMatchHits(const HttpRequest& request, const std::string& tag) {
  const auto header = request.find(http::field::if_none_match);
  if (header == request.end()) return false;
  std::string_view list(header->value().data(), header->value().size());
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.substr(0, 2) == "W/") item.remove_prefix(2);
    if (item == "*" || item == tag) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

// The feed of the latest snapshot, built once per snapshot and site filter
// (the last one asked for each).
class FeedCache {
 public:
  std::shared_ptr<const std::pair<std::string, std::string>> Get(const FleetView& view,
                                                                 const fleet::FeedOptions& options,
                                                                 const std::string& site) {
    std::lock_guard lock(mutex_);
    auto& entry = entries_[site];
    if (entry.first != view.snapshot->version || entry.second == nullptr) {
      std::string body = fleet::AvailabilityFeed(*view.snapshot, options, site)
                             .dump(-1, ' ', false, json::error_handler_t::replace) +
                         "\n";
      std::string tag = EntityTag(body);
      entry = {view.snapshot->version, std::make_shared<const std::pair<std::string, std::string>>(
                                           std::move(body), std::move(tag))};
    }
    if (entries_.size() > kMaxEntries) {
      const auto keep = entry;
      entries_.clear();
      entries_[site] = keep;
    }
    return entries_[site].second;
  }

 private:
  static constexpr std::size_t kMaxEntries = 256;
  std::mutex mutex_;
  std::map<std::string,
           std::pair<std::uint64_t, std::shared_ptr<const std::pair<std::string, std::string>>>>
      entries_;
};

}  // namespace

void AddFleetRoutes(HttpServer& server, fleet::FleetMonitor& monitor, EventStream& events,
                    AccessControl& access, const FleetRouteOptions& options) {
  fleet::FleetMonitor* fleet_monitor = &monitor;

  server.AddRoute(
      http::verb::get, "/api/v1/fleet",
      access.Require(ApiRole::kRead,
                     [fleet_monitor](const HttpRequest&) -> asio::awaitable<HttpResponse> {
                       co_return JsonResponse(fleet::FleetSummaryJson(*fleet_monitor->Current()));
                     }));

  server.AddRoute(
      http::verb::get, "/api/v1/devices",
      access.Require(ApiRole::kRead,
                     [fleet_monitor](const HttpRequest& request) -> asio::awaitable<HttpResponse> {
                       auto parsed = ParseDeviceFilter(TargetOf(request));
                       if (auto* refusal = std::get_if<HttpResponse>(&parsed)) {
                         co_return std::move(*refusal);
                       }
                       const DeviceFilter& filter = std::get<DeviceFilter>(parsed);
                       const auto view = fleet_monitor->Current();
                       json devices = json::array();
                       for (const fleet::DeviceView& device : view->snapshot->devices) {
                         if (!filter.Matches(device)) continue;
                         devices.push_back(
                             fleet::DeviceJson(device, view->IncidentOf(device.stored.device_id)));
                       }
                       co_return JsonResponse(
                           {{"generated_at", fleet::Rfc3339(view->snapshot->at_unix_ns)},
                            {"devices", devices}});
                     }));

  server.AddRoute(
      http::verb::get, "/api/v1/device",
      access.Require(
          ApiRole::kRead,
          [fleet_monitor](const HttpRequest& request) -> asio::awaitable<HttpResponse> {
            const std::optional<std::string> id = QueryParameter(TargetOf(request), "id");
            if (!id || id->empty()) co_return BadRequest("id", "the device id is missing");
            const auto view = fleet_monitor->Current();
            const fleet::DeviceView* device = view->snapshot->Find(*id);
            if (device == nullptr) {
              co_return JsonResponse(
                  {{"error", "not_found"}, {"detail", fmt::format("no device \"{}\"", *id)}},
                  http::status::not_found);
            }
            json detail = fleet::DeviceJson(*device, view->IncidentOf(*id));
            const std::int64_t now = view->snapshot->at_unix_ns;
            const std::string device_id = *id;
            // A named function, not a temporary in the co_await expression:
            // GCC 12 destroys such temporaries twice.
            std::function<Result<json>(fleet::FleetStore&)> read_history =
                [device_id, now](fleet::FleetStore& store) -> Result<json> {
              Result<std::vector<fleet::AlertEvent>> alert_events =
                  store.ReadAlertHistory(device_id, kHistoryLimit);
              if (!alert_events) return alert_events.error();
              fleet::IncidentQuery query;
              query.device_id = device_id;
              query.limit = kDeviceIncidentLimit;
              Result<std::vector<fleet::Incident>> incidents = store.ReadIncidents(query);
              if (!incidents) return incidents.error();
              json result = {{"alert_history", json::array()}, {"incidents", json::array()}};
              for (const fleet::AlertEvent& event : *alert_events) {
                result["alert_history"].push_back(fleet::AlertEventJson(event));
              }
              for (const fleet::Incident& incident : *incidents) {
                result["incidents"].push_back(fleet::IncidentJson(incident, now));
              }
              return result;
            };
            Result<json> history =
                co_await fleet_monitor->Query<Result<json>>(std::move(read_history));
            if (!history) co_return StoreUnavailable(history.error());
            detail["alert_history"] = std::move((*history)["alert_history"]);
            detail["incidents"] = std::move((*history)["incidents"]);
            if (device->site != nullptr) {
              for (const fleet::SiteView& site : view->snapshot->site_views) {
                if (site.site == device->site)
                  detail["site"] = fleet::SiteJson(site, *view->snapshot);
              }
            } else {
              detail["site"] = nullptr;
            }
            co_return JsonResponse(detail);
          }));

  server.AddRoute(
      http::verb::get, "/api/v1/incidents",
      access.Require(
          ApiRole::kRead,
          [fleet_monitor](const HttpRequest& request) -> asio::awaitable<HttpResponse> {
            const std::string_view target = TargetOf(request);
            const std::string status = QueryParameter(target, "status").value_or("open");
            if (status != "open" && status != "recent" && status != "all") {
              co_return BadRequest("status",
                                   fmt::format("\"{}\" is not open, recent or all", status));
            }
            fleet::IncidentQuery query;
            query.open_only = status == "open";
            query.category = QueryParameter(target, "category").value_or("");
            query.device_id = QueryParameter(target, "device").value_or("");
            if (!query.category.empty() && query.category != "unreachable" &&
                !wire::ParseFailureCategory(query.category)) {
              co_return BadRequest("category",
                                   fmt::format("\"{}\" is not an FSA category short name (such "
                                               "as daily_operation_storage) or unreachable",
                                               query.category));
            }
            if (auto limit = QueryParameter(target, "limit")) {
              const std::optional<std::int64_t> count = ParseCount(*limit);
              if (!count || *count < 1 || *count > kMaxListLimit) {
                co_return BadRequest("limit",
                                     fmt::format("\"{}\" is not 1..{}", *limit, kMaxListLimit));
              }
              query.limit = *count;
            }
            const auto view = fleet_monitor->Current();
            const std::int64_t now = view->snapshot->at_unix_ns;
            if (status == "recent") query.since_unix_ns = now - kRecentWindowNs;
            Result<std::vector<fleet::Incident>> incidents =
                co_await ReadIncidents(*fleet_monitor, query);
            if (!incidents) co_return StoreUnavailable(incidents.error());
            json list = json::array();
            for (const fleet::Incident& incident : *incidents) {
              list.push_back(fleet::IncidentJson(incident, now));
            }
            co_return JsonResponse(
                {{"generated_at", fleet::Rfc3339(now)}, {"status", status}, {"incidents", list}});
          }));

  server.AddRoute(
      http::verb::get, "/api/v1/reports/fsa",
      access.Require(
          ApiRole::kRead,
          [fleet_monitor](const HttpRequest& request) -> asio::awaitable<HttpResponse> {
            const std::string_view target = TargetOf(request);
            const std::string format = QueryParameter(target, "format").value_or("json");
            if (format != "json" && format != "csv") {
              co_return BadRequest("format", fmt::format("\"{}\" is not json or csv", format));
            }
            Result<fleet::ReportPeriod> period = fleet::ParseReportPeriod(
                QueryParameter(target, "from").value_or(""),
                QueryParameter(target, "to").value_or(""), std::chrono::system_clock::now());
            if (!period) {
              const std::string& message = period.error().message();
              const std::size_t colon = message.find(':');
              co_return BadRequest(message.substr(0, colon), message.substr(colon + 2));
            }
            const fleet::IncidentQuery query = fleet::ReportIncidentQuery(*period);
            Result<std::vector<fleet::Incident>> incidents =
                co_await ReadIncidents(*fleet_monitor, query);
            if (!incidents) co_return StoreUnavailable(incidents.error());
            const fleet::FsaReport report = fleet::BuildFsaReport(
                *incidents, *period,
                static_cast<std::int64_t>(incidents->size()) >= fleet::kMaxReportIncidents);
            if (format == "json") co_return JsonResponse(fleet::FsaReportJson(report));
            HttpResponse response = MakeResponse(http::status::ok, fleet::FsaReportCsv(report),
                                                 "text/csv; charset=utf-8");
            response.set(http::field::cache_control, "no-store");
            response.set(http::field::content_disposition,
                         "attachment; filename=\"atmhealth-fsa-report.csv\"");
            co_return response;
          }));

  server.AddRoute(
      http::verb::get, "/api/v1/sites",
      access.Require(
          ApiRole::kRead, [fleet_monitor](const HttpRequest&) -> asio::awaitable<HttpResponse> {
            const auto view = fleet_monitor->Current();
            json sites = json::array();
            for (const fleet::SiteView& site : view->snapshot->site_views) {
              sites.push_back(fleet::SiteJson(site, *view->snapshot));
            }
            co_return JsonResponse(
                {{"generated_at", fleet::Rfc3339(view->snapshot->at_unix_ns)}, {"sites", sites}});
          }));

  server.AddRoute(
      http::verb::post, "/api/v1/sites/reload",
      access.Require(
          ApiRole::kAdmin, [fleet_monitor](const HttpRequest&) -> asio::awaitable<HttpResponse> {
            const Status reloaded = co_await fleet_monitor->ReloadSites();
            if (!reloaded) {
              co_return JsonResponse(
                  {{"error", "sites_file_invalid"}, {"detail", reloaded.error().message()}},
                  http::status::unprocessable_entity);
            }
            co_return JsonResponse({{"reloaded", true}});
          }));

  server.AddStreamRoute(
      "/api/v1/stream",
      [fleet_monitor, &events, &access](const HttpRequest& request,
                                        boost::beast::tcp_stream& stream) -> asio::awaitable<void> {
        AccessControl::Decision decision = access.Check(request, ApiRole::kRead);
        if (decision.refusal) {
          HttpResponse& refusal = *decision.refusal;
          refusal.keep_alive(false);
          refusal.prepare_payload();
          boost::system::error_code ec;
          stream.expires_after(std::chrono::seconds(10));
          co_await http::async_write(stream, refusal,
                                     asio::redirect_error(asio::use_awaitable, ec));
          co_return;
        }
        const std::string snapshot = SnapshotJson(*fleet_monitor->Current())
                                         .dump(-1, ' ', false, json::error_handler_t::replace);
        co_await events.Serve(stream, snapshot);
      });

  auto cache = std::make_shared<FeedCache>();
  server.AddRoute(
      http::verb::get, "/api/v1/availability",
      [fleet_monitor, cache, options](const HttpRequest& request) -> asio::awaitable<HttpResponse> {
        const std::string site = QueryParameter(TargetOf(request), "site").value_or("");
        const auto feed = cache->Get(*fleet_monitor->Current(), options.feed, site);
        const bool not_modified = NoneMatchHits(request, feed->second);
        HttpResponse response = not_modified ? MakeResponse(http::status::not_modified, "", kJson)
                                             : MakeResponse(http::status::ok, feed->first, kJson);
        response.set(http::field::etag, feed->second);
        response.set(http::field::cache_control,
                     fmt::format("public, max-age={}", options.feed_max_age.count()));
        response.set(http::field::access_control_allow_origin, "*");
        co_return response;
      });
}

}  // namespace atmhealth::collector
