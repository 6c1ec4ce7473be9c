// The one TOML reader of atmhealthd's config: a section (table) being read
// knows its key path and where it is, so that every error names
// "<source>:<line>: <key path>". config.cc reads the agent's own sections with
// it and every watcher reads its own section with it (watch/watcher_registry.h).
#ifndef ATMHEALTH_AGENT_CONFIG_SECTION_H_
#define ATMHEALTH_AGENT_CONFIG_SECTION_H_

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "agent/rules/rule.h"
#include "atmhealth/v1/device.pb.h"
#include "platform/config_values.h"
#include "platform/status.h"
#include "proto/names.h"

namespace atmhealth::agent {

// Every customer service the protocol knows, in enum order.
std::vector<v1::CustomerService> AllServices();
// "withdrawal, deposit, ...": every valid service name, for messages.
std::string ValidServiceNames();
// The short names of `services`, comma-separated.
std::string ServiceNames(const std::vector<v1::CustomerService>& services);
// "a string", "an integer", ...: a TOML node's type in words.
const char* TypeName(toml::node_type type);
std::string FormatNumber(double value);
// An empty table, for a section that is absent.
const toml::table& EmptyTable();

class ConfigSection {
 public:
  ConfigSection(std::string_view source, const toml::table& table, std::string path,
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
  // True for a table with no keys, and for a section absent from the file.
  bool empty() const { return table_.empty(); }
  // False for the empty stand-in of an absent section (Child): a watcher
  // that is off unless configured tells "[raid]" from no section at all.
  bool present() const { return &table_ != &EmptyTable(); }

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

  // "<source>:<line>: <key path>" of `node`: where a value was given.
  std::string WhereAt(const toml::node& node, std::string_view key_path) const {
    const std::uint32_t line = node.source().begin.line != 0 ? node.source().begin.line : line_;
    return fmt::format("{}:{}: {}", source_, line, key_path);
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
    return CheckKeys(std::vector<std::string_view>(allowed), sections);
  }
  Status CheckKeys(const std::vector<std::string_view>& allowed, bool sections) const;

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
      return Fail(key, fmt::format("must be a duration string like \"30s\" (units ms, s, m, h, d), "
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

  // The shortest sampling interval and probe timeout a watcher accepts.
  // Below it a probe that takes a normal few milliseconds on a busy ATM
  // (statvfs on a slow disk, reading /proc under load) misses its deadline
  // and its alert flaps on and off many times a second, and sampling costs
  // the device more than anything it watches.
  static constexpr std::chrono::milliseconds kMinimumSamplingTime{100};

  // A watcher's `interval` or `probe_timeout`: a duration of at least
  // kMinimumSamplingTime.
  Status ReadSamplingTime(std::string_view key, std::chrono::milliseconds& out) const {
    std::chrono::milliseconds value = out;
    if (Status read = ReadDuration(key, value, Zero::kRefused); !read.ok()) return read;
    if (value < kMinimumSamplingTime) {
      return Fail(key, fmt::format("must be at least {}ms, not {}ms: a shorter one makes a probe "
                                   "miss its deadline on a busy device and its alert flap",
                                   kMinimumSamplingTime.count(), value.count()));
    }
    out = value;
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

  // A list of non-empty strings without duplicates, e.g. ["eth0", "eth1"].
  Status ReadStrings(std::string_view key, std::vector<std::string>& out) const;

  // A Unix socket file and who may use it: `path_key` an absolute path of at
  // most 100 bytes (left as it is when absent), `mode_key` octal permission
  // bits like "0660" that never let every account in, `group_key` an
  // existing group. `users` says who the socket is for, in the message that
  // refuses a world-writable mode.
  struct SocketAccess {
    std::string path;
    std::uint32_t mode = 0660;
    std::string group;  // empty: the agent's own
  };
  Status ReadSocketAccess(std::string_view path_key, std::string_view mode_key,
                          std::string_view group_key, std::string_view users,
                          SocketAccess& out) const;

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

  // One of "warning", "critical" (and "info", "none" when `allow_none`:
  // SEVERITY_UNSPECIFIED for none).
  Status ReadSeverity(std::string_view key, v1::Severity& out, bool allow_none) const;

  // An FSA failure category by short name, e.g. "daily_operation_redundancy".
  Status ReadCategory(std::string_view key, v1::FailureCategory& out) const;

  // The severity and customer impact of each state of a state rule, from the
  // sub-table `key`, one inline table per state:
  //   [redundancy.raid.states]
  //   degraded = { severity = "warning", degraded = ["withdrawal"] }
  //   down = { severity = "critical", unavailable = ["withdrawal", "deposit"] }
  // States not written keep their outcome in `out`; "redundant" is never an
  // alert and cannot be given one. Services must be among `offered`.
  Status ReadStates(std::string_view key, const std::vector<v1::CustomerService>& offered,
                    StateSpec& out) const;

  // What a silent subject means: `after_key` a duration ("0s": never stale),
  // `outcome_key` "keep", "resolve", or for a state rule (`state_rule`) a
  // state name such as "down", for a threshold rule "warning" or "critical".
  Status ReadStaleness(std::string_view after_key, std::string_view outcome_key, bool state_rule,
                       Staleness& out) const;

  // The sub-table `key` as a section; an empty section at this table's line
  // when absent.
  Result<ConfigSection> Child(std::string_view key) const;

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

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_CONFIG_SECTION_H_
