// Keeps the fleet's derived state current: every `interval` it reads the
// store (on its own read connection), derives device and service states,
// moves incidents and impact-tolerance alerts on, saves incidents, publishes
// what changed to the event stream and updates the fleet metrics.
//
// Of several collectors on one database, one keeps the incidents (the
// store's incident lead, FleetStore::HoldIncidentLead): only it opens,
// moves, numbers and saves them; the others read them from the store each
// evaluation (at once when the keeper NOTIFYs a save) and publish what
// changed, so an incident has one id on every collector. When the keeper
// dies another takes the lead at its next evaluation and carries on the
// saved incidents. HTTP
// handlers read the latest FleetView without waiting for anything, and run
// their history queries on the monitor's thread through Query().
//
// Retention: every `retention.interval` it deletes the events and the
// heartbeat history older than `retention.events`, in transactions of at most
// `retention.batch_rows` rows with a pause between them, so the ingest writer never waits behind a
// long delete; the event behind each alert's current state stays.
//
// If the store cannot be read, the last rows read are judged again at the new
// time, so devices still turn unreachable when their heartbeats are overdue;
// the failure is logged and counted.
#ifndef ATMHEALTH_COLLECTOR_FLEET_FLEET_MONITOR_H_
#define ATMHEALTH_COLLECTOR_FLEET_FLEET_MONITOR_H_

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "collector/fleet/fleet_state.h"
#include "collector/fleet/fleet_store.h"
#include "collector/fleet/incident_tracker.h"
#include "platform/asio.h"
#include "platform/clock.h"
#include "platform/status.h"

namespace atmhealth::collector::fleet {

// What the API serves: one snapshot with the incidents open at that time.
struct FleetView {
  std::shared_ptr<const FleetSnapshot> snapshot;
  std::vector<Incident> open_incidents;                          // by id
  std::map<std::string, std::int64_t, std::less<>> incident_of;  // device -> open incident
  std::int64_t tolerance_alerts_firing = 0;

  std::int64_t IncidentOf(std::string_view device_id) const;
};

// Schema "FleetSummary" of docs/openapi.json.
nlohmann::json FleetSummaryJson(const FleetView& view);

class FleetMonitor {
 public:
  // Called on the monitor thread with each change: event name (device,
  // alert, incident, incident_merged, tolerance, fleet) and its JSON.
  using Publisher = std::function<void(const std::string& event, const nlohmann::json& data)>;

  struct Retention {
    std::chrono::milliseconds events{0};         // events received longer ago are purged; 0: kept
    std::chrono::milliseconds interval{60'000};  // between purge passes
    std::int64_t batch_rows = 1000;              // events per delete transaction
    std::chrono::milliseconds pause{20};         // between two batches of a pass
  };

  struct Options {
    FleetRules rules;
    IncidentRules incidents;
    std::chrono::milliseconds interval{1000};
    std::filesystem::path sites_file;  // empty: no registry
    Publisher publish;                 // may be empty
    Retention retention;
  };

  // Opens the store's read and incident connections, loads the sites file,
  // restores the open incidents and takes the first snapshot.
  static Result<std::unique_ptr<FleetMonitor>> Open(const std::string& database_path,
                                                    Options options, prometheus::Registry& registry,
                                                    const platform::Clock& clock);
  // The same on a store opened by the caller (PostgreSQL).
  static Result<std::unique_ptr<FleetMonitor>> Open(std::unique_ptr<FleetStore> store,
                                                    Options options, prometheus::Registry& registry,
                                                    const platform::Clock& clock);
  ~FleetMonitor();  // Stop()s
  FleetMonitor(const FleetMonitor&) = delete;
  FleetMonitor& operator=(const FleetMonitor&) = delete;

  // Starts the periodic evaluation on the monitor's thread.
  void Start();
  // Ends it and joins the thread; idempotent.
  void Stop();

  // The monitor thread's executor, for proving it alive (platform/watchdog.h).
  asio::any_io_executor executor() { return thread_.get_executor(); }

  // Evaluates as soon as it may instead of at the next interval: the store
  // changed (another collector's NOTIFY). Early evaluations come at most
  // five times a second, however often this is called. Thread-safe.
  void EvaluateSoon();

  // The latest view. Thread-safe, never waits for the store.
  std::shared_ptr<const FleetView> Current() const;

  // Runs `work` with the store on the monitor thread; the calling coroutine
  // resumes on its own executor with the result.
  template <typename R>
  asio::awaitable<R> Query(std::function<R(FleetStore&)> work);

  // Reads the sites file again; the next evaluation uses it. On an error the
  // registry in use stays. Thread-safe.
  asio::awaitable<Status> ReloadSites();

 private:
  FleetMonitor(Options options, std::unique_ptr<FleetStore> store, prometheus::Registry& registry,
               const platform::Clock& clock);
  void Evaluate();
  asio::awaitable<void> Loop();
  asio::awaitable<void> PurgeLoop();
  bool stopped() const;
  // Whether this collector keeps the incidents in this evaluation
  // (FleetStore::HoldIncidentLead); taking them over restores the tracker
  // from the store, losing them forgets what was not saved.
  bool HoldIncidentLead();
  Status SaveIncidents(const IncidentChanges& changes, std::int64_t now);
  // While another collector keeps the incidents: reads them as it saved
  // them into followed_, and what changed since the last read.
  IncidentChanges FollowIncidents(std::int64_t now);
  // `incidents` by id: the tracker's, or followed_.
  void Publish(const FleetSnapshot* before, const FleetView& after, const IncidentChanges& changes,
               const std::map<std::int64_t, Incident>& incidents);
  void UpdateMetrics(const FleetView& view);

  const Options options_;
  const platform::Clock& clock_;
  std::unique_ptr<FleetStore> store_;          // on the monitor thread only
  IncidentTracker tracker_;                    // on the monitor thread only
  std::shared_ptr<const SiteRegistry> sites_;  // on the monitor thread only
  std::vector<StoredDevice> last_rows_;        // on the monitor thread only
  std::uint64_t version_ = 0;                  // on the monitor thread only
  // Incidents changed or merged away but not yet saved (the store failed).
  std::set<std::int64_t> unsaved_;          // on the monitor thread only
  std::set<std::int64_t> unsaved_removed_;  // on the monitor thread only
  // The tracker holds the store's incidents (restored at Open or at a
  // takeover); false while following. On the monitor thread only.
  bool restored_ = false;
  bool leading_ = false;    // in the last evaluation; monitor thread
  bool following_ = false;  // followed_ was read since the lead went; monitor thread
  // The incidents another collector keeps, as last read; monitor thread.
  std::map<std::int64_t, Incident> followed_;
  asio::thread_pool thread_{1};
  asio::steady_timer timer_;
  asio::steady_timer purge_timer_;
  bool stopped_ = false;  // guarded by mutex_
  // When the last evaluation started; on the monitor thread only.
  std::chrono::steady_clock::time_point last_evaluation_{};
  bool holding_off_ = false;  // an early evaluation waits for its turn; monitor thread

  mutable std::mutex mutex_;  // guards current_ and stopped_
  std::shared_ptr<const FleetView> current_;

  prometheus::Family<prometheus::Gauge>& devices_;
  prometheus::Family<prometheus::Gauge>& services_;
  prometheus::Family<prometheus::Gauge>& alerts_firing_;
  prometheus::Gauge& incidents_open_;
  prometheus::Gauge& incident_lead_;
  prometheus::Family<prometheus::Gauge>& tolerance_firing_;
  prometheus::Family<prometheus::Counter>& tolerance_raised_;
  prometheus::Counter& evaluation_failures_;
  prometheus::Gauge& database_bytes_;
  prometheus::Counter& purged_events_;
  prometheus::Counter& purged_heartbeats_;
  prometheus::Counter& purge_failures_;
  std::map<std::map<std::string, std::string>, bool> alert_series_;  // series seen, to zero them
};

template <typename R>
asio::awaitable<R> FleetMonitor::Query(std::function<R(FleetStore&)> work) {
  // Not a coroutine itself: `work` moves straight onto the monitor thread,
  // and the awaiting coroutine resumes on its own executor with the result
  // (which is kept busy meanwhile, so its io_context does not run dry).
  auto initiate = [this](auto handler, std::function<R(FleetStore&)> queued) {
    const asio::any_io_executor resume_on = asio::get_associated_executor(handler);
    asio::post(thread_, [this, queued = std::move(queued), handler = std::move(handler),
                         busy = asio::prefer(resume_on,
                                             asio::execution::outstanding_work.tracked)]() mutable {
      R result = queued(*store_);
      asio::post(busy, [handler = std::move(handler), result = std::move(result)]() mutable {
        std::move(handler)(std::move(result));
      });
    });
  };
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(R)>(
      std::move(initiate), asio::use_awaitable, std::move(work));
}

}  // namespace atmhealth::collector::fleet

#endif  // ATMHEALTH_COLLECTOR_FLEET_FLEET_MONITOR_H_
