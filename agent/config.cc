#include "agent/config.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <sstream>
#include <system_error>
#include <utility>

#include "agent/config_section.h"
#include "agent/watch/watcher_registry.h"
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
// Memory for events waiting while the disk refuses writes: at least a few of
// the largest events the agent makes (a few KiB each), at most a quarter of
// what a small ATM has.
constexpr std::uint64_t kMinPendingBytes = 64 * 1024;
constexpr std::uint64_t kMaxPendingBytes = 1024ull * 1024 * 1024;
// A log file holds at least a few hundred lines before it rotates.
constexpr std::uint64_t kMinLogFileBytes = 64 * 1024;
constexpr std::uint64_t kMaxLogFileBytes = 1024ull * 1024 * 1024;
constexpr std::string_view kLogLevels[] = {"trace", "debug", "info", "warn", "error"};

// Device and site ids travel in every event and name rows at the collector:
// 1..64 characters of [A-Za-z0-9._-] (device.proto).
bool IsValidId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

using Section = ConfigSection;
using platform::FormatDuration;

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
                                       wire::ShortNames<v1::DeviceKind>()));
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
  ATMHEALTH_RETURN_IF_ERROR(store.CheckKeys(
      {"path", "max_bytes", "commit_interval", "max_pending_events", "max_pending_bytes"}, false));
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
  ATMHEALTH_RETURN_IF_ERROR(store.ReadByteSize("max_pending_bytes", out.max_pending_bytes,
                                               kMinPendingBytes, kMaxPendingBytes));
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

Status ReadLog(const Section& log, LogConfig& out) {
  ATMHEALTH_RETURN_IF_ERROR(log.CheckKeys({"level", "file", "max_file_bytes", "max_files"}, false));
  ATMHEALTH_RETURN_IF_ERROR(log.ReadString("level", out.level));
  ATMHEALTH_RETURN_IF_ERROR(log.ReadString("file", out.file));
  if (!out.file.empty() && out.file.front() != '/') {
    return log.Fail("file", fmt::format("must be an absolute path, not \"{}\"", out.file));
  }
  ATMHEALTH_RETURN_IF_ERROR(
      log.ReadByteSize("max_file_bytes", out.max_file_bytes, kMinLogFileBytes, kMaxLogFileBytes));
  ATMHEALTH_RETURN_IF_ERROR(log.ReadCount("max_files", out.max_files, 1, 100));
  if (std::find(std::begin(kLogLevels), std::end(kLogLevels), out.level) == std::end(kLogLevels)) {
    return log.Fail("level", fmt::format("unknown level \"{}\" (valid: trace, debug, info, warn, "
                                         "error)",
                                         out.level));
  }
  return OkStatus();
}

Status ReadControl(const Section& control, ControlConfig& out) {
  ATMHEALTH_RETURN_IF_ERROR(control.CheckKeys(
      {"enabled", "socket", "socket_mode", "socket_group", "max_clients"}, false));
  ATMHEALTH_RETURN_IF_ERROR(control.ReadBool("enabled", out.enabled));
  Section::SocketAccess access{out.socket, out.socket_mode, out.socket_group};
  ATMHEALTH_RETURN_IF_ERROR(control.ReadSocketAccess("socket", "socket_mode", "socket_group",
                                                     "the engineers' accounts", access));
  out.socket = access.path;
  out.socket_mode = access.mode;
  out.socket_group = access.group;
  ATMHEALTH_RETURN_IF_ERROR(control.ReadCount("max_clients", out.max_clients, 1, 64));
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

Result<AgentConfig> ParseAgentConfig(std::string_view text, std::string_view source,
                                     std::vector<Error>* problems) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& error) {
    Error syntax(ErrorCode::kInvalidArgument,
                 fmt::format("{}:{}:{}: {}", source, error.source().begin.line,
                             error.source().begin.column, error.description()));
    if (problems != nullptr) problems->push_back(syntax);
    return syntax;
  }

  AgentConfig config;
  config.source = std::string(source);
  config.device.site = std::string(kDefaultSite);
  config.device.services = AllServices();
  config.store.path = std::string(kDefaultStorePath);

  // Without `problems` the first problem ends the reading; with it, each
  // section's first problem is noted and the next section is read.
  std::vector<Error> noted;
  auto note = [&](Status status) {
    if (status.ok()) return true;
    noted.push_back(status.error());
    return problems != nullptr;
  };
  auto read_section = [&](const Section& top, std::string_view name, auto read) {
    auto section = SubSection(top, name);
    if (!section.ok()) return note(section.error());
    return note(read(*section));
  };

  const Section top(source, root, "", 1);
  std::vector<std::string_view> sections = {"device", "store", "uplink"};
  for (std::string_view watcher : WatcherSections()) sections.push_back(watcher);
  sections.push_back("log");
  sections.push_back("control");
  sections.push_back("diagnostics");
  bool go_on =
      note(top.CheckKeys(sections, true)) &&
      read_section(top, "device", [&](const Section& s) { return ReadDevice(s, config.device); }) &&
      read_section(top, "store", [&](const Section& s) { return ReadStore(s, config.store); }) &&
      read_section(top, "uplink", [&](const Section& s) { return ReadUplink(s, config.uplink); });
  if (go_on) {
    auto watchers = ParseWatchers(top, config.device, problems != nullptr ? &noted : nullptr);
    if (watchers.ok()) {
      config.watchers = std::move(watchers).value();
    } else {
      go_on = note(watchers.error());
    }
  }
  if (go_on) {
    read_section(top, "log", [&](const Section& s) { return ReadLog(s, config.log); });
    read_section(top, "control", [&](const Section& s) { return ReadControl(s, config.control); });
    read_section(top, "diagnostics",
                 [&](const Section& s) { return ReadDiagnostics(s, config.diagnostics); });
  }
  if (noted.empty()) return config;
  if (problems != nullptr) problems->insert(problems->end(), noted.begin(), noted.end());
  return noted.front();
}

namespace {

Result<AgentConfig> ReadAgentConfigFile(const std::string& path, std::vector<Error>* problems) {
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
  return ParseAgentConfig(text.str(), path, problems);
}

}  // namespace

Result<AgentConfig> LoadAgentConfig(const std::string& path, std::vector<Error>* problems) {
  Result<AgentConfig> loaded = ReadAgentConfigFile(path, problems);
  if (!loaded.ok() && problems != nullptr && problems->empty()) {
    problems->push_back(loaded.error());
  }
  return loaded;
}

std::string ControlSocketPath(const AgentConfig& config) {
  if (!config.control.socket.empty()) return config.control.socket;
  return (std::filesystem::path(config.store.path).parent_path() / "control.sock").string();
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
  // The watchers' own defaults, read the way a config file is.
  static constexpr std::string_view kDefaultWatchers = "[storage]\nall_mounts = true\n";
  const toml::table watchers_toml =
      toml::parse(kDefaultWatchers, std::string_view("built-in defaults"));
  auto watchers = ParseWatchers(Section("built-in defaults", watchers_toml, "", 1), config.device);
  if (!watchers.ok()) std::abort();  // the built-in text is valid: a bug otherwise
  config.watchers = std::move(watchers).value();
  return config;
}

}  // namespace atmhealth::agent
