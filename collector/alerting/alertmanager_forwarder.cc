#include "collector/alerting/alertmanager_forwarder.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "collector/fleet/fleet_json.h"
#include "platform/config_values.h"

namespace atmhealth::collector {
namespace {

namespace http = boost::beast::http;
using asio::redirect_error;
using asio::use_awaitable;
using nlohmann::json;

constexpr std::size_t kMaxResponseBytes = 64 * 1024;
constexpr int kEndsAtResends = 4;  // a firing alert lasts this many resends unless sent again

std::int64_t Nanos(std::chrono::milliseconds duration) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(duration).count();
}

std::string Text(const json& data, const char* key) {
  const auto found = data.find(key);
  if (found == data.end()) return "";
  return found->is_string() ? found->get<std::string>() : found->dump();
}

}  // namespace

std::string AlertmanagerAlert::Fingerprint() const { return body.at("labels").dump(); }

std::optional<AlertmanagerAlert> AlertmanagerAlertFor(const std::string& event, const json& data,
                                                      std::int64_t now_unix_ns) {
  AlertmanagerAlert alert;
  alert.firing = Text(data, "state") == "firing";
  if (event == "alert") {
    alert.body = {{"labels",
                   {{"alertname", "atmhealth_" + Text(data, "kind")},
                    {"device", Text(data, "device_id")},
                    {"site", Text(data, "site_id")},
                    {"alert_key", Text(data, "alert_key")},
                    {"severity", Text(data, "severity")},
                    {"category", Text(data, "category")},
                    {"source", "atmhealth-collector"}}},
                  {"annotations", {{"summary", Text(data, "summary")}}},
                  {"startsAt", Text(data, "firing_since")}};
    if (!alert.firing) alert.body["endsAt"] = fleet::Rfc3339(now_unix_ns);
    return alert;
  }
  if (event == "tolerance") {
    const std::int64_t percent = data.value("percent", 0);
    const std::int64_t tolerance_ms = data.value("tolerance_ms", 0);
    alert.body = {
        {"labels",
         {{"alertname", "atmhealth_impact_tolerance"},
          {"service", Text(data, "service")},
          {"percent", std::to_string(percent)},
          {"incident", Text(data, "incident_id")},
          {"severity", percent >= 100 ? "critical" : "warning"},
          {"category", "impact_tolerance"},
          {"source", "atmhealth-collector"}}},
        {"annotations",
         {{"summary",
           fmt::format("{} has been out for {} % of its impact tolerance ({} s) in incident #{}",
                       Text(data, "service"), percent, tolerance_ms / 1000,
                       Text(data, "incident_id"))},
          {"outage_since", Text(data, "outage_since")}}},
        {"startsAt", Text(data, "raised_at")}};
    if (!alert.firing) {
      const std::string resolved = Text(data, "resolved_at");
      alert.body["endsAt"] =
          resolved.empty() || resolved == "null" ? fleet::Rfc3339(now_unix_ns) : resolved;
    }
    return alert;
  }
  return std::nullopt;
}

std::size_t PendingAlerts::DropForRoom() {
  if (queue_.size() < max_) return 0;
  auto victim = std::find_if(queue_.begin(), queue_.end(),
                             [](const AlertmanagerAlert& alert) { return alert.firing; });
  if (victim == queue_.end()) victim = queue_.begin();
  by_fingerprint_.erase(victim->Fingerprint());
  queue_.erase(victim);
  return 1;
}

std::size_t PendingAlerts::Push(AlertmanagerAlert alert) {
  const std::string fingerprint = alert.Fingerprint();
  if (const auto found = by_fingerprint_.find(fingerprint); found != by_fingerprint_.end()) {
    *found->second = std::move(alert);
    return 0;
  }
  const std::size_t dropped = DropForRoom();
  queue_.push_back(std::move(alert));
  by_fingerprint_[fingerprint] = std::prev(queue_.end());
  return dropped;
}

std::vector<AlertmanagerAlert> PendingAlerts::Take(std::size_t count) {
  std::vector<AlertmanagerAlert> taken;
  while (!queue_.empty() && taken.size() < count) {
    by_fingerprint_.erase(queue_.front().Fingerprint());
    taken.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  return taken;
}

std::size_t PendingAlerts::PutBack(std::vector<AlertmanagerAlert> alerts) {
  std::size_t dropped = 0;
  for (auto alert = alerts.rbegin(); alert != alerts.rend(); ++alert) {
    const std::string fingerprint = alert->Fingerprint();
    if (by_fingerprint_.contains(fingerprint)) continue;  // superseded
    if (queue_.size() >= max_) {
      ++dropped;  // the oldest: this one
      continue;
    }
    queue_.push_front(std::move(*alert));
    by_fingerprint_[fingerprint] = queue_.begin();
  }
  return dropped;
}

Result<std::unique_ptr<AlertmanagerForwarder>> AlertmanagerForwarder::Create(
    asio::io_context& io, Options options, prometheus::Registry& registry,
    const platform::Clock& clock) {
  constexpr std::string_view kScheme = "http://";
  const std::string& url = options.url;
  if (!url.starts_with(kScheme)) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("alertmanager url \"{}\": only http:// is spoken", url));
  }
  const std::string rest = url.substr(kScheme.size());
  const std::size_t slash = rest.find('/');
  Result<platform::HostPort> endpoint = platform::ParseHostPort(rest.substr(0, slash));
  if (!endpoint) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("alertmanager url \"{}\": {}", url, endpoint.error().message()));
  }
  std::string prefix = slash == std::string::npos ? "" : rest.substr(slash);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  return std::unique_ptr<AlertmanagerForwarder>(new AlertmanagerForwarder(
      io, std::move(options), endpoint->host, std::to_string(endpoint->port),
      prefix + "/api/v2/alerts", registry, clock));
}

AlertmanagerForwarder::AlertmanagerForwarder(asio::io_context& io, Options options,
                                             std::string host, std::string port, std::string path,
                                             prometheus::Registry& registry,
                                             const platform::Clock& clock)
    : options_(std::move(options)),
      host_(std::move(host)),
      port_(std::move(port)),
      path_(std::move(path)),
      strand_(asio::make_strand(io)),
      wake_(strand_),
      failing_(clock),
      pending_(options_.max_queued),
      sent_(prometheus::BuildCounter()
                .Name("atmhealth_collector_alertmanager_alerts_sent_total")
                .Help("Alerts Alertmanager accepted (firing, resolved and sent again)")
                .Register(registry)
                .Add({{"alertmanager", options_.url}})),
      failed_(prometheus::BuildCounter()
                  .Name("atmhealth_collector_alertmanager_posts_failed_total")
                  .Help("POSTs to Alertmanager that failed (no connection, timeout, not 2xx); "
                        "their alerts are retried")
                  .Register(registry)
                  .Add({{"alertmanager", options_.url}})),
      dropped_(prometheus::BuildCounter()
                   .Name("atmhealth_collector_alertmanager_alerts_dropped_total")
                   .Help("Alerts dropped because max_queued alerts were waiting")
                   .Register(registry)
                   .Add({{"alertmanager", options_.url}})),
      queued_(prometheus::BuildGauge()
                  .Name("atmhealth_collector_alertmanager_queue_depth")
                  .Help("Alerts waiting to be sent to Alertmanager")
                  .Register(registry)
                  .Add({{"alertmanager", options_.url}})) {}

void AlertmanagerForwarder::Offer(const std::string& event, const json& data) {
  const std::int64_t now = platform::UnixNanos(std::chrono::system_clock::now());
  std::optional<AlertmanagerAlert> alert = AlertmanagerAlertFor(event, data, now);
  if (!alert) return;
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    const std::string fingerprint = alert->Fingerprint();
    if (alert->firing) {
      firing_[fingerprint] = alert->body;
    } else {
      firing_.erase(fingerprint);
    }
    // The firing set is bounded like the queue: beyond it, the oldest
    // fingerprints are no longer sent again (their endsAt ends them).
    while (firing_.size() > options_.max_queued) firing_.erase(firing_.begin());
    dropped_.Increment(static_cast<double>(pending_.Push(std::move(*alert))));
    queued_.Set(static_cast<double>(pending_.size()));
  }
  Wake();
}

void AlertmanagerForwarder::Wake() {
  asio::post(strand_, [this] { wake_.cancel(); });
}

void AlertmanagerForwarder::Start() { asio::co_spawn(strand_, Run(), asio::detached); }

void AlertmanagerForwarder::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
  }
  Wake();
}

asio::awaitable<void> AlertmanagerForwarder::Run() {
  auto next_resend = std::chrono::steady_clock::now() + options_.resend_interval;
  std::chrono::milliseconds retry_delay = options_.retry_initial_delay;
  for (;;) {
    std::vector<AlertmanagerAlert> batch;
    {
      std::lock_guard lock(mutex_);
      if (stopped_) co_return;
      if (std::chrono::steady_clock::now() >= next_resend) {
        for (const auto& [fingerprint, body] : firing_) {
          dropped_.Increment(static_cast<double>(pending_.Push({body, true})));
        }
        next_resend = std::chrono::steady_clock::now() + options_.resend_interval;
      }
      batch = pending_.Take(options_.max_batch);
      queued_.Set(static_cast<double>(pending_.size()));
    }
    if (batch.empty()) {
      wake_.expires_at(next_resend);
      boost::system::error_code ec;
      co_await wake_.async_wait(redirect_error(use_awaitable, ec));
      continue;
    }
    const std::int64_t now = platform::UnixNanos(std::chrono::system_clock::now());
    json alerts = json::array();
    for (const AlertmanagerAlert& alert : batch) {
      json body = alert.body;
      if (alert.firing) {
        body["endsAt"] = fleet::Rfc3339(now + kEndsAtResends * Nanos(options_.resend_interval));
      }
      alerts.push_back(std::move(body));
    }
    const Status posted =
        co_await Post(alerts.dump(-1, ' ', false, json::error_handler_t::replace));
    if (posted) {
      sent_.Increment(static_cast<double>(batch.size()));
      retry_delay = options_.retry_initial_delay;
      if (const auto total = failing_.Cleared()) {
        spdlog::info("alertmanager {}: alerts delivered again after {} failed attempts",
                     options_.url, *total);
      }
      continue;
    }
    failed_.Increment();
    if (const auto repeats = failing_.Occurred()) {
      spdlog::warn("alertmanager {}: {}; retrying {} alerts in {} ms{}", options_.url,
                   posted.error().message(), batch.size(), retry_delay.count(),
                   platform::RepeatedCondition::Note(*repeats));
    }
    {
      std::lock_guard lock(mutex_);
      dropped_.Increment(static_cast<double>(pending_.PutBack(std::move(batch))));
      queued_.Set(static_cast<double>(pending_.size()));
    }
    // Waits out the delay; only Stop() ends the wait early (new alerts
    // join the retry).
    const auto retry_at = std::chrono::steady_clock::now() + retry_delay;
    while (std::chrono::steady_clock::now() < retry_at) {
      {
        std::lock_guard lock(mutex_);
        if (stopped_) co_return;
      }
      wake_.expires_at(retry_at);
      boost::system::error_code ec;
      co_await wake_.async_wait(redirect_error(use_awaitable, ec));
    }
    retry_delay = std::min(retry_delay * 2, options_.retry_max_delay);
  }
}

asio::awaitable<Status> AlertmanagerForwarder::Post(const std::string& alerts) {
  boost::system::error_code ec;
  asio::ip::tcp::resolver resolver(strand_);
  // The resolver has no deadline of its own: a timer cancels it.
  asio::steady_timer resolve_deadline(strand_);
  resolve_deadline.expires_after(options_.timeout);
  resolve_deadline.async_wait([&resolver](const boost::system::error_code& waited) {
    if (!waited) resolver.cancel();
  });
  const auto endpoints =
      co_await resolver.async_resolve(host_, port_, redirect_error(use_awaitable, ec));
  resolve_deadline.cancel();
  if (ec)
    co_return Error(ErrorCode::kUnavailable, fmt::format("resolve {}: {}", host_, ec.message()));

  boost::beast::tcp_stream stream(strand_);
  stream.expires_after(options_.timeout);
  co_await stream.async_connect(endpoints, redirect_error(use_awaitable, ec));
  if (ec) co_return Error(ErrorCode::kUnavailable, fmt::format("connect: {}", ec.message()));

  http::request<http::string_body> request(http::verb::post, path_, 11);
  request.set(http::field::host, host_ + ":" + port_);
  request.set(http::field::user_agent, "atmhealth-collector");
  request.set(http::field::content_type, "application/json");
  request.keep_alive(false);
  request.body() = alerts;
  request.prepare_payload();
  co_await http::async_write(stream, request, redirect_error(use_awaitable, ec));
  if (ec) co_return Error(ErrorCode::kUnavailable, fmt::format("send: {}", ec.message()));

  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBytes);
  co_await http::async_read(stream, buffer, parser, redirect_error(use_awaitable, ec));
  if (ec) co_return Error(ErrorCode::kUnavailable, fmt::format("answer: {}", ec.message()));
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  const auto& response = parser.get();
  if (response.result_int() / 100 != 2) {
    std::string body = response.body().substr(0, 200);
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
    co_return Error(ErrorCode::kUnavailable,
                    fmt::format("POST {} answered {}: {}", path_, response.result_int(), body));
  }
  co_return OkStatus();
}

}  // namespace atmhealth::collector
