#include "agent/daemon.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <future>
#include <optional>

#include "agent/agent_notice.h"
#include "agent/config_reload.h"
#include "agent/control/drill.h"
#include "agent/rules/service_status.h"
#include "agent/store/corrupt_buffer.h"
#include "agent/watch/watcher_registry.h"
#include "platform/log_output.h"
#include "platform/service_notify.h"
#include "platform/watchdog.h"
#include "proto/names.h"

namespace atmhealth::agent {
namespace {

// How long a stopping agent waits for the collector to acknowledge what is in
// flight; anything not acknowledged by then is simply sent again next time.
constexpr std::chrono::milliseconds kShutdownGrace{2000};
// How often every rule is evaluated on time, between measurements: the
// resolution of "for" durations and staleness limits.
constexpr std::chrono::milliseconds kRuleTick{1000};

}  // namespace

Daemon::Daemon(AgentConfig config) : config_(std::move(config)) {}

Daemon::~Daemon() { sampler_.join(); }

Result<std::unique_ptr<Daemon>> Daemon::Create(AgentConfig config, ConfigLoader reload) {
  std::unique_ptr<Daemon> daemon(new Daemon(std::move(config)));
  daemon->reload_ = std::move(reload);
  const AgentConfig& c = daemon->config_;

  const std::filesystem::path store_dir = std::filesystem::path(c.store.path).parent_path();
  std::error_code ec;
  if (!store_dir.empty()) std::filesystem::create_directories(store_dir, ec);
  if (ec) {
    return Error(ErrorCode::kIo,
                 "event buffer directory \"" + store_dir.string() + "\": " + ec.message());
  }
  EventStoreOptions store_options;
  store_options.path = c.store.path;
  store_options.max_bytes = c.store.max_bytes;
  store_options.max_pending_events = c.store.max_pending_events;
  store_options.max_pending_bytes = c.store.max_pending_bytes;
  auto opened = OpenEventStoreSettingAsideCorrupt(store_options, platform::Clock::Real());
  if (!opened.ok()) return opened.error();
  daemon->store_ = std::make_unique<StoreThread>(std::move(opened->store));
  if (opened->set_aside) {
    daemon->store_->Append({SetAsideNotice(*opened->set_aside, platform::Clock::Real())});
  }
  daemon->store_->set_commit_delay(c.store.commit_interval);

  daemon->baseline_store_ = std::make_unique<StoreThreadBaseline>(*daemon->store_);
  daemon->snapshotter_ = std::make_unique<Snapshotter>(
      c.diagnostics,
      [store = daemon->store_.get()](v1::Event snapshot) { store->Append({std::move(snapshot)}); },
      platform::Clock::Real());
  auto watchers = daemon->BuildWatchers(c.watchers);
  if (!watchers.ok()) return watchers.error();
  daemon->watchers_ = std::move(watchers).value();
  daemon->watcher_configs_ = c.watchers;
  // A rule without its FSA category is refused here, before the agent runs.
  std::vector<v1::Event> declared;
  if (Status s = daemon->DeclareRules(daemon->watchers_, declared); !s.ok()) return s.error();

  v1::DeviceIdentity device;
  device.set_device_id(c.device.id);
  device.set_site_id(c.device.site);
  device.set_kind(c.device.kind);
  Daemon* self = daemon.get();
  daemon->uplink_ =
      std::make_unique<Uplink>(daemon->io_.get_executor(), c.uplink, device, *daemon->store_,
                               [self] { return self->CurrentServices(); });
  daemon->uplink_->set_health_source([self](v1::AgentHealth& health) {
    std::lock_guard lock(self->services_mutex_);
    health.MergeFrom(self->watcher_health_);
  });
  // A failed commit is logged by the store, once and then summarised: the
  // store thread retries every second while a disk stays full.
  daemon->store_->set_on_commit([self](const Status& status, const EventStoreStats&) {
    if (status.ok()) self->uplink_->NotifyCommitted();
  });

  // Alerts that fired when the previous run ended carry on firing until a
  // measurement says otherwise.
  auto firing = daemon->store_->RunNow([](EventStore& s) { return s.FiringAlerts(); });
  if (!firing.ok()) return firing.error();
  std::vector<v1::Event> closed = daemon->rules_.Restore(*firing, platform::Clock::Real());
  if (const auto count = std::count_if(
          firing->begin(), firing->end(),
          [](const v1::Event& event) { return event.state() == v1::ALERT_STATE_FIRING; });
      count > 0) {
    spdlog::info("{} alerts were firing when the agent last ran", count);
  }
  for (const auto& event : *firing) daemon->active_alerts_.Observe(event);
  for (const auto& event : closed) daemon->active_alerts_.Observe(event);
  if (!closed.empty()) daemon->store_->Append(std::move(closed));
  daemon->services_ = ServiceStatuses(daemon->rules_, c.device.services);
  return daemon;
}

Result<std::vector<Daemon::ScheduledWatcher>> Daemon::BuildWatchers(
    const std::vector<WatcherConfig>& configs) {
  const WatcherContext context{config_.device, platform::Clock::Real(), baseline_store_.get()};
  std::vector<ScheduledWatcher> built;
  for (const WatcherConfig& watcher_config : configs) {
    auto watcher = CreateWatcher(watcher_config, context);
    if (!watcher.ok()) return watcher.error();
    built.push_back(ScheduledWatcher{
        std::move(watcher).value(), watcher_config.settings->interval,
        std::make_unique<asio::steady_timer>(sampler_.get_executor()),
        control::WatcherActivity{watcher_config.name, watcher_config.settings->interval}});
  }
  return built;
}

Status Daemon::DeclareRules(const std::vector<ScheduledWatcher>& watchers,
                            std::vector<v1::Event>& events) {
  for (const ScheduledWatcher& scheduled : watchers) {
    const Watcher& watcher = *scheduled.watcher;
    const Status declared =
        rules_.Declare(watcher.name(), watcher.Rules(), platform::Clock::Real(), events);
    if (!declared.ok()) {
      return Error(declared.error().code(),
                   fmt::format("watcher {}: {}", watcher.name(), declared.error().message()));
    }
  }
  return OkStatus();
}

Status Daemon::ReplaceWatchers(const std::vector<WatcherConfig>& configs) {
  if (!sampling_) return Error(ErrorCode::kUnavailable, "the agent is stopping");
  // The running set goes first: a watcher may hold what its successor needs
  // (the throughput watcher's feed sockets). Pending samples of the old set
  // are dropped by their generation.
  ++watcher_generation_;
  for (ScheduledWatcher& old : watchers_) old.timer->cancel();
  watchers_.clear();
  Status outcome = OkStatus();
  auto built = BuildWatchers(configs);
  if (built.ok()) {
    // Watchers no longer configured: their rules go, a firing alert
    // resolves ("no longer watched"). The others declare their rules at
    // their first sample, at once: a rule declared again keeps its state
    // under its new spec. (Some watchers know their subjects only once they
    // sampled, so their rules are not declared before.)
    std::vector<v1::Event> events;
    for (const WatcherConfig& old : watcher_configs_) {
      const bool stays = std::any_of(configs.begin(), configs.end(),
                                     [&](const WatcherConfig& c) { return c.name == old.name; });
      if (stays) continue;
      if (const Status retired = rules_.Declare(old.name, {}, platform::Clock::Real(), events);
          !retired.ok()) {
        spdlog::error("watcher {}: {}", old.name, retired.error().message());
      }
    }
    Publish(std::move(events));
    watcher_configs_ = configs;
  } else {
    // The running configuration's watchers again, from their settings.
    outcome = built.error();
    built = BuildWatchers(watcher_configs_);
    if (!built.ok()) {
      spdlog::critical("reload: the running watchers could not be built again either: {}",
                       built.error().message());
      return outcome;
    }
  }
  watchers_ = std::move(built).value();
  for (ScheduledWatcher& scheduled : watchers_) {
    ScheduleSample(scheduled, std::chrono::milliseconds(0));
  }
  return outcome;
}

void Daemon::RefuseReload(const std::string& reason) {
  ++reloads_.refused;
  reloads_.last_refusal = reason;
  reloads_.last_unix_ns = platform::UnixNanos(std::chrono::system_clock::now());
  spdlog::error("reload refused, the running configuration stays: {}", reason);
  store_->Append({AgentNotice(platform::Clock::Real(), v1::SEVERITY_WARNING,
                              v1::FAILURE_CATEGORY_PROGRAM_UPDATE, "config_reload",
                              "configuration reload refused: " + reason)});
}

asio::awaitable<void> Daemon::Reload() {
  if (!reload_) {
    spdlog::warn(
        "reload: SIGHUP ignored: the agent runs on its built-in defaults, there is no "
        "configuration file to read again");
    co_return;
  }
  if (reloading_) {
    spdlog::warn("reload: SIGHUP ignored: a reload is in progress");
    co_return;
  }
  reloading_ = true;
  Result<AgentConfig> loaded = reload_();
  if (!loaded.ok()) {
    RefuseReload(loaded.error().message());
    reloading_ = false;
    co_return;
  }
  auto on_sampler = [this, &loaded]() -> asio::awaitable<Status> {
    co_return ReplaceWatchers(loaded->watchers);
  };
  const Status replaced =
      co_await asio::co_spawn(sampler_.get_executor(), on_sampler(), asio::use_awaitable);
  if (!replaced.ok()) {
    RefuseReload(fmt::format("{}: {}", loaded->source, replaced.error().message()));
    reloading_ = false;
    co_return;
  }
  for (const std::string& settings : SettingsNeedingRestart(config_, *loaded)) {
    spdlog::warn("reload: {} changed in {}: needs a restart, not applied", settings,
                 loaded->source);
  }
  snapshotter_->Configure(loaded->diagnostics);
  const bool uplink_changed = !(loaded->uplink == config_.uplink);
  if (uplink_changed) {
    // The session ends as at shutdown, acknowledgements awaited; the next
    // starts at once on the new [uplink].
    uplink_->Reconfigure(loaded->uplink, kShutdownGrace);
    config_.uplink = loaded->uplink;
  }
  if (loaded->log.level != config_.log.level) {
    spdlog::set_level(spdlog::level::from_str(loaded->log.level));
    config_.log.level = loaded->log.level;
  }
  ++reloads_.applied;
  reloads_.last_unix_ns = platform::UnixNanos(std::chrono::system_clock::now());
  std::string names;
  for (const WatcherConfig& watcher : loaded->watchers) {
    names += (names.empty() ? "" : ", ") + watcher.name;
  }
  spdlog::info("reload: {} applied: watchers {}; [diagnostics]; {}[log] level {}", loaded->source,
               names.empty() ? "none" : names, uplink_changed ? "[uplink] (a new session); " : "",
               config_.log.level);
  reloading_ = false;
}

std::vector<v1::ServiceStatus> Daemon::CurrentServices() const {
  std::lock_guard lock(services_mutex_);
  return services_;
}

void Daemon::Publish(std::vector<v1::Event> events) {
  {
    std::lock_guard lock(services_mutex_);
    services_ = ServiceStatuses(rules_, config_.device.services);
  }
  for (const auto& event : events) {
    active_alerts_.Observe(event);
    // In the journal: journalctl ATMHEALTH_ALERT_KEY=storage:/var
    platform::ScopedLogFields fields({{"ATMHEALTH_ALERT_KEY", event.alert_key()},
                                      {"ATMHEALTH_SEVERITY", wire::ShortName(event.severity())},
                                      {"ATMHEALTH_ALERT_STATE", wire::ShortName(event.state())}});
    spdlog::log(
        event.severity() == v1::SEVERITY_CRITICAL ? spdlog::level::err : spdlog::level::warn, "{}",
        event.summary());
  }
  if (events.empty()) return;
  std::vector<v1::Event> firing;
  for (const v1::Event& event : events) {
    if (event.state() == v1::ALERT_STATE_FIRING) firing.push_back(event);
  }
  store_->Append(std::move(events));
  // Queued after the alerts' own append: a snapshot never reaches the
  // buffer before its alert.
  for (v1::Event& event : firing) snapshotter_->Take(std::move(event));
}

void Daemon::SampleOnce(ScheduledWatcher& scheduled) {
  Watcher& watcher = *scheduled.watcher;
  const platform::Clock& clock = platform::Clock::Real();
  std::vector<Measurement> measurements;
  watcher.Sample(measurements);
  ++scheduled.activity.samples;
  scheduled.activity.last_sample_unix_ns = platform::UnixNanos(clock.WallNow());
  scheduled.activity.last_measurements = measurements.size();
  std::vector<v1::Event> events;
  // The watcher's subjects may have changed (a filesystem mounted).
  if (const Status declared = rules_.Declare(watcher.name(), watcher.Rules(), clock, events);
      !declared.ok()) {
    spdlog::error("watcher {}: {}", watcher.name(), declared.error().message());
  }
  rules_.Evaluate(measurements, clock, events);
  v1::AgentHealth health;
  for (const ScheduledWatcher& each : watchers_) each.watcher->ReportHealth(health);
  {
    std::lock_guard lock(services_mutex_);
    watcher_health_ = std::move(health);
  }
  Publish(std::move(events));
}

void Daemon::ScheduleSample(ScheduledWatcher& scheduled, std::chrono::milliseconds delay) {
  if (!sampling_) return;
  scheduled.timer->expires_after(delay);
  scheduled.timer->async_wait(
      [this, &scheduled, generation = watcher_generation_](boost::system::error_code ec) {
        // A wait that completed just before the cancel still sees sampling_,
        // and one of a watcher set a reload replaced its generation.
        if (ec || !sampling_ || generation != watcher_generation_) return;
        SampleOnce(scheduled);
        ScheduleSample(scheduled, scheduled.interval);
      });
}

void Daemon::ScheduleTick() {
  if (!sampling_) return;
  tick_timer_.expires_after(kRuleTick);
  tick_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || !sampling_) return;
    std::vector<v1::Event> events;
    rules_.Tick(platform::Clock::Real(), events);
    Publish(std::move(events));
    ScheduleTick();
  });
}

void Daemon::OpenControl() {
  if (!config_.control.enabled) return;
  const std::string path = ControlSocketPath(config_);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::map<std::string, control::ControlServer::Command> commands;
  commands["status"] = [this](const nlohmann::json&) { return StatusAnswer(); };
  commands["drill"] = [this](const nlohmann::json& request) { return DrillAnswer(request); };
  auto opened =
      control::ControlServer::Open(io_.get_executor(), path, config_.control, std::move(commands));
  if (!opened.ok()) {
    spdlog::error("{}; atmhealthctl status cannot reach this agent (events still work)",
                  opened.error().message());
    return;
  }
  control_ = std::move(opened).value();
}

asio::awaitable<nlohmann::json> Daemon::StatusAnswer() {
  auto on_sampler = [this]() -> asio::awaitable<nlohmann::json> {
    std::vector<control::WatcherActivity> activity;
    for (const ScheduledWatcher& scheduled : watchers_) activity.push_back(scheduled.activity);
    co_return control::SamplerStatus(activity, rules_, active_alerts_,
                                     ServiceStatuses(rules_, config_.device.services));
  };
  nlohmann::json answer =
      co_await asio::co_spawn(sampler_.get_executor(), std::move(on_sampler), asio::use_awaitable);
  const EventStoreStats stats =
      co_await store_->Run([](EventStore& store) { return store.Stats(); });
  const UplinkLink& link = uplink_->link();
  answer["ok"] = true;
  answer["agent"] = {{"version", ATMHEALTH_VERSION},
                     {"device", config_.device.id},
                     {"site", config_.device.site},
                     {"config", config_.source},
                     {"started_unix_ns", platform::UnixNanos(started_at_)},
                     {"now_unix_ns", platform::UnixNanos(std::chrono::system_clock::now())}};
  answer["uplink"] = control::LinkStatus(link, uplink_->counters(), stats);
  answer["buffer"] = control::BufferStatus(config_.store.path, stats);
  answer["degraded"] = control::DegradedReasons(link, stats);
  if (control_) answer["control"] = control::ControlStatus(control_->counters());
  answer["config_reload"] = control::ReloadStatus(reloads_);
  answer["diagnostics"] = control::DiagnosticsStatus(snapshotter_->counters());
  co_return answer;
}

asio::awaitable<nlohmann::json> Daemon::AwaitAck(std::uint64_t seq,
                                                 std::chrono::milliseconds timeout) {
  // Acknowledgements are seen where they arrive, on this thread; a short
  // poll measures them to within a few milliseconds without a hook into the
  // uplink's session.
  constexpr std::chrono::milliseconds kPoll{5};
  const auto started = std::chrono::steady_clock::now();
  const auto deadline = started + timeout;
  asio::steady_timer poll(io_);
  while (uplink_->link().last_ack_seq < seq && std::chrono::steady_clock::now() < deadline) {
    poll.expires_after(kPoll);
    boost::system::error_code ignored;
    co_await poll.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  const bool acknowledged = uplink_->link().last_ack_seq >= seq;
  nlohmann::json step{{"seq", seq}, {"acknowledged", acknowledged}};
  if (acknowledged) {
    step["ack_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - started)
                         .count();
  }
  co_return step;
}

asio::awaitable<nlohmann::json> Daemon::DrillAnswer(const nlohmann::json& request) {
  constexpr std::chrono::milliseconds kMaxTimeout{60000};
  const auto kind = control::ParseDrillKind(request.value("kind", std::string()));
  if (!kind) {
    co_return nlohmann::json{
        {"ok", false}, {"error", "drill: \"kind\" must be storage, redundancy or throughput"}};
  }
  const std::chrono::milliseconds timeout(request.value("timeout_ms", std::int64_t{10000}));
  if (timeout.count() <= 0 || timeout > kMaxTimeout) {
    co_return nlohmann::json{{"ok", false},
                             {"error", "drill: \"timeout_ms\" must be between 1 and 60000"}};
  }
  if (drilling_) {
    co_return nlohmann::json{{"ok", false}, {"error", "drill: another drill is running"}};
  }
  drilling_ = true;
  const control::DrillPlan plan = control::MakeDrill(
      *kind, std::to_string(platform::UnixNanos(std::chrono::system_clock::now()) / 1'000'000'000));
  spdlog::warn("drill {} started: synthetic fault {}, not a real failure",
               control::DrillKindName(*kind), plan.alert_key);

  // One step on the sampler thread: the drill's rule, evaluated as any
  // other, its events marked.
  auto step_on_sampler = [this, &plan](bool fault) -> asio::awaitable<std::vector<v1::Event>> {
    std::vector<v1::Event> events;
    const platform::Clock& clock = platform::Clock::Real();
    if (fault) {
      const Status declared = rules_.Declare(control::kDrillOwner, {plan.rule}, clock, events);
      if (!declared.ok()) spdlog::error("drill: {}", declared.error().message());
    }
    rules_.Evaluate({fault ? plan.fault : plan.cleared}, clock, events);
    if (!fault) {
      const Status retired = rules_.Declare(control::kDrillOwner, {}, clock, events);
      if (!retired.ok()) spdlog::error("drill: {}", retired.error().message());
    }
    control::MarkDrillEvents(plan.alert_key, events);
    for (const auto& event : events) active_alerts_.Observe(event);
    co_return events;
  };
  nlohmann::json answer{{"ok", true},
                        {"kind", control::DrillKindName(*kind)},
                        {"alert_key", plan.alert_key},
                        {"collector", uplink_->link().endpoint}};
  for (const bool fault : {true, false}) {
    auto on_sampler = [&step_on_sampler, fault] { return step_on_sampler(fault); };
    std::vector<v1::Event> events =
        co_await asio::co_spawn(sampler_.get_executor(), on_sampler(), asio::use_awaitable);
    const std::uint64_t seq = co_await store_->AppendAndSequence(std::move(events));
    nlohmann::json step = {{"seq", 0}, {"acknowledged", false}};
    if (seq != 0) step = co_await AwaitAck(seq, timeout);
    answer[fault ? "fired" : "resolved"] = std::move(step);
  }
  spdlog::warn(
      "drill {} ended: {} fired as seq {}, {}", control::DrillKindName(*kind), plan.alert_key,
      answer["fired"]["seq"].get<std::uint64_t>(),
      answer["fired"]["acknowledged"].get<bool>()
          ? fmt::format("acknowledged after {} ms", answer["fired"]["ack_ms"].get<std::int64_t>())
          : "not acknowledged in time");
  drilling_ = false;
  co_return answer;
}

int Daemon::Run() {
  spdlog::info("atmhealthd {} starting: device {} at site {}, buffer {}", ATMHEALTH_VERSION,
               config_.device.id, config_.device.site, config_.store.path);
  store_->Append({AgentNotice(platform::Clock::Real(), v1::SEVERITY_INFO,
                              v1::FAILURE_CATEGORY_DAILY_OPERATION_RECOVERY, "atmhealthd",
                              "atmhealthd " ATMHEALTH_VERSION " started")});
  asio::co_spawn(io_, uplink_->Run(), [this](std::exception_ptr error) {
    if (error) std::rethrow_exception(error);  // a bug: abort loudly
    io_.stop();
  });
  asio::post(sampler_, [this] {
    for (ScheduledWatcher& scheduled : watchers_) {
      ScheduleSample(scheduled, std::chrono::milliseconds(0));
    }
    ScheduleTick();
  });

  // SIGHUP: the configuration read again (agent/config_reload.h).
  asio::signal_set hangup(io_, SIGHUP);
  std::function<void()> await_hangup = [this, &hangup, &await_hangup] {
    hangup.async_wait([this, &await_hangup](boost::system::error_code ec, int) {
      if (ec) return;
      spdlog::info("atmhealthd: SIGHUP received, reading the configuration again");
      asio::co_spawn(io_, Reload(), asio::detached);
      await_hangup();
    });
  };
  await_hangup();

  asio::signal_set signals(io_, SIGTERM, SIGINT);
  signals.async_wait([this, &hangup](boost::system::error_code ec, int signal) {
    if (ec) return;
    hangup.cancel();
    spdlog::info("atmhealthd: {} received, stopping", signal == SIGTERM ? "SIGTERM" : "SIGINT");
    platform::NotifyStopping();
    // Stop sampling first so that no event is produced after the final commit.
    std::promise<void> sampling_stopped;
    asio::post(sampler_, [this, &sampling_stopped] {
      sampling_ = false;
      for (ScheduledWatcher& scheduled : watchers_) scheduled.timer->cancel();
      tick_timer_.cancel();
      sampling_stopped.set_value();
    });
    sampling_stopped.get_future().wait();
    if (control_) control_->Close();
    uplink_->Stop(kShutdownGrace);
  });

  std::optional<platform::Watchdog> watchdog;
  if (auto interval = platform::WatchdogInterval()) {
    // The main thread pets the service manager's watchdog while it, the
    // sampler, the store thread and the watchers' own threads (crm_mon's)
    // all answer: if any of them hangs,
    // systemd restarts the agent.
    watchdog.emplace(io_.get_executor(),
                     std::chrono::duration_cast<std::chrono::milliseconds>(*interval / 2),
                     [] { platform::NotifyWatchdog(); });
    watchdog->Watch("sampler", sampler_.get_executor());
    watchdog->Watch("store", store_->executor());
    watchdog->Watch("diagnostics", snapshotter_->executor());
    if (2 * snapshotter_->LongestSnapshot() >= *interval) {
      spdlog::warn(
          "a diagnostic snapshot may take {} (its walk and every command at its time limit), "
          "which is not under half the service's WatchdogSec ({}): raise WatchdogSec or lower "
          "[diagnostics] limits",
          platform::FormatDuration(snapshotter_->LongestSnapshot()),
          platform::FormatDuration(
              std::chrono::duration_cast<std::chrono::milliseconds>(*interval)));
    }
    for (const ScheduledWatcher& scheduled : watchers_) {
      for (WatcherThread& thread : scheduled.watcher->Threads()) {
        const std::string name = fmt::format("{} {}", scheduled.watcher->name(), thread.name);
        if (2 * thread.longest_task >= *interval) {
          // A run that legitimately lasts its whole limit would stop the
          // pings and systemd would restart the agent.
          spdlog::warn(
              "{} may be busy for {} at once, which is not under half the service's "
              "WatchdogSec ({}): raise WatchdogSec or lower its time limit",
              name, platform::FormatDuration(thread.longest_task),
              platform::FormatDuration(
                  std::chrono::duration_cast<std::chrono::milliseconds>(*interval)));
        }
        watchdog->Watch(name, std::move(thread.executor));
      }
    }
    asio::co_spawn(io_, watchdog->Run(), asio::detached);
  }
  OpenControl();
  platform::NotifyReady("watching");

  io_.run();

  // A snapshot being taken still reaches the final commit.
  snapshotter_->Stop();
  const Status committed = store_->CommitNow();
  const EventStoreStats stats = store_->RunNow([](EventStore& store) { return store.Stats(); });
  if (!committed.ok()) {
    spdlog::error("atmhealthd: final commit failed, {} events not stored: {}", stats.pending_events,
                  committed.error().message());
    return 1;
  }
  spdlog::info("atmhealthd: stopped; {} events buffered, {} not yet delivered", stats.last_seq,
               stats.backlog_events);
  return 0;
}

}  // namespace atmhealth::agent
