#include "collector/collector.h"

#include <fmt/format.h>
#include <prometheus/registry.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/process/environment.hpp>
#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <system_error>
#include <thread>
#include <vector>

#include "collector/alerting/alertmanager_forwarder.h"
#include "collector/fleet/fleet_monitor.h"
#include "collector/http/access_control.h"
#include "collector/http/dashboard_routes.h"
#include "collector/http/event_stream.h"
#include "collector/http/fleet_routes.h"
#include "collector/http/http_server.h"
#include "collector/http/operational_routes.h"
#include "collector/ingest/agent_listener.h"
#include "collector/ingest/ingest_metrics.h"
#include "collector/ingest/store_executor.h"
#include "collector/ingest/tls_credentials.h"
#include "collector/store/pg_change_listener.h"
#include "collector/store/pg_collector_store.h"
#include "platform/asio.h"
#include "platform/clock.h"
#include "platform/log_text.h"
#include "platform/service_notify.h"
#include "platform/watchdog.h"

namespace atmhealth::collector {
namespace {

using asio::redirect_error;
using asio::use_awaitable;

constexpr int kNetworkThreads = 2;
constexpr std::chrono::milliseconds kShutdownPollInterval{20};
constexpr const char* kLoggerName = "atmhealth-collector";

int ProcessId() { return boost::this_process::get_id(); }

// "<host name>:<pid>": tells collectors behind one address apart in the
// agents' logs.
std::string DefaultCollectorId() {
  boost::system::error_code ec;
  std::string host = asio::ip::host_name(ec);
  if (ec || host.empty()) host = "collector";
  return fmt::format("{}:{}", host, ProcessId());
}

// The [store] connection settings of a PostgreSQL store; every connection
// (ingest, fleet) is made with them. A statement never runs longer than a
// store call may wait.
PgConnectionOptions PgOptions(const CollectorConfig::Store& store) {
  PgConnectionOptions options;
  options.url = store.url;
  options.connect_timeout = store.connect_timeout;
  options.reconnect_interval = store.reconnect_interval;
  options.statement_timeout = store.timeout;
  return options;
}

// What the log's "ready" line says the store is.
std::string DescribeStore(const CollectorConfig::Store& store) {
  if (store.backend == "postgresql") return "postgresql " + RedactedUrl(store.url);
  return store.path;
}

Status WriteReadyFile(const std::filesystem::path& path, std::uint16_t agent_port,
                      std::uint16_t http_port) {
  const nlohmann::json ready = {
      {"agent_port", agent_port}, {"http_port", http_port}, {"pid", ProcessId()}};
  std::filesystem::path temporary = path;
  temporary += fmt::format(".{}.tmp", ProcessId());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << ready.dump() << '\n';
    out.close();
    if (!out) {
      return Error(ErrorCode::kIo, fmt::format("--ready-file {}: cannot write {}", path.string(),
                                               temporary.string()));
    }
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) {
    std::filesystem::remove(temporary, ec);
    return Error(ErrorCode::kIo,
                 fmt::format("--ready-file {}: cannot rename the temporary file into place: {}",
                             path.string(), ec.message()));
  }
  return OkStatus();
}

}  // namespace

const char* CollectorVersion() { return ATMHEALTH_VERSION; }

void ConfigureLogging(const std::string& level) {
  auto logger = spdlog::get(kLoggerName);
  if (logger == nullptr) logger = spdlog::stderr_color_mt(kLoggerName);
  spdlog::set_default_logger(logger);
  platform::EscapeEveryLogMessage();
  spdlog::set_level(spdlog::level::from_str(level));
}

// Declared in the order they must be built; destroyed in reverse, which
// ends the listeners before the store thread is joined, and joins the store
// thread (whose completions are posted to the io_context) before the
// io_context goes away.
struct Collector::Parts {
  explicit Parts(const CollectorConfig& collector_config)
      : config(collector_config), metrics(registry), signals(io, SIGINT, SIGTERM) {}

  asio::awaitable<void> Shutdown();
  void BeginShutdown();
  // Under TLS: reloads changed TLS files every reload_interval, and all of
  // them on SIGHUP, until the shutdown.
  asio::awaitable<void> WatchTlsFiles();
  void AwaitHangup();

  const CollectorConfig config;
  prometheus::Registry registry;
  IngestMetrics metrics;
  asio::io_context io{kNetworkThreads};
  // The signal set, and the shutdown that starts from it, run on this strand.
  asio::strand<asio::io_context::executor_type> control{asio::make_strand(io)};
  asio::signal_set signals;
  std::unique_ptr<StoreExecutor> store;
  std::unique_ptr<TlsCredentials> tls;  // null in plaintext; outlives the listener
  asio::steady_timer tls_reload{control};
  asio::signal_set hangup{control};
  // Fleet state and its API; only with a SQLite store (Open(config)).
  std::unique_ptr<AccessControl> access;
  std::unique_ptr<EventStream> events;
  // One per [alertmanager] url; fed by the fleet monitor, so built before it.
  std::vector<std::unique_ptr<AlertmanagerForwarder>> alertmanagers;
  std::unique_ptr<fleet::FleetMonitor> fleet_monitor;
  // PostgreSQL: wakes the fleet monitor when any collector moved an alert.
  std::unique_ptr<PgChangeListener> changes;
  std::unique_ptr<AgentListener> listener;
  std::unique_ptr<HttpServer> http;
  // Under systemd's WatchdogSec=; runs on `control`.
  std::optional<platform::Watchdog> watchdog;
  bool shutting_down = false;  // on `control` only
  std::atomic<bool> ran{false};
};

void Collector::Parts::BeginShutdown() {
  if (shutting_down) return;
  shutting_down = true;
  asio::co_spawn(control, Shutdown(), asio::detached);
}

asio::awaitable<void> Collector::Parts::Shutdown() {
  platform::NotifyStopping();
  if (watchdog) watchdog->Stop();
  boost::system::error_code ignored;
  signals.cancel(ignored);
  hangup.cancel(ignored);
  tls_reload.cancel();
  spdlog::info("stopping: no new agent connections; {} sessions finish their current batch",
               listener->active_sessions());
  listener->Shutdown();
  const auto deadline = std::chrono::steady_clock::now() + kShutdownGrace;
  asio::steady_timer poll(control);
  while (listener->active_sessions() > 0 && std::chrono::steady_clock::now() < deadline) {
    poll.expires_after(kShutdownPollInterval);
    boost::system::error_code ec;
    co_await poll.async_wait(redirect_error(use_awaitable, ec));
  }
  if (const std::size_t left = listener->active_sessions(); left > 0) {
    spdlog::warn("{} sessions did not end within {} ms; closing them", left,
                 kShutdownGrace.count());
    listener->AbortSessions();
  }
  http->Stop();
  if (events) events->Close();
  for (const auto& alertmanager : alertmanagers) alertmanager->Stop();
}

asio::awaitable<void> Collector::Parts::WatchTlsFiles() {
  while (!shutting_down) {
    tls_reload.expires_after(config.tls.reload_interval);
    boost::system::error_code ec;
    co_await tls_reload.async_wait(redirect_error(use_awaitable, ec));
    if (shutting_down) break;
    tls->Reload(/*force=*/false);
  }
}

void Collector::Parts::AwaitHangup() {
  hangup.async_wait(asio::bind_executor(control, [this](const boost::system::error_code& ec, int) {
    if (ec || shutting_down) return;
    spdlog::info("received SIGHUP: loading the TLS files again");
    tls->Reload(/*force=*/true);
    AwaitHangup();
  }));
}

Result<std::unique_ptr<Collector>> Collector::Open(const CollectorConfig& config) {
  Result<std::unique_ptr<CollectorStore>> store =
      config.store.backend == "postgresql"
          ? PgCollectorStore::Open(
                PgCollectorStoreOptions{PgOptions(config.store), config.store.heartbeat_history})
          : CollectorStore::OpenSqlite(config.store.path, config.store.heartbeat_history);
  if (!store && store.error().code() == ErrorCode::kCorrupt) {
    // Never "repaired" by starting over: the file may be the only copy.
    return Error(ErrorCode::kCorrupt,
                 fmt::format("{}; the collector database {} is damaged or is not a SQLite "
                             "database. It was left as it is: restore it from a backup, or move "
                             "it aside to start with an empty one",
                             store.error().message(), config.store.path));
  }
  if (!store) return store.error();
  Result<std::unique_ptr<Collector>> collector = Open(config, std::move(*store));
  if (!collector) return collector;
  if (Status attached = (*collector)->AttachFleet(); !attached) return attached.error();
  return collector;
}

Status Collector::AttachFleet() {
  Parts& parts = *parts_;
  const CollectorConfig& config = parts.config;
  std::vector<ApiToken> tokens;
  for (const CollectorConfig::Api::Token& token : config.api.tokens) {
    tokens.push_back(
        ApiToken{token.name, ParseApiRole(token.role).value_or(ApiRole::kRead), token.sha256});
  }
  if (tokens.empty()) {
    spdlog::warn(
        "no [[api.token]] configured: every operator API request will be refused; "
        "only /api/v1/availability, /metrics and /healthz answer");
  }
  parts.access = std::make_unique<AccessControl>(std::move(tokens), parts.registry);
  EventStream::Options stream;
  stream.max_subscribers = config.api.max_streams;
  stream.max_queued = config.api.stream_queue;
  parts.events = std::make_unique<EventStream>(stream, parts.registry);

  fleet::FleetMonitor::Options monitor;
  monitor.rules.missed_heartbeats = config.fleet.missed_heartbeats;
  monitor.incidents.correlation_window = config.fleet.correlation_window;
  monitor.incidents.correlation_min_devices = config.fleet.correlation_min_devices;
  monitor.incidents.tolerance = config.fleet.tolerance;
  monitor.interval = config.fleet.evaluate_interval;
  monitor.sites_file = config.fleet.sites_file;
  monitor.retention.events = config.retention.events;
  monitor.retention.interval = config.retention.interval;
  monitor.retention.batch_rows = config.retention.batch_rows;
  for (const std::string& url : config.alertmanager.urls) {
    AlertmanagerForwarder::Options forward;
    forward.url = url;
    forward.timeout = config.alertmanager.timeout;
    forward.resend_interval = config.alertmanager.resend_interval;
    forward.retry_initial_delay = config.alertmanager.retry_initial_delay;
    forward.retry_max_delay = config.alertmanager.retry_max_delay;
    forward.max_queued = config.alertmanager.max_queued;
    forward.max_batch = config.alertmanager.max_batch;
    Result<std::unique_ptr<AlertmanagerForwarder>> forwarder = AlertmanagerForwarder::Create(
        parts.io, std::move(forward), parts.registry, platform::Clock::Real());
    if (!forwarder) return forwarder.error();
    parts.alertmanagers.push_back(std::move(*forwarder));
  }
  EventStream* events = parts.events.get();
  const auto* alertmanagers = &parts.alertmanagers;
  monitor.publish = [events, alertmanagers](const std::string& event, const nlohmann::json& data) {
    events->Publish(event, data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    for (const auto& alertmanager : *alertmanagers) alertmanager->Offer(event, data);
  };
  Result<std::unique_ptr<fleet::FleetStore>> fleet_store =
      config.store.backend == "postgresql"
          ? fleet::FleetStore::OpenPostgres(PgOptions(config.store))
          : fleet::FleetStore::OpenSqlite(config.store.path, std::chrono::milliseconds(5000));
  if (!fleet_store) return fleet_store.error();
  Result<std::unique_ptr<fleet::FleetMonitor>> opened = fleet::FleetMonitor::Open(
      std::move(*fleet_store), std::move(monitor), parts.registry, platform::Clock::Real());
  if (!opened) return opened.error();
  parts.fleet_monitor = std::move(*opened);
  if (config.store.backend == "postgresql") {
    parts.changes = std::make_unique<PgChangeListener>(
        PgOptions(config.store),
        [monitor = parts.fleet_monitor.get()] { monitor->EvaluateSoon(); });
  }

  FleetRouteOptions routes;
  routes.feed.nearest = config.api.feed_nearest;
  routes.feed_max_age = std::chrono::duration_cast<std::chrono::seconds>(config.api.feed_max_age);
  AddFleetRoutes(*parts.http, *parts.fleet_monitor, *parts.events, *parts.access, routes);
  AddDashboardRoutes(*parts.http);
  return OkStatus();
}

Result<std::unique_ptr<Collector>> Collector::Open(const CollectorConfig& config,
                                                   std::unique_ptr<CollectorStore> store) {
  auto parts = std::make_unique<Parts>(config);
  StoreExecutor::Options store_options;
  store_options.max_queued_calls = config.store.max_queued_calls;
  store_options.max_group_events = config.store.max_group_events;
  store_options.stalled_after = config.store.timeout;
  parts->store = std::make_unique<StoreExecutor>(std::move(store), store_options, &parts->metrics);

  AgentListener::Options agents;
  agents.address = config.listen.address;
  agents.port = config.listen.port;
  agents.max_sessions = config.listen.max_sessions;
  agents.max_handshakes = config.listen.max_handshakes;
  agents.session.max_frame_bytes = config.listen.max_frame_bytes;
  agents.session.max_batch_events = config.listen.max_batch_events;
  agents.session.max_frames_in_store = config.listen.max_frames_in_store;
  agents.session.read_ahead_queue_limit =
      std::max<std::size_t>(config.store.max_queued_calls / 2, 1);
  agents.session.hello_timeout = config.listen.hello_timeout;
  agents.session.idle_timeout = config.listen.idle_timeout;
  agents.session.store_timeout = config.store.timeout;
  agents.session.collector_id = DefaultCollectorId();
  if (!config.listen.plaintext) {
    Result<std::unique_ptr<TlsCredentials>> tls =
        TlsCredentials::Load(wire::TlsFiles{config.tls.certificate, config.tls.private_key,
                                            config.tls.ca, config.tls.crls},
                             parts->metrics);
    if (!tls) return Error(tls.error().code(), "[tls] " + tls.error().message());
    parts->tls = std::move(*tls);
    agents.tls = parts->tls.get();
  }
  Result<std::unique_ptr<AgentListener>> listener = AgentListener::Bind(
      parts->io, std::move(agents), *parts->store, parts->metrics, platform::Clock::Real());
  if (!listener) return listener.error();
  parts->listener = std::move(*listener);

  HttpServer::Options http;
  http.address = config.http.address;
  http.port = config.http.port;
  Result<std::unique_ptr<HttpServer>> server =
      HttpServer::Bind(parts->io, std::move(http), parts->registry);
  if (!server) return server.error();
  parts->http = std::move(*server);
  AddOperationalRoutes(*parts->http, parts->registry,
                       [store = parts->store.get()] { return store->WriteHealth(); });

  return std::unique_ptr<Collector>(new Collector(std::move(parts)));
}

Collector::Collector(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

Collector::~Collector() = default;

std::uint16_t Collector::agent_port() const { return parts_->listener->port(); }
std::uint16_t Collector::http_port() const { return parts_->http->port(); }
prometheus::Registry& Collector::registry() { return parts_->registry; }

void Collector::RequestStop() {
  Parts* parts = parts_.get();
  asio::post(parts->control, [parts] { parts->BeginShutdown(); });
}

Status Collector::Run(const std::filesystem::path& ready_file) {
  if (parts_->ran.exchange(true)) {
    return Error(ErrorCode::kInternal, "Collector::Run: called twice");
  }
  Parts& parts = *parts_;
  parts.listener->Start();
  parts.http->Start();
  if (parts.tls != nullptr) {
    asio::co_spawn(parts.control, parts.WatchTlsFiles(), asio::detached);
    boost::system::error_code ec;
    parts.hangup.add(SIGHUP, ec);
    if (ec)
      spdlog::warn("cannot catch SIGHUP ({}); TLS files reload on their timer only", ec.message());
    parts.AwaitHangup();
  }
  for (const auto& alertmanager : parts.alertmanagers) alertmanager->Start();
  if (parts.fleet_monitor) parts.fleet_monitor->Start();
  parts.signals.async_wait(asio::bind_executor(
      parts.control, [&parts](const boost::system::error_code& ec, int signal_number) {
        if (ec) return;  // cancelled by a shutdown that RequestStop() began
        spdlog::info("received signal {}", signal_number);
        parts.BeginShutdown();
      }));
  if (!ready_file.empty()) {
    if (Status written = WriteReadyFile(ready_file, agent_port(), http_port()); !written) {
      RequestStop();
      parts.io.run();
      return written;
    }
  }
  spdlog::info("atmhealth-collector {} ready: agents on {}:{}, HTTP on {}:{}, store {}",
               CollectorVersion(), parts.config.listen.address, agent_port(),
               parts.config.http.address, http_port(), DescribeStore(parts.config.store));
  if (auto interval = platform::WatchdogInterval()) {
    // Pings while a network thread (the one running the watchdog), the
    // store thread and the fleet monitor's thread all answer: a hung fsync
    // or a stuck evaluation gets the collector restarted.
    parts.watchdog.emplace(parts.control,
                           std::chrono::duration_cast<std::chrono::milliseconds>(*interval / 2),
                           [] { platform::NotifyWatchdog(); });
    parts.watchdog->Watch("store", parts.store->executor());
    if (parts.fleet_monitor) parts.watchdog->Watch("fleet", parts.fleet_monitor->executor());
    asio::co_spawn(parts.control, parts.watchdog->Run(), asio::detached);
  }
  platform::NotifyReady(
      fmt::format("agents on port {}, HTTP on port {}", agent_port(), http_port()));

  std::vector<std::thread> threads;
  for (int i = 1; i < kNetworkThreads; ++i) threads.emplace_back([&parts] { parts.io.run(); });
  parts.io.run();
  for (std::thread& thread : threads) thread.join();
  parts.changes.reset();
  if (parts.fleet_monitor) parts.fleet_monitor->Stop();
  parts.store->Join();
  spdlog::info("stopped");
  return OkStatus();
}

}  // namespace atmhealth::collector
