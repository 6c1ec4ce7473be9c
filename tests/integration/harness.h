// Runs the real binaries against each other on loopback: a collector on port
// 0 with its own SQLite file, and agents with generated configs, each in its
// own scratch directory. Logs of both are printed when a test fails.
#ifndef ATMHEALTH_TESTS_INTEGRATION_HARNESS_H_
#define ATMHEALTH_TESTS_INTEGRATION_HARNESS_H_

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/sqlite_reader.h"

namespace atmhealth::testing {

class CollectorProcess {
 public:
  // Starts atmhealth-collector storing into `db`, listening on `agent_port`
  // (0: any free port) and an HTTP port chosen by the system; waits until
  // both listeners are bound.
  // With `config_toml`, it is written to dir/collector.toml and passed
  // with --config (the flags above still apply on top of it).
  CollectorProcess(const std::filesystem::path& dir, const std::filesystem::path& db,
                   std::uint16_t agent_port = 0, const std::string& config_toml = "");
  // atmhealth-collector-slow-store instead: every store call takes
  // `store_delay` longer, as on a disk that syncs slowly; `store_toml` is
  // added to the [store] table of its config (e.g. "max_queued_calls = 4").
  static std::unique_ptr<CollectorProcess> SlowStore(const std::filesystem::path& dir,
                                                     const std::filesystem::path& db,
                                                     std::chrono::microseconds store_delay,
                                                     const std::string& store_toml);

  std::uint16_t agent_port() const { return agent_port_; }
  std::uint16_t http_port() const { return http_port_; }
  const std::filesystem::path& db() const { return db_; }
  Process& process() { return *process_; }
  // GET a path of the collector's HTTP server; the body, or "" on failure.
  std::string HttpGet(const std::string& target) const;
  // The value of one Prometheus sample, e.g.
  // Metric("atmhealth_collector_frames_rejected_total{reason=\"oversized\"}"); -1 if absent.
  double Metric(const std::string& sample) const;

 private:
  CollectorProcess() = default;
  // Starts `binary` with `args` plus --ready-file and waits until it is ready.
  void Launch(const std::filesystem::path& binary, std::vector<std::string> args,
              const std::filesystem::path& dir);

  std::filesystem::path db_;
  std::unique_ptr<Process> process_;
  std::uint16_t agent_port_ = 0;
  std::uint16_t http_port_ = 0;
};

struct AgentOptions {
  std::string device_id = "atm-it-01";
  std::string site_id = "test-site";
  std::uint16_t collector_port = 0;
  // Further collectors of [uplink] collectors, after collector_port: the
  // agent fails over to them in order.
  std::vector<std::uint16_t> more_collector_ports;
  std::filesystem::path watched;  // filesystem to watch
  std::filesystem::path store;    // event buffer file
  std::string sample_interval = "100ms";
  std::string heartbeat_interval = "500ms";
  bool all_mounts = false;   // [storage] all_mounts
  std::string storage_keys;  // more TOML inside [storage], e.g. forecast settings
  std::string extra;         // more TOML appended verbatim
  // The [uplink] lines that choose the transport: plaintext, or the TLS
  // files (ca, certificate, private_key).
  std::string transport = "plaintext = true\n";
};

// The TOML for an agent watching one filesystem: warning at 70 %, critical
// at 90 %, withdrawal and deposit lost when critical.
std::string AgentConfigToml(const AgentOptions& options);

// A loopback TCP port free at the time of the call, for a program that must
// be told its port before it starts (the collector restarted on the same
// port, an Alertmanager).
std::uint16_t FreePort();

class AgentProcess {
 public:
  AgentProcess(const std::filesystem::path& dir, const AgentOptions& options);
  Process& process() { return *process_; }
  const std::filesystem::path& config() const { return config_; }

 private:
  std::filesystem::path config_;
  std::unique_ptr<Process> process_;
};

// Events of one device stored at the collector, as rows, in sequence order.
std::vector<Row> CollectorEvents(const std::filesystem::path& db, const std::string& device_id,
                                 const std::string& where = "1");

// The first event of one device at the collector matching `where`, waiting
// up to `timeout` for it to arrive.
std::optional<Row> AwaitCollectorEvent(const std::filesystem::path& db,
                                       const std::string& device_id, const std::string& where,
                                       std::chrono::milliseconds timeout);

}  // namespace atmhealth::testing

#endif  // ATMHEALTH_TESTS_INTEGRATION_HARNESS_H_
