// Forwards the collector's alerts to Prometheus Alertmanager (its v2 API,
// POST /api/v2/alerts), so that a bank's existing on-call routing pages for
// them: every device alert firing and resolving, and every impact-tolerance
// alert (50 % and 100 % of a customer service's tolerance) raised and
// resolved.
//
// As Prometheus does, a firing alert is sent with endsAt = now + 4 x
// resend_interval and sent again every resend_interval while it fires, so
// that an alert whose resolution never arrives (the collector stopped, the
// queue overflowed) ends in Alertmanager by itself; a resolved alert is sent
// with endsAt = when it resolved.
//
// Bounded: at most max_queued alerts wait per Alertmanager. A newer state of
// an alert replaces the one still waiting; when full, the oldest firing alert
// (sent again at the next resend anyway) is dropped first, then the oldest.
// Failed POSTs are retried with a doubling delay (retry_initial_delay up to
// retry_max_delay). Sent, failed and dropped alerts are counted; a failing
// Alertmanager is logged when it starts failing, then at most once a minute,
// and when it answers again.
#ifndef ATMHEALTH_COLLECTOR_ALERTING_ALERTMANAGER_FORWARDER_H_
#define ATMHEALTH_COLLECTOR_ALERTING_ALERTMANAGER_FORWARDER_H_

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "platform/asio.h"
#include "platform/repeated_condition.h"
#include "platform/status.h"

namespace atmhealth::collector {

// One alert in Alertmanager's form: labels (its identity), annotations,
// startsAt, and endsAt once resolved.
struct AlertmanagerAlert {
  nlohmann::json body;
  bool firing = true;
  // The labels as text: the same alert has the same fingerprint.
  std::string Fingerprint() const;
};

// The Alertmanager alert for a fleet event (fleet_monitor.h: "alert" and
// "tolerance"); nullopt for the other events.
std::optional<AlertmanagerAlert> AlertmanagerAlertFor(const std::string& event,
                                                      const nlohmann::json& data,
                                                      std::int64_t now_unix_ns);

// The alerts waiting for one Alertmanager, oldest first. Not thread-safe.
class PendingAlerts {
 public:
  explicit PendingAlerts(std::size_t max_alerts) : max_(max_alerts) {}
  // Adds `alert`, or replaces in place a waiting state of the same alert.
  // Returns how many alerts were dropped to stay within the bound.
  std::size_t Push(AlertmanagerAlert alert);
  // Takes up to `count` of the oldest.
  std::vector<AlertmanagerAlert> Take(std::size_t count);
  // Puts alerts whose POST failed back before the others, except those
  // whose newer state arrived meanwhile. Returns how many were dropped.
  std::size_t PutBack(std::vector<AlertmanagerAlert> alerts);
  std::size_t size() const { return queue_.size(); }

 private:
  std::size_t DropForRoom();

  const std::size_t max_;
  std::list<AlertmanagerAlert> queue_;
  std::unordered_map<std::string, std::list<AlertmanagerAlert>::iterator> by_fingerprint_;
};

class AlertmanagerForwarder {
 public:
  struct Options {
    std::string url;  // "http://host:port[/prefix]"
    std::chrono::milliseconds timeout{10'000};
    std::chrono::milliseconds resend_interval{60'000};
    std::chrono::milliseconds retry_initial_delay{1000};
    std::chrono::milliseconds retry_max_delay{60'000};
    std::size_t max_queued = 10'000;
    std::size_t max_batch = 64;
  };

  // Checks the URL. The io_context, registry and clock must outlive the
  // forwarder; Stop() it and run the io_context out before destroying it.
  static Result<std::unique_ptr<AlertmanagerForwarder>> Create(asio::io_context& io,
                                                               Options options,
                                                               prometheus::Registry& registry,
                                                               const platform::Clock& clock);

  // Queues the alert of a fleet event, if it is one. Thread-safe, never
  // blocks on the network.
  void Offer(const std::string& event, const nlohmann::json& data);

  // Starts sending on the io_context. Call once.
  void Start();
  // Stops sending; what still waits is dropped. Thread-safe.
  void Stop();

 private:
  AlertmanagerForwarder(asio::io_context& io, Options options, std::string host, std::string port,
                        std::string path, prometheus::Registry& registry,
                        const platform::Clock& clock);
  asio::awaitable<void> Run();
  // One POST of `alerts` (a JSON array).
  asio::awaitable<Status> Post(const std::string& alerts);
  void Wake();

  const Options options_;
  const std::string host_;
  const std::string port_;
  const std::string path_;  // of the alerts endpoint: "<prefix>/api/v2/alerts"
  asio::strand<asio::io_context::executor_type> strand_;
  asio::steady_timer wake_;  // on strand_: the loop waits on it
  platform::RepeatedCondition failing_;

  std::mutex mutex_;  // guards the members below
  PendingAlerts pending_;
  std::map<std::string, nlohmann::json> firing_;  // fingerprint -> body, sent again
  bool stopped_ = false;

  prometheus::Counter& sent_;
  prometheus::Counter& failed_;
  prometheus::Counter& dropped_;
  prometheus::Gauge& queued_;
};

}  // namespace atmhealth::collector

#endif  // ATMHEALTH_COLLECTOR_ALERTING_ALERTMANAGER_FORWARDER_H_
