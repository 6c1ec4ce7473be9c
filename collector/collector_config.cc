#include "collector/collector_config.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <array>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "platform/asio.h"
#include "platform/config_values.h"
#include "platform/toml_document.h"
#include "proto/names.h"

namespace atmhealth::collector {
namespace {

using std::chrono::milliseconds;

constexpr std::array<std::string_view, 7> kLogLevels = {"trace", "debug",    "info", "warn",
                                                        "error", "critical", "off"};
constexpr milliseconds kMinHelloTimeout{100};
constexpr milliseconds kMaxHelloTimeout{5 * 60 * 1000};
constexpr milliseconds kMinIdleTimeout{1000};
constexpr milliseconds kMaxIdleTimeout{24 * 60 * 60 * 1000};
// More handshakes at once than this only share the CPU more thinly.
constexpr std::int64_t kMaxMaxHandshakes = 10'000;
// A store call below 100 ms would refuse on an ordinary fsync; above 60 s
// agents (io_timeout 15 s by default) have long given up.
constexpr milliseconds kMinStoreTimeout{100};
constexpr milliseconds kMaxStoreTimeout{60 * 1000};

bool IsIpAddress(const std::string& text) {
  boost::system::error_code ec;
  asio::ip::make_address(text, ec);
  return !ec;
}

bool IsLogLevel(std::string_view level) {
  for (const std::string_view known : kLogLevels) {
    if (level == known) return true;
  }
  return false;
}

std::string FormatDuration(milliseconds duration) { return fmt::format("{}ms", duration.count()); }

// Reads one table of the file. Every message starts with
// "<file>:<line>: <table>.<key>: ".
class TableReader {
 public:
  TableReader(const std::string& source, std::string table_name)
      : source_(source), table_name_(std::move(table_name)) {}

  Error Fail(const toml::source_region& where, std::string_view key, std::string_view what) const {
    return Error(
        ErrorCode::kInvalidArgument,
        fmt::format("{}:{}: {}.{}: {}", source_, where.begin.line, table_name_, key, what));
  }

  Result<std::string> String(const toml::node& node, std::string_view key) const {
    const auto* value = node.as_string();
    if (value == nullptr) return Fail(node.source(), key, "expected a string");
    return value->get();
  }

  Result<bool> Bool(const toml::node& node, std::string_view key) const {
    const auto* value = node.as_boolean();
    if (value == nullptr) return Fail(node.source(), key, "expected true or false");
    return value->get();
  }

  Result<std::int64_t> Integer(const toml::node& node, std::string_view key, std::int64_t min,
                               std::int64_t max) const {
    const auto* value = node.as_integer();
    if (value == nullptr) return Fail(node.source(), key, "expected a whole number");
    const std::int64_t number = value->get();
    if (number < min || number > max) {
      return Fail(node.source(), key, fmt::format("{} is out of range ({}..{})", number, min, max));
    }
    return number;
  }

  Result<std::uint16_t> Port(const toml::node& node, std::string_view key) const {
    const auto* value = node.as_integer();
    if (value == nullptr) return Fail(node.source(), key, "expected a port number");
    if (value->get() < 0 || value->get() > 65535) {
      return Fail(node.source(), key, fmt::format("{} is not a port (0..65535)", value->get()));
    }
    return static_cast<std::uint16_t>(value->get());
  }

  Result<std::string> Address(const toml::node& node, std::string_view key) const {
    Result<std::string> text = String(node, key);
    if (!text) return text;
    if (!IsIpAddress(*text)) {
      return Fail(node.source(), key, fmt::format("\"{}\" is not an IP address", *text));
    }
    return text;
  }

  Result<milliseconds> Duration(const toml::node& node, std::string_view key, milliseconds min,
                                milliseconds max) const {
    const auto* value = node.as_string();
    if (value == nullptr) {
      return Fail(node.source(), key, "expected a duration string such as \"30s\"");
    }
    const Result<milliseconds> duration = platform::ParseDuration(value->get());
    if (!duration) return Fail(node.source(), key, duration.error().message());
    if (*duration < min || *duration > max) {
      return Fail(node.source(), key,
                  fmt::format("\"{}\" is out of range ({}..{})", value->get(), FormatDuration(min),
                              FormatDuration(max)));
    }
    return *duration;
  }

  // Calls the reader of each key; an unknown key is an error.
  using KeyReader = std::function<Status(const toml::node&)>;
  Status Visit(const toml::table& table,
               const std::map<std::string_view, KeyReader>& readers) const {
    for (auto&& [key, node] : table) {
      const auto reader = readers.find(key.str());
      if (reader == readers.end()) {
        std::string known;
        for (const auto& [name, unused] : readers) {
          known += known.empty() ? "" : ", ";
          known += name;
        }
        return Fail(key.source(), key.str(), fmt::format("unknown key (known: {})", known));
      }
      if (Status status = reader->second(node); !status) return status;
    }
    return OkStatus();
  }

 private:
  const std::string& source_;
  std::string table_name_;
};

// Stores the value of `result` in `target`, or passes its error on.
template <typename T, typename Target>
Status Assign(Result<T> result, Target& target) {
  if (!result) return result.error();
  target = static_cast<Target>(std::move(*result));
  return OkStatus();
}

Status ReadListen(const TableReader& reader, const toml::table& table,
                  CollectorConfig::Listen& listen, const toml::node*& plaintext_node) {
  return reader.Visit(
      table,
      {
          {"address",
           [&](const toml::node& node) -> Status {
             return Assign(reader.Address(node, "address"), listen.address);
           }},
          {"port",
           [&](const toml::node& node) -> Status {
             return Assign(reader.Port(node, "port"), listen.port);
           }},
          {"plaintext",
           [&](const toml::node& node) -> Status {
             if (Status read = Assign(reader.Bool(node, "plaintext"), listen.plaintext); !read) {
               return read;
             }
             plaintext_node = &node;
             return OkStatus();
           }},
          {"max_sessions",
           [&](const toml::node& node) -> Status {
             return Assign(reader.Integer(node, "max_sessions", 1,
                                          static_cast<std::int64_t>(kMaxMaxSessions)),
                           listen.max_sessions);
           }},
          {"max_frame_bytes",
           [&](const toml::node& node) -> Status {
             return Assign(reader.Integer(node, "max_frame_bytes",
                                          static_cast<std::int64_t>(kMinMaxFrameBytes),
                                          static_cast<std::int64_t>(kMaxMaxFrameBytes)),
                           listen.max_frame_bytes);
           }},
          {"max_batch_events",
           [&](const toml::node& node) -> Status {
             return Assign(reader.Integer(node, "max_batch_events", 1, 1000),
                           listen.max_batch_events);
           }},
          {"max_frames_in_store",
           [&](const toml::node& node) -> Status {
             return Assign(reader.Integer(node, "max_frames_in_store", 1, 64),
                           listen.max_frames_in_store);
           }},
          {"hello_timeout",
           [&](const toml::node& node) -> Status {
             return Assign(
                 reader.Duration(node, "hello_timeout", kMinHelloTimeout, kMaxHelloTimeout),
                 listen.hello_timeout);
           }},
          {"idle_timeout",
           [&](const toml::node& node) -> Status {
             return Assign(reader.Duration(node, "idle_timeout", kMinIdleTimeout, kMaxIdleTimeout),
                           listen.idle_timeout);
           }},
          {"max_handshakes",
           [&](const toml::node& node) -> Status {
             return Assign(reader.Integer(node, "max_handshakes", 1, kMaxMaxHandshakes),
                           listen.max_handshakes);
           }},
      });
}

Status ReadHttp(const TableReader& reader, const toml::table& table, CollectorConfig::Http& http) {
  return reader.Visit(table, {
                                 {"address",
                                  [&](const toml::node& node) -> Status {
                                    return Assign(reader.Address(node, "address"), http.address);
                                  }},
                                 {"port",
                                  [&](const toml::node& node) -> Status {
                                    return Assign(reader.Port(node, "port"), http.port);
                                  }},
                             });
}

Status ReadStore(const TableReader& reader, const toml::table& table,
                 CollectorConfig::Store& store) {
  Status visited = reader.Visit(
      table,
      {
          {"path",
           [&](const toml::node& node) -> Status {
             if (Status read = Assign(reader.String(node, "path"), store.path); !read) {
               return read;
             }
             if (store.path.empty()) {
               return reader.Fail(node.source(), "path", "is empty");
             }
             return OkStatus();
           }},
          {"timeout",
           [&](const toml::node& node) -> Status {
             return Assign(reader.Duration(node, "timeout", kMinStoreTimeout, kMaxStoreTimeout),
                           store.timeout);
           }},
          {"max_queued_calls",
           [&](const toml::node& node) -> Status {
             return Assign(reader.Integer(node, "max_queued_calls",
                                          static_cast<std::int64_t>(kMinMaxQueuedCalls),
                                          static_cast<std::int64_t>(kMaxMaxQueuedCalls)),
                           store.max_queued_calls);
           }},
          {"heartbeat_history",
           [&](const toml::node& node) -> Status {
             return Assign(reader.Duration(node, "heartbeat_history", std::chrono::milliseconds(0),
                                           std::chrono::hours(24)),
                           store.heartbeat_history);
           }},
          {"max_group_events",
           [&](const toml::node& node) -> Status {
             return Assign(reader.Integer(node, "max_group_events", 1, 1'000'000),
                           store.max_group_events);
           }},
          {"backend",
           [&](const toml::node& node) -> Status {
             if (Status read = Assign(reader.String(node, "backend"), store.backend); !read) {
               return read;
             }
             if (store.backend != "sqlite" && store.backend != "postgresql") {
               return reader.Fail(
                   node.source(), "backend",
                   fmt::format("\"{}\" is not \"sqlite\" or \"postgresql\"", store.backend));
             }
             return OkStatus();
           }},
          {"url",
           [&](const toml::node& node) -> Status {
             if (Status read = Assign(reader.String(node, "url"), store.url); !read) return read;
             if (store.url.empty()) return reader.Fail(node.source(), "url", "is empty");
             return OkStatus();
           }},
          {"connect_timeout",
           [&](const toml::node& node) -> Status {
             return Assign(
                 reader.Duration(node, "connect_timeout", milliseconds(1000), kMaxStoreTimeout),
                 store.connect_timeout);
           }},
          {"reconnect_interval",
           [&](const toml::node& node) -> Status {
             return Assign(reader.Duration(node, "reconnect_interval", milliseconds(100),
                                           milliseconds(60'000)),
                           store.reconnect_interval);
           }},
      });
  if (!visited) return visited;
  if (store.backend == "postgresql" && store.url.empty()) {
    return reader.Fail(table.source(), "url",
                       "backend = \"postgresql\" needs the database's connection string, e.g. "
                       "url = \"postgresql://atmhealth@db.example/atmhealth\"");
  }
  if (store.backend == "sqlite" && !store.url.empty()) {
    const toml::node* url = table.get("url");
    return reader.Fail(url->source(), "url",
                       "is for backend = \"postgresql\"; this [store] uses the SQLite file at "
                       "path");
  }
  return OkStatus();
}

Status ReadLog(const TableReader& reader, const toml::table& table, CollectorConfig::Log& log) {
  return reader.Visit(
      table, {
                 {"level",
                  [&](const toml::node& node) -> Status {
                    if (Status read = Assign(reader.String(node, "level"), log.level); !read) {
                      return read;
                    }
                    if (!IsLogLevel(log.level)) {
                      return reader.Fail(
                          node.source(), "level",
                          fmt::format("\"{}\" is not a level (trace, debug, info, warn, error, "
                                      "critical, off)",
                                      log.level));
                    }
                    return OkStatus();
                  }},
             });
}

Status ReadTls(const TableReader& reader, const toml::table& table, CollectorConfig::Tls& tls) {
  const auto path = [&](std::string_view key, std::string& out) {
    return [&reader, key, &out](const toml::node& node) -> Status {
      if (Status read = Assign(reader.String(node, key), out); !read) return read;
      if (out.empty()) return reader.Fail(node.source(), key, "is empty");
      return OkStatus();
    };
  };
  Status status = reader.Visit(
      table,
      {
          {"certificate", path("certificate", tls.certificate)},
          {"private_key", path("private_key", tls.private_key)},
          {"ca", path("ca", tls.ca)},
          {"crl",
           [&](const toml::node& node) -> Status {
             tls.crls.clear();
             if (const auto* one = node.as_string()) {
               tls.crls.push_back(one->get());
             } else if (const auto* list = node.as_array()) {
               for (const toml::node& element : *list) {
                 const auto* file = element.as_string();
                 if (file == nullptr) {
                   return reader.Fail(element.source(), "crl", "expected a list of file names");
                 }
                 tls.crls.push_back(file->get());
               }
             } else {
               return reader.Fail(node.source(), "crl",
                                  "expected a file name or a list of file names");
             }
             for (const std::string& file : tls.crls) {
               if (file.empty()) return reader.Fail(node.source(), "crl", "a file name is empty");
             }
             if (tls.crls.empty()) {
               return reader.Fail(node.source(), "crl", "is empty; revocation must be checked");
             }
             return OkStatus();
           }},
          {"reload_interval",
           [&](const toml::node& node) -> Status {
             return Assign(reader.Duration(node, "reload_interval", kMinTlsReloadInterval,
                                           kMaxTlsReloadInterval),
                           tls.reload_interval);
           }},
      });
  if (!status) return status;
  for (const auto& [key, value] :
       {std::pair<std::string_view, const std::string*>{"certificate", &tls.certificate},
        {"private_key", &tls.private_key},
        {"ca", &tls.ca}}) {
    if (value->empty()) {
      return reader.Fail(table.source(), key,
                         "is missing; [tls] needs certificate, private_key, ca and crl");
    }
  }
  if (tls.crls.empty()) {
    return reader.Fail(table.source(), "crl",
                       "is missing; [tls] needs certificate, private_key, ca and crl");
  }
  return OkStatus();
}

constexpr milliseconds kMinEvaluateInterval{50};
constexpr milliseconds kMaxEvaluateInterval{60'000};
constexpr milliseconds kMaxCorrelationWindow{24 * 60 * 60 * 1000};
constexpr milliseconds kMinTolerance{1000};
constexpr milliseconds kMaxTolerance{30LL * 24 * 60 * 60 * 1000};
constexpr milliseconds kMaxFeedMaxAge{60 * 60 * 1000};

bool IsHexDigest(std::string_view text) {
  if (text.size() != 64) return false;
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Status ReadTolerance(const TableReader& reader, const toml::table& table,
                     CollectorConfig::Fleet& fleet) {
  for (auto&& [key, node] : table) {
    const std::string name(key.str());
    if (!wire::ParseCustomerService(name)) {
      return reader.Fail(key.source(), "tolerance." + name,
                         "not a customer service (withdrawal, deposit, transfer, inquiry, "
                         "passbook, bill_payment)");
    }
    Result<milliseconds> duration =
        reader.Duration(node, "tolerance." + name, kMinTolerance, kMaxTolerance);
    if (!duration) return duration.error();
    fleet.tolerance[name] = *duration;
  }
  return OkStatus();
}

Status ReadFleet(const TableReader& reader, const toml::table& table,
                 CollectorConfig::Fleet& fleet) {
  return reader.Visit(
      table, {
                 {"missed_heartbeats",
                  [&](const toml::node& node) -> Status {
                    return Assign(reader.Integer(node, "missed_heartbeats", 1, 100),
                                  fleet.missed_heartbeats);
                  }},
                 {"evaluate_interval",
                  [&](const toml::node& node) -> Status {
                    return Assign(reader.Duration(node, "evaluate_interval", kMinEvaluateInterval,
                                                  kMaxEvaluateInterval),
                                  fleet.evaluate_interval);
                  }},
                 {"correlation_window",
                  [&](const toml::node& node) -> Status {
                    return Assign(reader.Duration(node, "correlation_window", milliseconds(1000),
                                                  kMaxCorrelationWindow),
                                  fleet.correlation_window);
                  }},
                 {"correlation_min_devices",
                  [&](const toml::node& node) -> Status {
                    return Assign(reader.Integer(node, "correlation_min_devices", 2, 1'000'000),
                                  fleet.correlation_min_devices);
                  }},
                 {"sites_file",
                  [&](const toml::node& node) -> Status {
                    return Assign(reader.String(node, "sites_file"), fleet.sites_file);
                  }},
                 {"tolerance",
                  [&](const toml::node& node) -> Status {
                    const toml::table* tolerance = node.as_table();
                    if (tolerance == nullptr) {
                      return reader.Fail(
                          node.source(), "tolerance",
                          "expected a table [fleet.tolerance] of service = duration");
                    }
                    return ReadTolerance(reader, *tolerance, fleet);
                  }},
             });
}

Status ReadRetention(const TableReader& reader, const toml::table& table,
                     CollectorConfig::Retention& retention) {
  constexpr milliseconds kMaxAge = std::chrono::hours(24 * 365 * 100);
  return reader.Visit(
      table,
      {
          {"events",
           [&](const toml::node& node) -> Status {
             return Assign(reader.Duration(node, "events", milliseconds(0), kMaxAge),
                           retention.events);
           }},
          {"interval",
           [&](const toml::node& node) -> Status {
             return Assign(
                 reader.Duration(node, "interval", milliseconds(100), std::chrono::hours(24)),
                 retention.interval);
           }},
          {"batch_rows",
           [&](const toml::node& node) -> Status {
             return Assign(reader.Integer(node, "batch_rows", 1, 100'000), retention.batch_rows);
           }},
      });
}

Status ReadToken(const TableReader& reader, const toml::node& node, std::size_t index,
                 CollectorConfig::Api::Token& token) {
  const std::string prefix = fmt::format("token[{}]", index);
  const toml::table* table = node.as_table();
  if (table == nullptr) return reader.Fail(node.source(), prefix, "expected a [[api.token]] table");
  Status read = reader.Visit(
      *table,
      {
          {"name",
           [&](const toml::node& value) -> Status {
             return Assign(reader.String(value, prefix + ".name"), token.name);
           }},
          {"role",
           [&](const toml::node& value) -> Status {
             if (Status role = Assign(reader.String(value, prefix + ".role"), token.role); !role) {
               return role;
             }
             if (token.role != "read" && token.role != "admin") {
               return reader.Fail(value.source(), prefix + ".role",
                                  fmt::format("\"{}\" is not read or admin", token.role));
             }
             return OkStatus();
           }},
          {"sha256",
           [&](const toml::node& value) -> Status {
             if (Status hash = Assign(reader.String(value, prefix + ".sha256"), token.sha256);
                 !hash) {
               return hash;
             }
             if (!IsHexDigest(token.sha256)) {
               return reader.Fail(value.source(), prefix + ".sha256",
                                  "expected 64 lower-case hex digits, the SHA-256 of the token "
                                  "(printf %s TOKEN | sha256sum)");
             }
             return OkStatus();
           }},
      });
  if (!read) return read;
  for (const auto& [key, missing] :
       {std::pair{"name", token.name.empty()}, std::pair{"role", token.role.empty()},
        std::pair{"sha256", token.sha256.empty()}}) {
    if (missing) return reader.Fail(table->source(), prefix + "." + key, "is missing");
  }
  return OkStatus();
}

Status ReadApi(const TableReader& reader, const toml::table& table, CollectorConfig::Api& api) {
  return reader.Visit(
      table,
      {
          {"token",
           [&](const toml::node& node) -> Status {
             const toml::array* tokens = node.as_array();
             if (tokens == nullptr) {
               return reader.Fail(node.source(), "token", "expected [[api.token]] tables");
             }
             for (std::size_t i = 0; i < tokens->size(); ++i) {
               CollectorConfig::Api::Token token;
               if (Status read = ReadToken(reader, (*tokens)[i], i, token); !read) return read;
               api.tokens.push_back(std::move(token));
             }
             return OkStatus();
           }},
          {"max_streams",
           [&](const toml::node& node) -> Status {
             return Assign(reader.Integer(node, "max_streams", 1, 10'000), api.max_streams);
           }},
          {"stream_queue",
           [&](const toml::node& node) -> Status {
             return Assign(reader.Integer(node, "stream_queue", 16, 1'000'000), api.stream_queue);
           }},
          {"feed_max_age",
           [&](const toml::node& node) -> Status {
             return Assign(reader.Duration(node, "feed_max_age", milliseconds(0), kMaxFeedMaxAge),
                           api.feed_max_age);
           }},
          {"feed_nearest",
           [&](const toml::node& node) -> Status {
             return Assign(reader.Integer(node, "feed_nearest", 0, 50), api.feed_nearest);
           }},
      });
}

// "http://host:port[/prefix]" of an Alertmanager; https is not spoken.
bool IsAlertmanagerUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) return false;
  std::string_view rest = url.substr(kScheme.size());
  const std::string_view authority = rest.substr(0, rest.find('/'));
  return platform::ParseHostPort(authority, platform::PortZero::kRefused).ok();
}

Status ReadAlertmanager(const TableReader& reader, const toml::table& table,
                        CollectorConfig::Alertmanager& alertmanager) {
  const auto duration = [&](std::string_view key, milliseconds min, milliseconds max,
                            milliseconds& target) {
    return [&reader, key, min, max, &target](const toml::node& node) -> Status {
      return Assign(reader.Duration(node, key, min, max), target);
    };
  };
  return reader.Visit(
      table,
      {
          {"urls",
           [&](const toml::node& node) -> Status {
             const toml::array* urls = node.as_array();
             if (urls == nullptr) {
               return reader.Fail(node.source(), "urls", "expected a list of \"http://host:port\"");
             }
             for (const toml::node& item : *urls) {
               Result<std::string> url = reader.String(item, "urls");
               if (!url) return url.error();
               if (!IsAlertmanagerUrl(*url)) {
                 return reader.Fail(item.source(), "urls",
                                    fmt::format("\"{}\" is not http://HOST:PORT[/PATH]", *url));
               }
               alertmanager.urls.push_back(*url);
             }
             return OkStatus();
           }},
          {"timeout",
           duration("timeout", milliseconds(100), milliseconds(300'000), alertmanager.timeout)},
          {"resend_interval", duration("resend_interval", milliseconds(1000),
                                       milliseconds(3'600'000), alertmanager.resend_interval)},
          {"retry_initial_delay",
           duration("retry_initial_delay", milliseconds(10), milliseconds(3'600'000),
                    alertmanager.retry_initial_delay)},
          {"retry_max_delay", duration("retry_max_delay", milliseconds(10), milliseconds(3'600'000),
                                       alertmanager.retry_max_delay)},
          {"max_queued",
           [&](const toml::node& node) -> Status {
             return Assign(reader.Integer(node, "max_queued", 16, 1'000'000),
                           alertmanager.max_queued);
           }},
          {"max_batch",
           [&](const toml::node& node) -> Status {
             return Assign(reader.Integer(node, "max_batch", 1, 1000), alertmanager.max_batch);
           }},
      });
}

// --listen and --http-listen: an IP address to bind and a port, 0 for any
// free one. The flags word their errors after the HOST:PORT of their --help line.
Result<platform::HostPort> ParseListenAddress(std::string_view text) {
  const auto invalid = [&](std::string_view why) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("\"{}\" is not HOST:PORT ({})", text, why));
  };
  platform::HostPortFault fault = platform::HostPortFault::kBadHost;
  Result<platform::HostPort> endpoint =
      platform::ParseHostPort(text, platform::PortZero::kAllowed, &fault);
  if (!endpoint && fault == platform::HostPortFault::kNoPort) return invalid("no port");
  if (!endpoint && fault == platform::HostPortFault::kBadPort) {
    return invalid("the port must be 0..65535");
  }
  if (!endpoint || !IsIpAddress(endpoint->host)) return invalid("the host must be an IP address");
  return endpoint;
}

// The agent listener and the HTTP server cannot share one port.
bool PortsCollide(const CollectorConfig& config) {
  return config.listen.port != 0 && config.listen.port == config.http.port &&
         config.listen.address == config.http.address;
}

}  // namespace

CollectorConfig DefaultCollectorConfig() { return CollectorConfig{}; }

Result<CollectorConfig> ParseCollectorConfig(std::string_view toml_text,
                                             const std::string& source_name) {
  Result<toml::table> parsed = platform::ParseTomlDocument(toml_text, source_name);
  if (!parsed) return parsed.error();
  const toml::table& root = *parsed;

  CollectorConfig config = DefaultCollectorConfig();
  // A file says how agents connect: plaintext = true, or a [tls] table.
  config.listen.plaintext = false;
  const toml::node* plaintext_node = nullptr;
  const toml::node* tls_node = nullptr;
  for (auto&& [key, node] : root) {
    const TableReader reader(source_name, std::string(key.str()));
    const toml::table* table = node.as_table();
    if (key.str() != "listen" && key.str() != "http" && key.str() != "store" &&
        key.str() != "log" && key.str() != "tls" && key.str() != "fleet" && key.str() != "api" &&
        key.str() != "alertmanager" && key.str() != "retention") {
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("{}:{}: {}: unknown key (known tables: listen, http, store, log, "
                               "tls, fleet, api, alertmanager, retention)",
                               source_name, key.source().begin.line, key.str()));
    }
    if (table == nullptr) {
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("{}:{}: {}: expected a table [{}]", source_name,
                               key.source().begin.line, key.str(), key.str()));
    }
    Status status = OkStatus();
    if (key.str() == "listen") {
      status = ReadListen(reader, *table, config.listen, plaintext_node);
    } else if (key.str() == "tls") {
      tls_node = &node;
      status = ReadTls(reader, *table, config.tls);
    } else if (key.str() == "http") {
      status = ReadHttp(reader, *table, config.http);
    } else if (key.str() == "store") {
      status = ReadStore(reader, *table, config.store);
    } else if (key.str() == "fleet") {
      status = ReadFleet(reader, *table, config.fleet);
    } else if (key.str() == "api") {
      status = ReadApi(reader, *table, config.api);
    } else if (key.str() == "alertmanager") {
      status = ReadAlertmanager(reader, *table, config.alertmanager);
    } else if (key.str() == "retention") {
      status = ReadRetention(reader, *table, config.retention);
    } else {
      status = ReadLog(reader, *table, config.log);
    }
    if (!status) return status.error();
  }
  if (config.listen.plaintext && tls_node != nullptr) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("{}:{}: listen.plaintext: is true and there is a [tls] table (line "
                             "{}); choose one",
                             source_name, plaintext_node->source().begin.line,
                             tls_node->source().begin.line));
  }
  if (!config.listen.plaintext && tls_node == nullptr) {
    const std::size_t line = plaintext_node != nullptr ? plaintext_node->source().begin.line
                             : root.get("listen") != nullptr
                                 ? root.get("listen")->source().begin.line
                                 : 1;
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("{}:{}: listen.plaintext: agents connect over TLS unless "
                             "plaintext = true is said explicitly; add a [tls] table "
                             "(certificate, private_key, ca, crl; see docs/tls.md) or set "
                             "plaintext = true in [listen]",
                             source_name, line));
  }
  if (PortsCollide(config)) {
    const toml::node* http_port = root.at_path("http.port").node();
    const toml::node* listen_port = root.at_path("listen.port").node();
    const std::size_t line = http_port != nullptr     ? http_port->source().begin.line
                             : listen_port != nullptr ? listen_port->source().begin.line
                                                      : 1;
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("{}:{}: http.port: {} is also listen.port on {}", source_name, line,
                             config.http.port, config.http.address));
  }
  return config;
}

Result<CollectorConfig> LoadCollectorConfig(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    std::error_code ec;
    const bool exists = std::filesystem::exists(path, ec);
    return Error(exists ? ErrorCode::kPermissionDenied : ErrorCode::kNotFound,
                 fmt::format("{}: cannot read the config file: {}", path.string(),
                             exists ? "permission denied" : "no such file"));
  }
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) {
    return Error(ErrorCode::kIo, fmt::format("{}: cannot read the config file", path.string()));
  }
  return ParseCollectorConfig(text.str(), path.string());
}

std::string DescribeTransport(const CollectorConfig& config) {
  if (config.listen.plaintext) {
    return "agents: plaintext TCP (no authentication, no encryption; for tests and local "
           "trials only)\n";
  }
  std::string crls;
  for (const std::string& crl : config.tls.crls) crls += (crls.empty() ? "" : ", ") + crl;
  return fmt::format(
      "agents: TLS 1.3, client certificate required, device id = certificate subject CN\n"
      "tls.certificate: {}\ntls.private_key: {}\ntls.ca: {}\ntls.crl: {}\n"
      "tls.reload_interval: {}ms\n",
      config.tls.certificate, config.tls.private_key, config.tls.ca, crls,
      config.tls.reload_interval.count());
}

Status ApplyOverrides(const CollectorOverrides& overrides, CollectorConfig& config) {
  if (overrides.listen) {
    Result<platform::HostPort> endpoint = ParseListenAddress(*overrides.listen);
    if (!endpoint) {
      return Error(ErrorCode::kInvalidArgument, "--listen: " + endpoint.error().message());
    }
    config.listen.address = endpoint->host;
    config.listen.port = endpoint->port;
  }
  if (overrides.http_listen) {
    Result<platform::HostPort> endpoint = ParseListenAddress(*overrides.http_listen);
    if (!endpoint) {
      return Error(ErrorCode::kInvalidArgument, "--http-listen: " + endpoint.error().message());
    }
    config.http.address = endpoint->host;
    config.http.port = endpoint->port;
  }
  if (overrides.db) {
    if (overrides.db->empty()) return Error(ErrorCode::kInvalidArgument, "--db: is empty");
    config.store.path = *overrides.db;
  }
  if (overrides.log_level) {
    if (!IsLogLevel(*overrides.log_level)) {
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("--log-level: \"{}\" is not a level (trace, debug, info, warn, "
                               "error, critical, off)",
                               *overrides.log_level));
    }
    config.log.level = *overrides.log_level;
  }
  if (PortsCollide(config)) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("--listen, --http-listen: both on {}:{}; the agent listener and the "
                             "HTTP server need a port each",
                             config.http.address, config.http.port));
  }
  return OkStatus();
}

}  // namespace atmhealth::collector
