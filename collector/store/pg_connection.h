// One connection to the collector's PostgreSQL database that comes back by
// itself after the server restarts or the network drops: a call on a broken
// connection fails with kUnavailable (the agent is refused with
// REASON_STORE_UNAVAILABLE and a retry hint, nothing is acknowledged), and a
// later call connects again, at most once per reconnect interval so that a
// dead server is not hammered. libpqxx's exceptions become the project's
// Error here, once, with the database named (never its password).
//
// Not thread-safe: each user (the store thread, the fleet monitor, the
// stream listener) owns its own connection.
#ifndef ATMHEALTH_COLLECTOR_STORE_PG_CONNECTION_H_
#define ATMHEALTH_COLLECTOR_STORE_PG_CONNECTION_H_

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <string_view>

#include "platform/status.h"

namespace atmhealth::collector {

struct PgConnectionOptions {
  // libpq connection string: "postgresql://user@host:5432/atmhealth" or
  // "host=... dbname=...". A connect_timeout in it wins over the one below.
  std::string url;
  // One connection attempt at most, rounded up to whole seconds (libpq).
  std::chrono::milliseconds connect_timeout{5000};
  // After a failed attempt, the next one waits at least this long.
  std::chrono::milliseconds reconnect_interval{1000};
  // Any one statement at most (statement_timeout); 0: no limit.
  std::chrono::milliseconds statement_timeout{0};
  // Shown in pg_stat_activity.
  std::string application_name = "atmhealth-collector";
};

// The url without its password, for messages: "postgresql://ops@db/atmhealth".
std::string RedactedUrl(std::string_view url);
// The url with connect_timeout and application_name added unless it names
// them itself: what a connection is made with.
std::string PgConnectString(const PgConnectionOptions& options);

class PgConnection {
 public:
  // Runs on every new connection, before it is used: prepares statements,
  // LISTENs. An exception from it fails the connect.
  using OnConnect = std::function<void(pqxx::connection&)>;

  PgConnection(PgConnectionOptions options, OnConnect on_connect);
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;
  ~PgConnection();

  // The connection, connecting first when there is none. kUnavailable when
  // the server cannot be reached (or was tried less than reconnect_interval
  // ago).
  Result<pqxx::connection*> Get();
  // Forgets the connection: the next Get() connects again.
  void Drop();
  bool connected() const { return connection_ != nullptr; }
  // Counts the connections made: a different value means a new session on
  // the server, without what the old one held (session advisory locks,
  // LISTENs).
  std::uint64_t generation() const { return generation_; }

  // "postgresql <redacted url>": starts every message about this database.
  const std::string& where() const { return where_; }

  // The project's error for a libpqxx (or libpq) exception thrown while
  // doing `what`. When the exception says the connection broke, broken()
  // is true from then on: destroy every transaction on it, then Drop() (or
  // let the next Get() do it).
  Error Failed(const std::exception& error, std::string_view what);
  bool broken() const { return broken_; }

  // Runs `work(connection)` and returns its result; an exception becomes
  // the error Failed() makes of it. When the connection was found broken
  // before anything of `work` could have been done (the server restarted
  // since the last call), it connects again and runs `work` once more.
  template <typename T, typename Work>
  Result<T> Run(std::string_view what, Work work);

 private:
  const PgConnectionOptions options_;
  const OnConnect on_connect_;
  const std::string where_;
  std::string connect_string_;
  std::unique_ptr<pqxx::connection> connection_;
  std::chrono::steady_clock::time_point next_attempt_{};
  std::string last_failure_;
  bool broken_ = false;
  std::uint64_t generation_ = 0;
};

template <typename T, typename Work>
Result<T> PgConnection::Run(std::string_view what, Work work) {
  for (int attempt = 0;; ++attempt) {
    const bool was_connected = connected();
    Result<pqxx::connection*> connection = Get();
    if (!connection) return connection.error();
    try {
      return work(**connection);
    } catch (const pqxx::broken_connection& error) {
      // A connection that was up since the last call broke on its first
      // statement: the server went away in between. Once more, fresh.
      Error failed = Failed(error, what);
      Drop();
      if (attempt > 0 || !was_connected) return failed;
    } catch (const std::exception& error) {
      Error failed = Failed(error, what);
      if (broken_) Drop();
      return failed;
    }
  }
}

}  // namespace atmhealth::collector

#endif  // ATMHEALTH_COLLECTOR_STORE_PG_CONNECTION_H_
