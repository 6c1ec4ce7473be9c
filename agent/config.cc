#include "agent/config.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <sstream>
#include <system_error>
#include <utility>

#include "platform/host.h"
#include "platform/os_error.h"
#include "proto/names.h"

namespace atmhealth::agent {
namespace {

constexpr std::string_view kDefaultStorePath = "/var/lib/atmhealth/events.db";
constexpr std::string_view kDefaultSite = "unassigned";
// A config file larger than this is not a config file; reading it whole would
// let a mistake (pointing at a log or a disk image) exhaust memory.
constexpr std::uintmax_t kMaxConfigFileBytes = 1024 * 1024;
// One event with a full diagnostic snapshot is about 40 KiB; a frame must hold
// at least one, and protobuf refuses messages above 64 MiB by default.
constexpr std::uint64_t kMinFrameBytes = 64 * 1024;
constexpr std::uint64_t kMaxFrameBytes = 64ull * 1024 * 1024;
constexpr std::uint64_t kMinStoreBytes = 1024 * 1024;
constexpr std::int64_t kMaxQueueLength = 1'000'000;
constexpr std::string_view kLogLevels[] = {"trace", "debug", "info", "warn", "error"};

std::vector<v1::CustomerService> AllServices() {
  std::vector<v1::CustomerService> services;
  const auto* descriptor = v1::CustomerService_descriptor();
  for (int i = 0; i < descriptor->value_count(); ++i) {
    const int number = descriptor->value(i)->number();
    if (number != 0) services.push_back(static_cast<v1::CustomerService>(number));
  }
  return services;
}

std::string ValidServiceNames() { return wire::ShortNames(v1::CustomerService_descriptor()); }

std::string ServiceNames(const std::vector<v1::CustomerService>& services) {
  std::string out;
  for (v1::CustomerService service : services) {
    if (!out.empty()) out += ", ";
    out += wire::ShortName(service);
  }
  return out;
}

// Device and site ids travel in every event and name rows at the collector:
// 1..64 characters of [A-Za-z0-9._-] (device.proto).
bool IsValidId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

const char* TypeName(toml::node_type type) {
  switch (type) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::string FormatNumber(double value) { return fmt::format("{:g}", value); }

std::string FormatDuration(std::chrono::milliseconds duration) {
  const auto ms = duration.count();
  if (ms != 0 && ms % 3'600'000 == 0) return fmt::format("{}h", ms / 3'600'000);
  if (ms != 0 && ms % 60'000 == 0) return fmt::format("{}m", ms / 60'000);
  if (ms != 0 && ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{}ms", ms);
}

// A TOML table being read: knows its key path and where it is, so that every
// error names "<source>:<line>: <key path>".
class Section {
 public:
  Section(std::string_view source, const toml::table& table, std::string path,
          std::uint32_t fallback_line)
      : source_(source),
        table_(table),
        path_(std::move(path)),
        line_(table.source().begin.line != 0 ? table.source().begin.line
                                             : std::max<std::uint32_t>(fallback_line, 1)) {}

  const std::string& path() const { return path_; }
  std::uint32_t line() const { return line_; }
  std::string_view source() const { return source_; }
  bool Has(std::string_view key) const { return table_.contains(key); }

  std::string PathOf(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  // An error at `key`: its line when it is in this table, else the table's
  // line (a missing required key).
  Error Fail(std::string_view key, std::string_view what) const {
    const toml::node* node = table_.get(key);
    const std::uint32_t line =
        node != nullptr && node->source().begin.line != 0 ? node->source().begin.line : line_;
    return FailAtLine(line, PathOf(key), what);
  }

  Error FailAt(const toml::node& node, std::string_view key_path, std::string_view what) const {
    const std::uint32_t line = node.source().begin.line != 0 ? node.source().begin.line : line_;
    return FailAtLine(line, key_path, what);
  }

  Error FailAtLine(std::uint32_t line, std::string_view key_path, std::string_view what) const {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("{}:{}: {}: {}", source_, line, key_path, what));
  }

  // Unknown keys are errors: a misspelt key in a bank's config must not be
  // silently ignored and leave a default in force.
  Status CheckKeys(std::initializer_list<std::string_view> allowed, bool sections) const {
    for (auto&& [key, node] : table_) {
      if (std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end()) continue;
      std::string valid;
      for (std::string_view name : allowed) {
        if (!valid.empty()) valid += ", ";
        valid += name;
      }
      const std::uint32_t line =
          key.source().begin.line != 0 ? key.source().begin.line : node.source().begin.line;
      const char* what = !sections         ? "unknown key (valid keys: {})"
                         : node.is_table() ? "unknown section (valid sections: {})"
                                           : "key outside any section (valid sections: {})";
      return FailAtLine(line, PathOf(key.str()), fmt::format(fmt::runtime(what), valid));
    }
    return OkStatus();
  }

  // The sub-table `key`, or nullptr when absent.
  Result<const toml::table*> Table(std::string_view key) const {
    const toml::node* node = table_.get(key);
    if (node == nullptr) return static_cast<const toml::table*>(nullptr);
    if (!node->is_table()) {
      return Fail(
          key, fmt::format("must be a table ([{}]), not {}", PathOf(key), TypeName(node->type())));
    }
    return node->as_table();
  }

  // Reads of optional keys: `out` keeps its default when the key is absent.
  Status ReadString(std::string_view key, std::string& out) const {
    const toml::node* node = table_.get(key);
    if (node == nullptr) return OkStatus();
    if (!node->is_string()) {
      return Fail(key, fmt::format("must be a string, not {}", TypeName(node->type())));
    }
    out = node->as_string()->get();
    return OkStatus();
  }

  Status ReadBool(std::string_view key, bool& out) const {
    const toml::node* node = table_.get(key);
    if (node == nullptr) return OkStatus();
    if (!node->is_boolean()) {
      return Fail(key, fmt::format("must be true or false, not {}", TypeName(node->type())));
    }
    out = node->as_boolean()->get();
    return OkStatus();
  }

  Status ReadPercent(std::string_view key, double& out) const {
    const toml::node* node = table_.get(key);
    if (node == nullptr) return OkStatus();
    if (!node->is_number()) {
      return Fail(key, fmt::format("must be a percentage 0..100, not {}", TypeName(node->type())));
    }
    const double value = node->value<double>().value_or(std::nan(""));
    if (!(value >= 0 && value <= 100)) {
      return Fail(key, fmt::format("must be a percentage 0..100, not {}", FormatNumber(value)));
    }
    out = value;
    return OkStatus();
  }

  enum class Zero { kAllowed, kRefused };

  Status ReadDuration(std::string_view key, std::chrono::milliseconds& out, Zero zero) const {
    const toml::node* node = table_.get(key);
    if (node == nullptr) return OkStatus();
    if (!node->is_string()) {
      return Fail(key, fmt::format("must be a duration string like \"30s\" (units ms, s, m, h), "
                                   "not {}",
                                   TypeName(node->type())));
    }
    auto duration = platform::ParseDuration(node->as_string()->get());
    if (!duration.ok()) return Fail(key, duration.error().message());
    if (zero == Zero::kRefused && duration->count() == 0) {
      return Fail(key, "must be longer than zero");
    }
    out = *duration;
    return OkStatus();
  }

  Status ReadByteSize(std::string_view key, std::uint64_t& out, std::uint64_t min,
                      std::uint64_t max) const {
    const toml::node* node = table_.get(key);
    if (node == nullptr) return OkStatus();
    std::uint64_t bytes = 0;
    if (node->is_integer()) {
      const std::int64_t value = node->as_integer()->get();
      if (value < 0) return Fail(key, fmt::format("must not be negative, not {}", value));
      bytes = static_cast<std::uint64_t>(value);
    } else if (node->is_string()) {
      auto parsed = platform::ParseByteSize(node->as_string()->get());
      if (!parsed.ok()) return Fail(key, parsed.error().message());
      bytes = *parsed;
    } else {
      return Fail(key, fmt::format("must be a size like \"64MiB\" or a number of bytes, not {}",
                                   TypeName(node->type())));
    }
    if (bytes < min) return Fail(key, fmt::format("must be at least {} bytes, not {}", min, bytes));
    if (bytes > max) return Fail(key, fmt::format("must be at most {} bytes, not {}", max, bytes));
    out = bytes;
    return OkStatus();
  }

  Status ReadCount(std::string_view key, std::size_t& out, std::int64_t min,
                   std::int64_t max) const {
    const toml::node* node = table_.get(key);
    if (node == nullptr) return OkStatus();
    if (!node->is_integer()) {
      return Fail(key, fmt::format("must be an integer, not {}", TypeName(node->type())));
    }
    const std::int64_t value = node->as_integer()->get();
    if (value < min || value > max) {
      return Fail(key, fmt::format("must be between {} and {}, not {}", min, max, value));
    }
    out = static_cast<std::size_t>(value);
    return OkStatus();
  }

  // A list of customer service short names, e.g. ["withdrawal", "deposit"].
  Status ReadServices(std::string_view key, std::vector<v1::CustomerService>& out) const {
    const toml::node* node = table_.get(key);
    if (node == nullptr) return OkStatus();
    if (!node->is_array()) {
      return Fail(key, fmt::format("must be a list of services like [\"withdrawal\"], not {}",
                                   TypeName(node->type())));
    }
    std::vector<v1::CustomerService> services;
    const toml::array& array = *node->as_array();
    for (std::size_t i = 0; i < array.size(); ++i) {
      const toml::node& element = *array.get(i);
      const std::string element_path = fmt::format("{}[{}]", PathOf(key), i);
      if (!element.is_string()) {
        return FailAt(element, element_path,
                      fmt::format("must be a service name (valid: {}), not {}", ValidServiceNames(),
                                  TypeName(element.type())));
      }
      const std::string& name = element.as_string()->get();
      auto service = wire::ParseCustomerService(name);
      if (!service) {
        return FailAt(element, element_path,
                      fmt::format("unknown service \"{}\" (valid: {})", name, ValidServiceNames()));
      }
      if (std::find(services.begin(), services.end(), *service) != services.end()) {
        return FailAt(element, element_path, fmt::format("\"{}\" is listed twice", name));
      }
      services.push_back(*service);
    }
    out = std::move(services);
    return OkStatus();
  }

  const toml::node* Get(std::string_view key) const { return table_.get(key); }

 private:
  std::string_view source_;
  const toml::table& table_;
  std::string path_;
  std::uint32_t line_;
};

// Everything is returned early on the first error; this macro keeps each
// read to one line.
#define ATMHEALTH_RETURN_IF_ERROR(expr)                            \
  do {                                                             \
    if (auto status = (expr); !status.ok()) return status.error(); \
  } while (false)

const toml::table& EmptyTable() {
  static const toml::table empty;
  return empty;
}

Status ReadDevice(const Section& device, DeviceConfig& out) {
  ATMHEALTH_RETURN_IF_ERROR(device.CheckKeys({"id", "site", "kind", "services"}, false));
  if (device.Has("id")) {
    ATMHEALTH_RETURN_IF_ERROR(device.ReadString("id", out.id));
    if (!IsValidId(out.id)) {
      return device.Fail("id", fmt::format("\"{}\" is not a valid device id (1..64 characters of "
                                           "A-Z a-z 0-9 . _ -)",
                                           out.id));
    }
  } else {
    out.id = platform::HostName();
    if (!IsValidId(out.id)) {
      return device.Fail("id", fmt::format("not set, and the host name \"{}\" is not a valid "
                                           "device id (1..64 characters of A-Z a-z 0-9 . _ -)",
                                           out.id));
    }
  }
  ATMHEALTH_RETURN_IF_ERROR(device.ReadString("site", out.site));
  if (!IsValidId(out.site)) {
    return device.Fail("site", fmt::format("\"{}\" is not a valid site id (1..64 characters of "
                                           "A-Z a-z 0-9 . _ -)",
                                           out.site));
  }
  if (const toml::node* kind = device.Get("kind")) {
    std::string name;
    ATMHEALTH_RETURN_IF_ERROR(device.ReadString("kind", name));
    auto parsed = wire::ParseDeviceKind(name);
    if (!parsed) {
      return device.FailAt(*kind, device.PathOf("kind"),
                           fmt::format("unknown device kind \"{}\" (valid: {})", name,
                                       wire::ShortNames(v1::DeviceKind_descriptor())));
    }
    out.kind = *parsed;
  }
  ATMHEALTH_RETURN_IF_ERROR(device.ReadServices("services", out.services));
  if (out.services.empty()) {
    return device.Fail(
        "services", fmt::format("must list at least one service (valid: {})", ValidServiceNames()));
  }
  return OkStatus();
}

Status ReadStore(const Section& store, StoreConfig& out) {
  ATMHEALTH_RETURN_IF_ERROR(
      store.CheckKeys({"path", "max_bytes", "commit_interval", "max_pending_events"}, false));
  ATMHEALTH_RETURN_IF_ERROR(store.ReadString("path", out.path));
  if (out.path.empty() || out.path.front() != '/') {
    return store.Fail("path", fmt::format("must be an absolute file path, not \"{}\"", out.path));
  }
  ATMHEALTH_RETURN_IF_ERROR(store.ReadByteSize("max_bytes", out.max_bytes, kMinStoreBytes,
                                               std::numeric_limits<std::int64_t>::max()));
  ATMHEALTH_RETURN_IF_ERROR(
      store.ReadDuration("commit_interval", out.commit_interval, Section::Zero::kRefused));
  ATMHEALTH_RETURN_IF_ERROR(
      store.ReadCount("max_pending_events", out.max_pending_events, 1, kMaxQueueLength));
  return OkStatus();
}

// [uplink] ca, certificate, private_key, server_name: all three files
// unless plaintext = true, and then none of them.
Status ReadUplinkTls(const Section& uplink, UplinkConfig& out) {
  constexpr std::string_view kFiles[] = {"ca", "certificate", "private_key"};
  std::string* targets[] = {&out.ca, &out.certificate, &out.private_key};
  if (out.plaintext) {
    for (std::string_view key : kFiles) {
      if (uplink.Has(key)) {
        return uplink.Fail(key,
                           "is set but plaintext = true: choose TLS (remove plaintext) or "
                           "plaintext (remove ca, certificate and private_key)");
      }
    }
    if (uplink.Has("server_name")) {
      return uplink.Fail("server_name",
                         "is set but plaintext = true: there is no certificate "
                         "to check it against");
    }
    return OkStatus();
  }
  for (std::size_t i = 0; i < std::size(kFiles); ++i) {
    const std::string_view key = kFiles[i];
    if (!uplink.Has(key)) {
      return uplink.Fail(key, fmt::format("required for TLS (a PEM file; see docs/tls.md), or set "
                                          "plaintext = true explicitly"));
    }
    ATMHEALTH_RETURN_IF_ERROR(uplink.ReadString(key, *targets[i]));
    std::ifstream file(*targets[i], std::ios::binary);
    if (targets[i]->empty() || !file) {
      std::error_code ec;
      const bool exists = !targets[i]->empty() && std::filesystem::exists(*targets[i], ec);
      return uplink.Fail(
          key, fmt::format("\"{}\": {}", *targets[i], exists ? "cannot be read" : "no such file"));
    }
  }
  ATMHEALTH_RETURN_IF_ERROR(uplink.ReadString("server_name", out.server_name));
  if (uplink.Has("server_name")) {
    auto name = platform::ParseHostPort(out.server_name + ":1");
    if (out.server_name.empty() || !name.ok()) {
      return uplink.Fail("server_name",
                         fmt::format("\"{}\" is not a host name or IP address", out.server_name));
    }
  }
  return OkStatus();
}

Status ReadUplink(const Section& uplink, UplinkConfig& out) {
  ATMHEALTH_RETURN_IF_ERROR(uplink.CheckKeys(
      {"collectors", "plaintext", "connect_timeout", "io_timeout", "heartbeat_interval",
       "backoff_initial", "backoff_max", "batch_events", "window_batches", "max_frame_bytes", "ca",
       "certificate", "private_key", "server_name"},
      false));
  const toml::node* collectors = uplink.Get("collectors");
  if (collectors == nullptr) {
    return uplink.Fail("collectors",
                       "required: list at least one collector, e.g. [\"collector.example:7411\"]");
  }
  if (!collectors->is_array()) {
    return uplink.Fail("collectors", fmt::format("must be a list of \"host:port\" strings, not {}",
                                                 TypeName(collectors->type())));
  }
  const toml::array& array = *collectors->as_array();
  if (array.empty()) {
    return uplink.Fail("collectors",
                       "no collectors: list at least one, e.g. [\"collector.example:7411\"]");
  }
  out.collectors.clear();
  for (std::size_t i = 0; i < array.size(); ++i) {
    const toml::node& element = *array.get(i);
    const std::string path = fmt::format("{}[{}]", uplink.PathOf("collectors"), i);
    if (!element.is_string()) {
      return uplink.FailAt(
          element, path,
          fmt::format("must be a \"host:port\" string, not {}", TypeName(element.type())));
    }
    auto endpoint = platform::ParseHostPort(element.as_string()->get());
    if (!endpoint.ok()) return uplink.FailAt(element, path, endpoint.error().message());
    out.collectors.push_back(std::move(*endpoint));
  }

  out.plaintext = false;
  ATMHEALTH_RETURN_IF_ERROR(uplink.ReadBool("plaintext", out.plaintext));
  ATMHEALTH_RETURN_IF_ERROR(ReadUplinkTls(uplink, out));
  using Zero = Section::Zero;
  ATMHEALTH_RETURN_IF_ERROR(
      uplink.ReadDuration("connect_timeout", out.connect_timeout, Zero::kRefused));
  ATMHEALTH_RETURN_IF_ERROR(uplink.ReadDuration("io_timeout", out.io_timeout, Zero::kRefused));
  ATMHEALTH_RETURN_IF_ERROR(
      uplink.ReadDuration("heartbeat_interval", out.heartbeat_interval, Zero::kRefused));
  ATMHEALTH_RETURN_IF_ERROR(
      uplink.ReadDuration("backoff_initial", out.backoff_initial, Zero::kRefused));
  ATMHEALTH_RETURN_IF_ERROR(uplink.ReadDuration("backoff_max", out.backoff_max, Zero::kRefused));
  if (out.backoff_max < out.backoff_initial) {
    const std::string_view key = uplink.Has("backoff_max") ? "backoff_max" : "backoff_initial";
    return uplink.Fail(
        key, fmt::format("backoff_max ({}) must not be shorter than "
                         "backoff_initial ({})",
                         FormatDuration(out.backoff_max), FormatDuration(out.backoff_initial)));
  }
  ATMHEALTH_RETURN_IF_ERROR(uplink.ReadCount("batch_events", out.batch_events, 1, 100'000));
  ATMHEALTH_RETURN_IF_ERROR(uplink.ReadCount("window_batches", out.window_batches, 1, 1024));
  std::uint64_t frame_bytes = out.max_frame_bytes;
  ATMHEALTH_RETURN_IF_ERROR(
      uplink.ReadByteSize("max_frame_bytes", frame_bytes, kMinFrameBytes, kMaxFrameBytes));
  out.max_frame_bytes = static_cast<std::size_t>(frame_bytes);
  return OkStatus();
}

// Reads the threshold keys of [storage] or one [[storage.filesystem]] over
// `rule`, which holds the values inherited so far, then checks the levels
// together. `section` must have been checked for unknown keys.
Status ReadLevels(const Section& section, const std::vector<v1::CustomerService>& offered,
                  FilesystemRule& rule) {
  ATMHEALTH_RETURN_IF_ERROR(section.ReadPercent("warning", rule.warning_percent));
  ATMHEALTH_RETURN_IF_ERROR(section.ReadPercent("critical", rule.critical_percent));
  ATMHEALTH_RETURN_IF_ERROR(section.ReadPercent("hysteresis", rule.hysteresis_percent));
  ATMHEALTH_RETURN_IF_ERROR(
      section.ReadDuration("for", rule.for_duration, Section::Zero::kAllowed));
  ATMHEALTH_RETURN_IF_ERROR(section.ReadPercent("inodes_warning", rule.inodes_warning_percent));
  ATMHEALTH_RETURN_IF_ERROR(section.ReadPercent("inodes_critical", rule.inodes_critical_percent));
  ATMHEALTH_RETURN_IF_ERROR(section.ReadServices("unavailable", rule.impact_unavailable));
  ATMHEALTH_RETURN_IF_ERROR(section.ReadServices("degraded", rule.impact_degraded));

  // A combined check fails at the first of `keys` written in this table: the
  // values inherited from [storage] were checked there already.
  const auto fail = [&](std::initializer_list<std::string_view> keys, const std::string& what) {
    for (std::string_view key : keys) {
      if (section.Has(key)) return section.Fail(key, what);
    }
    return section.Fail(*keys.begin(), what);
  };
  const double h = rule.hysteresis_percent;
  if (rule.critical_percent <= rule.warning_percent) {
    return fail({"critical", "warning"}, fmt::format("critical ({}) must be above warning ({})",
                                                     FormatNumber(rule.critical_percent),
                                                     FormatNumber(rule.warning_percent)));
  }
  if (rule.inodes_critical_percent <= rule.inodes_warning_percent) {
    return fail({"inodes_critical", "inodes_warning"},
                fmt::format("inodes_critical ({}) must be above inodes_warning ({})",
                            FormatNumber(rule.inodes_critical_percent),
                            FormatNumber(rule.inodes_warning_percent)));
  }
  // Otherwise leaving critical would land beyond warning's threshold, and a
  // value at the bottom of the band could never leave it.
  if (h >= rule.critical_percent - rule.warning_percent) {
    return fail({"hysteresis", "critical", "warning"},
                fmt::format("hysteresis ({}) must be smaller than the gap between warning ({}) "
                            "and critical ({})",
                            FormatNumber(h), FormatNumber(rule.warning_percent),
                            FormatNumber(rule.critical_percent)));
  }
  if (h >= rule.inodes_critical_percent - rule.inodes_warning_percent) {
    return fail({"hysteresis", "inodes_critical", "inodes_warning"},
                fmt::format("hysteresis ({}) must be smaller than the gap between inodes_warning "
                            "({}) and inodes_critical ({})",
                            FormatNumber(h), FormatNumber(rule.inodes_warning_percent),
                            FormatNumber(rule.inodes_critical_percent)));
  }
  // A warning can only resolve when the value can fall below warning - hysteresis.
  if (h >= rule.warning_percent || h >= rule.inodes_warning_percent) {
    return fail({"hysteresis", "warning", "inodes_warning"},
                fmt::format("hysteresis ({}) must be below warning ({}) and inodes_warning ({}), "
                            "or the alert could never resolve",
                            FormatNumber(h), FormatNumber(rule.warning_percent),
                            FormatNumber(rule.inodes_warning_percent)));
  }
  for (std::string_view key : {"unavailable", "degraded"}) {
    const auto& listed = key == "unavailable" ? rule.impact_unavailable : rule.impact_degraded;
    for (v1::CustomerService service : listed) {
      if (std::find(offered.begin(), offered.end(), service) == offered.end()) {
        return fail({key}, fmt::format("\"{}\" is not among device.services ({})",
                                       wire::ShortName(service), ServiceNames(offered)));
      }
    }
  }
  for (v1::CustomerService service : rule.impact_unavailable) {
    if (std::find(rule.impact_degraded.begin(), rule.impact_degraded.end(), service) !=
        rule.impact_degraded.end()) {
      return fail({"degraded", "unavailable"},
                  fmt::format("\"{}\" is listed both as unavailable and as degraded",
                              wire::ShortName(service)));
    }
  }
  return OkStatus();
}

// "/var/" and "/var/./" watch the same place as "/var".
std::string NormalPath(const std::string& path) {
  std::string normal = std::filesystem::path(path).lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  return normal;
}

Status ReadStorage(const Section& storage, const std::vector<v1::CustomerService>& offered,
                   StorageConfig& out) {
  ATMHEALTH_RETURN_IF_ERROR(storage.CheckKeys(
      {"interval", "probe_timeout", "all_mounts", "filesystem", "warning", "critical", "hysteresis",
       "for", "inodes_warning", "inodes_critical", "unavailable", "degraded"},
      false));
  using Zero = Section::Zero;
  ATMHEALTH_RETURN_IF_ERROR(storage.ReadDuration("interval", out.interval, Zero::kRefused));
  ATMHEALTH_RETURN_IF_ERROR(
      storage.ReadDuration("probe_timeout", out.probe_timeout, Zero::kRefused));
  if (out.probe_timeout > out.interval) {
    return storage.Fail(
        storage.Has("probe_timeout") ? "probe_timeout" : "interval",
        fmt::format("probe_timeout ({}) must not be longer than interval ({})",
                    FormatDuration(out.probe_timeout), FormatDuration(out.interval)));
  }
  ATMHEALTH_RETURN_IF_ERROR(storage.ReadBool("all_mounts", out.all_mounts));
  ATMHEALTH_RETURN_IF_ERROR(ReadLevels(storage, offered, out.defaults));

  const toml::node* filesystems = storage.Get("filesystem");
  if (filesystems == nullptr) return OkStatus();
  if (filesystems->is_array() && filesystems->as_array()->empty()) return OkStatus();
  if (!filesystems->is_array_of_tables()) {
    return storage.Fail("filesystem",
                        fmt::format("must be a list of tables, written [[storage.filesystem]], "
                                    "not {}",
                                    TypeName(filesystems->type())));
  }
  const toml::array& array = *filesystems->as_array();
  std::vector<std::uint32_t> lines;
  for (std::size_t i = 0; i < array.size(); ++i) {
    const Section filesystem(storage.source(), *array.get(i)->as_table(),
                             fmt::format("{}[{}]", storage.PathOf("filesystem"), i),
                             storage.line());
    ATMHEALTH_RETURN_IF_ERROR(
        filesystem.CheckKeys({"path", "warning", "critical", "hysteresis", "for", "inodes_warning",
                              "inodes_critical", "unavailable", "degraded"},
                             false));
    FilesystemRule rule = out.defaults;
    if (!filesystem.Has("path")) {
      return filesystem.Fail("path", "required: the directory or mount point to watch");
    }
    ATMHEALTH_RETURN_IF_ERROR(filesystem.ReadString("path", rule.path));
    if (rule.path.empty() || rule.path.front() != '/') {
      return filesystem.Fail("path",
                             fmt::format("must be an absolute path, not \"{}\"", rule.path));
    }
    rule.path = NormalPath(rule.path);
    for (std::size_t j = 0; j < out.filesystems.size(); ++j) {
      if (out.filesystems[j].path == rule.path) {
        return filesystem.Fail(
            "path", fmt::format("\"{}\" is already watched by {}[{}] (line {})", rule.path,
                                storage.PathOf("filesystem"), j, lines[j]));
      }
    }
    ATMHEALTH_RETURN_IF_ERROR(ReadLevels(filesystem, offered, rule));
    out.filesystems.push_back(std::move(rule));
    lines.push_back(filesystem.line());
  }
  return OkStatus();
}

Status ReadLog(const Section& log, LogConfig& out) {
  ATMHEALTH_RETURN_IF_ERROR(log.CheckKeys({"level"}, false));
  ATMHEALTH_RETURN_IF_ERROR(log.ReadString("level", out.level));
  if (std::find(std::begin(kLogLevels), std::end(kLogLevels), out.level) == std::end(kLogLevels)) {
    return log.Fail("level", fmt::format("unknown level \"{}\" (valid: trace, debug, info, warn, "
                                         "error)",
                                         out.level));
  }
  return OkStatus();
}

// A section of the root, or an empty one standing at line 1 when absent, so
// that required keys are reported missing rather than skipped.
Result<Section> SubSection(const Section& root, std::string_view name) {
  auto table = root.Table(name);
  if (!table.ok()) return table.error();
  return Section(root.source(), *table != nullptr ? **table : EmptyTable(), std::string(name), 1);
}

}  // namespace

Result<AgentConfig> ParseAgentConfig(std::string_view text, std::string_view source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& error) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("{}:{}:{}: {}", source, error.source().begin.line,
                             error.source().begin.column, error.description()));
  }

  AgentConfig config;
  config.source = std::string(source);
  config.device.site = std::string(kDefaultSite);
  config.device.services = AllServices();
  config.store.path = std::string(kDefaultStorePath);

  const Section top(source, root, "", 1);
  ATMHEALTH_RETURN_IF_ERROR(top.CheckKeys({"device", "store", "uplink", "storage", "log"}, true));

  auto device = SubSection(top, "device");
  if (!device.ok()) return device.error();
  ATMHEALTH_RETURN_IF_ERROR(ReadDevice(*device, config.device));

  auto store = SubSection(top, "store");
  if (!store.ok()) return store.error();
  ATMHEALTH_RETURN_IF_ERROR(ReadStore(*store, config.store));

  auto uplink = SubSection(top, "uplink");
  if (!uplink.ok()) return uplink.error();
  ATMHEALTH_RETURN_IF_ERROR(ReadUplink(*uplink, config.uplink));

  auto storage = SubSection(top, "storage");
  if (!storage.ok()) return storage.error();
  ATMHEALTH_RETURN_IF_ERROR(ReadStorage(*storage, config.device.services, config.storage));

  auto log = SubSection(top, "log");
  if (!log.ok()) return log.error();
  ATMHEALTH_RETURN_IF_ERROR(ReadLog(*log, config.log));
  return config;
}

Result<AgentConfig> LoadAgentConfig(const std::string& path) {
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  if (status.type() == std::filesystem::file_type::not_found) {
    return Error(ErrorCode::kNotFound, fmt::format("{}: config file not found", path));
  }
  if (error) return platform::ErrorFromErrno(error.value(), fmt::format("{}: config file", path));
  if (!std::filesystem::is_regular_file(status)) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("{}: config file is not a regular file", path));
  }
  const std::uintmax_t size = std::filesystem::file_size(path, error);
  if (error) return platform::ErrorFromErrno(error.value(), fmt::format("{}: config file", path));
  if (size > kMaxConfigFileBytes) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("{}: config file is {} bytes, more than the {} a config can be", path,
                             size, kMaxConfigFileBytes));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return platform::ErrorFromErrno(errno, fmt::format("{}: config file", path));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return platform::ErrorFromErrno(errno, fmt::format("{}: config file", path));
  return ParseAgentConfig(text.str(), path);
}

AgentConfig DefaultAgentConfig() {
  AgentConfig config;
  config.source = "built-in defaults";
  config.device.id = platform::HostName();
  config.device.site = std::string(kDefaultSite);
  config.device.kind = v1::DEVICE_KIND_BRANCH_SERVER;
  config.device.services = AllServices();
  config.store.path = std::string(kDefaultStorePath);
  config.uplink.collectors = {CollectorEndpoint{"127.0.0.1", 7411}};
  config.uplink.plaintext = true;
  config.storage.all_mounts = true;
  return config;
}

}  // namespace atmhealth::agent
