// The collector's configuration: a TOML file (packaging/atmhealth-collector.toml
// is the commented example), or the embedded defaults when there is none, and
// the command-line overrides on top.
//
// Errors name the place: `collector.toml:7: listen.port: 70000 is not a port
// (0..65535)`. Unknown keys are errors, so a misspelt key never silently
// falls back to a default.
#ifndef ATMHEALTH_COLLECTOR_COLLECTOR_CONFIG_H_
#define ATMHEALTH_COLLECTOR_COLLECTOR_CONFIG_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/status.h"
#include "proto/frame_codec.h"

namespace atmhealth::collector {

struct CollectorConfig {
  // Where agents connect.
  struct Listen {
    std::string address = "127.0.0.1";  // IP address
    std::uint16_t port = 7411;          // 0: any free port
    // Plain TCP instead of TLS. A config file must either say
    // plaintext = true or have a [tls] table; the embedded defaults are
    // plaintext. Every start in plaintext logs a warning.
    bool plaintext = true;
    // Sessions at once. Memory is bounded by about max_sessions x
    // (max_frames_in_store + 1) x max_frame_bytes: each session holds the
    // frame it reads and those with the store.
    std::size_t max_sessions = 1000;
    std::size_t max_frame_bytes = wire::kDefaultMaxFrameBytes;  // bytes
    // Most events in one batch (1..1000), announced in Welcome; agents send
    // no more, whatever their own batch_events says.
    std::size_t max_batch_events = 1000;
    // Frames of one session with the store at once (1..64): the session
    // reads an agent's next batches while the earlier ones are stored, so
    // they share a group commit. Memory per session is bounded by about
    // this many frames of max_frame_bytes.
    std::size_t max_frames_in_store = 4;
    std::chrono::milliseconds hello_timeout{10'000};  // from connect to a whole Hello
    // No frame for this long closes the session; must exceed the agents'
    // heartbeat interval.
    std::chrono::milliseconds idle_timeout{60'000};
    // TLS handshakes at once (1..10000). More connections wait in the
    // accept backlog until one ends, so handshakes end within the agents'
    // connect_timeout and memory stays bounded when a whole fleet reconnects
    // at once. A handshake waits for its agent as well as for the CPU, so
    // the bound must cover slow answers too: 512 let 10,000 agents in on a
    // busy 2-core machine where 32 did not (BENCHMARKS.md section 6).
    std::size_t max_handshakes = 512;
  };
  // The HTTP server: /metrics, /healthz.
  struct Http {
    std::string address = "127.0.0.1";  // IP address
    std::uint16_t port = 7412;          // 0: any free port
  };
  struct Store {
    std::string path = "./atmhealth-collector.db";  // SQLite database file
    // Longest wait for one store call (a batch, a heartbeat); then the
    // session is refused with REASON_STORE_UNAVAILABLE and a retry hint. A
    // Hello waits at most half the agent's Welcome wait ([uplink] io_timeout,
    // sent in Hello), so keep this below half of the fleet's io_timeout.
    std::chrono::milliseconds timeout{5'000};
    // Store calls waiting at once. New sessions are refused with
    // REASON_OVERLOADED once half of it is queued, or when the queue would
    // take longer than the session may wait.
    std::size_t max_queued_calls = 1000;
    // Events made durable by one group commit at most: the batches and
    // heartbeats of all sessions that queued while the previous commit ran
    // share one transaction and one fsync. Bounds that transaction.
    std::size_t max_group_events = 10'000;
    // A device's heartbeat is kept in the history when its last one there
    // is older than this (the latest is always kept); 0: no history.
    std::chrono::milliseconds heartbeat_history{std::chrono::minutes(5)};
    // "sqlite": the file at `path`; "postgresql": the database at `url`,
    // which several collectors may share (docs/collector-postgresql.md).
    std::string backend = "sqlite";
    // libpq connection string, "postgresql://user@host:5432/atmhealth" or
    // "host=... dbname=..."; a password is better in ~/.pgpass or
    // PGPASSFILE than here. Required with backend = "postgresql".
    std::string url;
    // One attempt to connect at most (whole seconds); then the store is
    // unavailable and agents are refused with a retry hint.
    std::chrono::milliseconds connect_timeout{5'000};
    // After the database was lost, attempts to connect again this far apart.
    std::chrono::milliseconds reconnect_interval{1'000};
  };
  struct Log {
    std::string level = "info";  // trace, debug, info, warn, error, critical, off
  };
  // [tls]: mutual TLS 1.3 for agents (docs/tls.md). PEM files, used as given.
  struct Tls {
    std::string certificate;        // the collector's certificate (chain, leaf first)
    std::string private_key;        // its key, unencrypted; readable by the collector only
    std::string ca;                 // CA(s) that device certificates must chain to
    std::vector<std::string> crls;  // CRL file(s) of that CA; at least one
    // How often the files are checked for changes (and on SIGHUP); changed
    // files are loaded for new sessions, live sessions carry on.
    std::chrono::milliseconds reload_interval{30'000};
  };

  // Fleet state, incidents and impact tolerance ([fleet], [fleet.tolerance]).
  struct Fleet {
    // A device is unreachable once this many of its announced heartbeat
    // intervals passed without a heartbeat.
    int missed_heartbeats = 3;
    std::chrono::milliseconds evaluate_interval{1000};  // how often the state is derived
    // Devices failing within this window of each other, at least
    // correlation_min_devices of them, make one fleet-wide incident.
    std::chrono::milliseconds correlation_window{120'000};
    std::size_t correlation_min_devices = 10;
    std::string sites_file;  // the site registry (TOML); empty: none
    // Customer service short name -> maximum tolerable outage.
    std::map<std::string, std::chrono::milliseconds, std::less<>> tolerance = {
        {"withdrawal", std::chrono::minutes(30)}, {"deposit", std::chrono::minutes(60)},
        {"transfer", std::chrono::minutes(60)},   {"inquiry", std::chrono::minutes(120)},
        {"passbook", std::chrono::minutes(240)},  {"bill_payment", std::chrono::minutes(240)}};
  };
  // The operator API and the customer availability feed ([api], [[api.token]]).
  struct Api {
    struct Token {
      std::string name;
      std::string role;    // "read" or "admin"
      std::string sha256;  // SHA-256 of the token, 64 hex digits
    };
    std::vector<Token> tokens;                       // none: every operator request is refused
    std::size_t max_streams = 32;                    // server-sent event streams at once
    std::size_t stream_queue = 1024;                 // events waiting per stream before it is cut
    std::chrono::milliseconds feed_max_age{10'000};  // Cache-Control of the feed
    std::size_t feed_nearest = 3;                    // alternatives per unavailable service
  };

  // Forwarding of alerts to Prometheus Alertmanager ([alertmanager]).
  struct Alertmanager {
    std::vector<std::string> urls;              // "http://host:port[/prefix]"; none: no forwarding
    std::chrono::milliseconds timeout{10'000};  // one POST, connect to answer
    std::chrono::milliseconds resend_interval{60'000};    // firing alerts sent again
    std::chrono::milliseconds retry_initial_delay{1000};  // after a failed POST, doubling
    std::chrono::milliseconds retry_max_delay{60'000};
    std::size_t max_queued = 10'000;  // alerts waiting per Alertmanager
    std::size_t max_batch = 64;       // alerts per POST
  };

  // How long the database keeps events ([retention]). The latest state of
  // every device (its alerts, services, heartbeat) and incidents are kept.
  struct Retention {
    // Events received longer ago are deleted; 0: kept for ever.
    std::chrono::milliseconds events{std::chrono::hours(24 * 400)};
    std::chrono::milliseconds interval{60'000};  // how often a purge pass starts
    std::int64_t batch_rows = 1000;              // events deleted per transaction
  };

  Listen listen;
  Http http;
  Store store;
  Log log;
  Tls tls;  // used unless listen.plaintext
  Fleet fleet;
  Api api;
  Alertmanager alertmanager;
  Retention retention;
};

// The ranges the checks enforce.
inline constexpr std::size_t kMinMaxFrameBytes = 4 * 1024;
inline constexpr std::size_t kMaxMaxFrameBytes = 64 * 1024 * 1024;
inline constexpr std::size_t kMaxMaxSessions = 100'000;
inline constexpr std::size_t kMinMaxQueuedCalls = 2;
inline constexpr std::size_t kMaxMaxQueuedCalls = 1'000'000;

inline constexpr std::chrono::milliseconds kMinTlsReloadInterval{100};
inline constexpr std::chrono::milliseconds kMaxTlsReloadInterval{24 * 60 * 60 * 1000};

// The embedded defaults: agents on 127.0.0.1:7411 over plaintext TCP, HTTP on
// 127.0.0.1:7412, database ./atmhealth-collector.db.
CollectorConfig DefaultCollectorConfig();

// Parses TOML text; `source_name` (the file name) starts every error message.
Result<CollectorConfig> ParseCollectorConfig(std::string_view toml_text,
                                             const std::string& source_name);

// Reads and parses a config file.
Result<CollectorConfig> LoadCollectorConfig(const std::filesystem::path& path);

// Command-line values that replace the file's (or the defaults').
struct CollectorOverrides {
  std::optional<std::string> listen;       // --listen HOST:PORT
  std::optional<std::string> http_listen;  // --http-listen HOST:PORT
  std::optional<std::string> db;           // --db PATH
  std::optional<std::string> log_level;    // --log-level LEVEL
};

// Applies the overrides; an error names the flag.
Status ApplyOverrides(const CollectorOverrides& overrides, CollectorConfig& config);

// What --check-config prints about the agent transport, one line per
// setting, e.g. "agents: TLS 1.3, client certificates required".
std::string DescribeTransport(const CollectorConfig& config);

}  // namespace atmhealth::collector

#endif  // ATMHEALTH_COLLECTOR_COLLECTOR_CONFIG_H_
