#include "collector/store/pg_change_listener.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace atmhealth::collector {
namespace {

// How long one wait for a notification blocks: bounds how long stopping
// the listener takes.
constexpr long kWaitMicroseconds = 200'000;

class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection& connection, std::function<void()> on_notification)
      : pqxx::notification_receiver(connection, kPgFleetChannel),
        on_notification_(std::move(on_notification)) {}
  void operator()(const std::string& /*payload*/, int /*backend_pid*/) override {
    on_notification_();
  }

 private:
  std::function<void()> on_notification_;
};

}  // namespace

PgChangeListener::PgChangeListener(PgConnectionOptions options, std::function<void()> changed)
    : options_(std::move(options)), changed_(std::move(changed)) {
  thread_ = std::thread([this] { Run(); });
}

PgChangeListener::~PgChangeListener() {
  stopping_ = true;
  thread_.join();
}

void PgChangeListener::Run() {
  const std::string where = "postgresql " + RedactedUrl(options_.url);
  bool failing = false;
  while (!stopping_) {
    try {
      pqxx::connection connection(PgConnectString(options_));
      // Declared after the connection: gone before it.
      Receiver receiver(connection, [this] {
        ++notifications_;
        changed_();
      });
      if (failing) spdlog::info("{}: listening for changes again", where);
      failing = false;
      // Whatever was notified while there was no connection.
      changed_();
      while (!stopping_) connection.await_notification(0, kWaitMicroseconds);
    } catch (const std::exception& error) {
      if (!failing) {
        spdlog::warn(
            "{}: not listening for changes of other collectors ({}); the fleet state "
            "follows them at its evaluation interval until the connection is back",
            where, error.what());
      }
      failing = true;
      const auto until = std::chrono::steady_clock::now() + options_.reconnect_interval;
      while (!stopping_ && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  }
}

}  // namespace atmhealth::collector
