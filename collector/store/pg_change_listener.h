// Tells this collector at once when any collector sharing its PostgreSQL
// database stored a change that operators watch: the PostgreSQL store
// NOTIFYs kPgFleetChannel in the transaction that moves an alert, and this
// listener (LISTEN on a connection of its own, on a thread of its own) calls
// `changed` when the notification arrives, so the fleet monitor evaluates
// now instead of at its next interval and the live stream of every
// collector shows the change. Without it every collector would still see the
// change, one evaluation interval later.
//
// After its connection was lost it connects again (every reconnect
// interval) and calls `changed` once connected: what was notified meanwhile
// is not lost, only late.
#ifndef ATMHEALTH_COLLECTOR_STORE_PG_CHANGE_LISTENER_H_
#define ATMHEALTH_COLLECTOR_STORE_PG_CHANGE_LISTENER_H_

#include <atomic>
#include <functional>
#include <thread>

#include "collector/store/pg_connection.h"

namespace atmhealth::collector {

// The channel of NOTIFY / LISTEN.
inline constexpr const char* kPgFleetChannel = "atmhealth_fleet";

class PgChangeListener {
 public:
  // `changed` runs on the listener's thread; it must be quick and
  // thread-safe (post work elsewhere).
  PgChangeListener(PgConnectionOptions options, std::function<void()> changed);
  ~PgChangeListener();  // stops and joins the thread
  PgChangeListener(const PgChangeListener&) = delete;
  PgChangeListener& operator=(const PgChangeListener&) = delete;

  // Notifications received so far.
  std::uint64_t notifications() const { return notifications_.load(); }

 private:
  void Run();

  const PgConnectionOptions options_;
  const std::function<void()> changed_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> notifications_{0};
  std::thread thread_;
};

}  // namespace atmhealth::collector

#endif  // ATMHEALTH_COLLECTOR_STORE_PG_CHANGE_LISTENER_H_
