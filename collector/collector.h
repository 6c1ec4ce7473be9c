// The collector process: the agent listener, the HTTP server and the store,
// wired from a CollectorConfig. Runs until SIGTERM or SIGINT (or
// RequestStop()), then stops accepting, lets each session finish the batch it
// is storing, refuses the rest with REASON_SHUTTING_DOWN and returns.
//
//   auto collector = Collector::Open(config);     // opens the store, binds both ports
//   collector.value()->Run(ready_file);
#ifndef ATMHEALTH_COLLECTOR_COLLECTOR_H_
#define ATMHEALTH_COLLECTOR_COLLECTOR_H_

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>

#include "collector/collector_config.h"
#include "collector/store/collector_store.h"
#include "platform/status.h"

namespace prometheus {
class Registry;
}

namespace atmhealth::collector {

// The software version, e.g. "0.1.0".
const char* CollectorVersion();

// Sets the process-wide log level ("trace" .. "off") and sends the log to
// stderr, which the service manager's journal collects.
void ConfigureLogging(const std::string& level);

class Collector {
 public:
  // Opens the SQLite store at config.store.path, then binds both listeners.
  static Result<std::unique_ptr<Collector>> Open(const CollectorConfig& config);
  // The same with a given store (tests use a fake one).
  static Result<std::unique_ptr<Collector>> Open(const CollectorConfig& config,
                                                 std::unique_ptr<CollectorStore> store);
  ~Collector();
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  // The bound ports (the real ones when the config said 0).
  std::uint16_t agent_port() const;
  std::uint16_t http_port() const;

  // Writes `ready_file` (when not empty) once both listeners are bound, then
  // serves until SIGTERM, SIGINT or RequestStop(). The ready file is JSON
  // {"agent_port": N, "http_port": M, "pid": P}, written to a temporary file
  // and renamed, so a reader never sees half of it. Call once.
  Status Run(const std::filesystem::path& ready_file = {});

  // Begins the shutdown Run() does on SIGTERM. Thread-safe; idempotent.
  void RequestStop();

  // Everything the collector counts; what GET /metrics serves.
  prometheus::Registry& registry();

 private:
  struct Parts;
  explicit Collector(std::unique_ptr<Parts> parts);
  // Adds the fleet monitor, the event stream and the API routes (SQLite
  // store only).
  Status AttachFleet();
  std::unique_ptr<Parts> parts_;
};

// How long sessions get to finish their current batch at shutdown before
// they are closed regardless.
inline constexpr std::chrono::milliseconds kShutdownGrace{10'000};

}  // namespace atmhealth::collector

#endif  // ATMHEALTH_COLLECTOR_COLLECTOR_H_
