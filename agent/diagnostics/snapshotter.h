// Takes diagnostic snapshots (snapshot.h) on a thread of its own, so that
// neither the alert nor the sampler ever waits for the evidence: the
// sampler hands over each firing event and goes on; the snapshot follows
// as a notice once taken. At most max_pending snapshots wait or are being
// taken; an alert storm beyond that is skipped, counted and logged once.
#ifndef ATMHEALTH_AGENT_DIAGNOSTICS_SNAPSHOTTER_H_
#define ATMHEALTH_AGENT_DIAGNOSTICS_SNAPSHOTTER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include "agent/diagnostics/diagnostics_config.h"
#include "atmhealth/v1/event.pb.h"
#include "platform/asio.h"
#include "platform/clock.h"
#include "platform/repeated_condition.h"

namespace atmhealth::agent {

class Snapshotter {
 public:
  // `sink` gets each snapshot, on the snapshotter's thread.
  using Sink = std::function<void(v1::Event snapshot)>;
  Snapshotter(DiagnosticsConfig config, Sink sink, const platform::Clock& clock);
  ~Snapshotter();  // Stop()
  Snapshotter(const Snapshotter&) = delete;
  Snapshotter& operator=(const Snapshotter&) = delete;

  // Queues the snapshot of a firing event; false when it was skipped (the
  // diagnostics are off, or max_pending are already waiting). Any thread.
  bool Take(v1::Event firing);
  // The configuration of snapshots queued from now on (SIGHUP). Any thread.
  void Configure(DiagnosticsConfig config);
  // Drops what waits, lets the snapshot being taken finish (its limits
  // bound it) and joins the thread. Its sink may still run until then.
  void Stop();

  struct Counters {
    std::uint64_t taken = 0;
    std::uint64_t skipped = 0;  // max_pending were waiting
    std::uint64_t pending = 0;  // waiting or being taken now
    std::int64_t last_unix_ns = 0;
  };
  Counters counters() const;
  // The thread's executor, for the watchdog; with the longest a snapshot
  // may take, which the watchdog's period must exceed.
  asio::any_io_executor executor() { return pool_.get_executor(); }
  std::chrono::milliseconds LongestSnapshot() const;

 private:
  const platform::Clock& clock_;
  Sink sink_;
  mutable std::mutex mutex_;
  std::shared_ptr<const DiagnosticsConfig> config_;  // guarded by mutex_
  bool stopping_ = false;                            // guarded by mutex_
  platform::RepeatedCondition storm_;                // guarded by mutex_: skips, logged
  std::atomic<std::uint64_t> pending_{0};
  std::atomic<std::uint64_t> taken_{0};
  std::atomic<std::uint64_t> skipped_{0};
  std::atomic<std::int64_t> last_unix_ns_{0};
  asio::thread_pool pool_{1};
};

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_DIAGNOSTICS_SNAPSHOTTER_H_
