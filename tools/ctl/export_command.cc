#include "tools/ctl/export_command.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <system_error>
#include <utility>
#include <vector>

#include "agent/config.h"
#include "agent/store/sqlite_event_store.h"
#include "atmhealth/v1/session.pb.h"
#include "platform/clock.h"
#include "platform/command_runner.h"
#include "platform/host.h"
#include "platform/text_input.h"
#include "tools/ctl/agent_config_source.h"
#include "tools/ctl/bundle_archive.h"
#include "tools/ctl/config_redaction.h"
#include "tools/ctl/control_client.h"
#include "tools/ctl/event_output.h"
#include "tools/ctl/events_command.h"

namespace atmhealth::ctl {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

// The config loader's own limit: a larger file is not a configuration.
constexpr std::size_t kMaxConfigBytes = 1024 * 1024;
// README.txt and manifest.json, whose size is known only at the end.
constexpr std::uint64_t kIndexReserve = 64 * 1024;
// What diagnostics.json grows by after the daemon's status: the buffer's
// summary and the names of the log sources (at most 101 rotated files).
constexpr std::uint64_t kDiagnosticsGrowth = 48 * 1024;

// What goes into the bundle, within its bound, and what could not.
class Bundle {
 public:
  explicit Bundle(std::uint64_t max_bytes)
      // gzip adds at most 5 bytes per 16 KiB stored block, and 18 in all.
      : capacity_(max_bytes - kIndexReserve - 2 * kBundleMemberOverhead - max_bytes / 1024) {}

  // Bytes a member of content `bytes` may still have, after its overhead.
  std::uint64_t Room() const {
    return used_ + kBundleMemberOverhead >= capacity_ ? 0
                                                      : capacity_ - used_ - kBundleMemberOverhead;
  }
  void Add(std::string name, std::string content, std::string what) {
    used_ += content.size() + kBundleMemberOverhead;
    index_.push_back({{"name", name}, {"bytes", content.size()}, {"what", std::move(what)}});
    files_.push_back({std::move(name), std::move(content)});
  }
  // Holds room for a member made later (diagnostics.json, whose facts
  // grow while the others are added); Add it with Release first.
  void Reserve(std::uint64_t bytes) { used_ += bytes; }
  void Release(std::uint64_t bytes) { used_ -= std::min(used_, bytes); }
  void Cut(std::string note) { cut_.push_back(std::move(note)); }
  void Missing(std::string note) { missing_.push_back(std::move(note)); }

  const std::vector<std::string>& cut() const { return cut_; }
  const std::vector<std::string>& missing() const { return missing_; }
  const Json& index() const { return index_; }
  std::vector<BundleFile>& files() { return files_; }

 private:
  std::uint64_t capacity_;
  std::uint64_t used_ = 0;
  std::vector<BundleFile> files_;
  Json index_ = Json::array();
  std::vector<std::string> cut_;
  std::vector<std::string> missing_;
};

std::string CompactUtc(std::int64_t unix_ns) {
  // "2026-11-29T14:14:05.123Z" -> "20261129T141405Z"
  std::string utc = UtcTime(unix_ns);
  std::string compact;
  for (char c : utc.substr(0, 19)) {
    if (c != '-' && c != ':') compact += c;
  }
  return compact + "Z";
}

std::string Plural(std::uint64_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

// The configuration file, redacted; its problems as the daemon would say
// them (those naming a secret key without their text).
void AddConfig(const std::string& path, const std::vector<Error>& problems, Bundle& bundle,
               Json& facts) {
  facts["config"] = {{"file", path.empty() ? Json(nullptr) : Json(path)}};
  if (path.empty()) {
    facts["config"]["note"] = "no configuration file: the agent's built-in defaults";
    return;
  }
  std::vector<std::string> redacted;
  Result<std::string> text = platform::ReadTextFile(path, kMaxConfigBytes);
  if (!text.ok()) {
    bundle.Missing("config: " + text.error().message());
  } else if (Result<RedactedConfig> safe = RedactConfig(*text, path); !safe.ok()) {
    bundle.Missing(fmt::format(
        "config: left out because it is not valid TOML, so its secrets cannot be found: {}",
        safe.error().message()));
  } else if (safe->text.size() > bundle.Room()) {
    bundle.Missing(fmt::format("config: {} bytes redacted, more than the bundle's bound leaves",
                               safe->text.size()));
  } else {
    redacted = safe->redacted;
    const std::string name = "config/" + fs::path(path).filename().string();
    std::string content = fmt::format(
        "# {} as atmhealthctl export read it; {} replaced by \"{}\"{}; comments left out.\n", path,
        Plural(redacted.size(), "secret value", "secret values"), kRedactedValue,
        redacted.empty() ? "" : " (README.txt names them)");
    content += safe->text;
    bundle.Add(name, std::move(content), "the configuration, secrets redacted");
  }
  facts["config"]["redacted"] = redacted;
  Json listed = Json::array();
  for (const Error& problem : problems) {
    std::string message = problem.message();
    for (const std::string& key : redacted) {
      const std::string name = key.substr(key.find_last_of('.') + 1);
      if (const std::size_t at = message.find(name); at != std::string::npos) {
        message = message.substr(0, at + name.size()) +
                  ": (problem text left out: it concerns a secret value)";
        break;
      }
    }
    listed.push_back(message);
  }
  facts["config"]["problems"] = std::move(listed);
}

// The buffer's summary into `facts`, its events (newest kept) into the bundle.
void AddEvents(const ExportRequest& request, const std::string& store_path, std::uint64_t max_bytes,
               Bundle& bundle, Json& facts) {
  Json buffer = {{"path", store_path}};
  std::error_code ec;
  for (const auto& [suffix, field] :
       {std::pair{"", "file_bytes"}, std::pair{"-wal", "wal_bytes"}}) {
    const std::uintmax_t size = fs::file_size(store_path + suffix, ec);
    if (!ec) buffer[field] = size;
  }
  Result<EventHistory> history = EventHistory::Open(store_path);
  if (!history.ok()) {
    buffer["error"] = history.error().message();
    facts["buffer"] = std::move(buffer);
    bundle.Missing("events: " + history.error().message());
    return;
  }
  if (Result<BufferSummary> summary = history->Summary(); summary.ok()) {
    buffer["schema_version"] = summary->schema_version;
    buffer["events"] = summary->events;
    buffer["first_seq"] = summary->first_seq;
    buffer["last_seq"] = summary->last_seq;
    buffer["delivered_seq"] = summary->delivered_seq;
    buffer["undelivered_events"] =
        summary->last_seq > summary->delivered_seq ? summary->last_seq - summary->delivered_seq : 0;
    if (summary->events > 0) {
      buffer["oldest"] = UtcTime(summary->oldest_unix_ns);
      buffer["newest"] = UtcTime(summary->newest_unix_ns);
    }
  } else {
    buffer["error"] = summary.error().message();
  }
  facts["buffer"] = std::move(buffer);

  // Newest first until a bound is reached; written oldest first.
  std::vector<std::string> lines;
  std::uint64_t bytes = 0;
  std::optional<std::string> stopped_by;
  OutputStyle json;
  json.format = EventFormat::kJson;
  const Status read = history->NewestFirst(request.filter, [&](StoredEvent& stored) {
    if (lines.size() == request.max_events) {
      stopped_by = fmt::format("--max-events {}", request.max_events);
      return false;
    }
    std::ostringstream line;
    WriteEvents(line, {std::move(stored)}, json);
    if (bytes + line.str().size() > max_bytes) {
      stopped_by = fmt::format("the {} bytes the size bound leaves for events", max_bytes);
      return false;
    }
    bytes += line.str().size();
    lines.push_back(std::move(line).str());
    return true;
  });
  if (!read.ok()) bundle.Missing("events: reading stopped: " + read.error().message());
  if (stopped_by) {
    bundle.Cut(
        fmt::format("events.jsonl: the newest {} of the matching events; older ones left "
                    "out by {}",
                    lines.size(), *stopped_by));
  }
  std::string content;
  content.reserve(bytes);
  for (auto line = lines.rbegin(); line != lines.rend(); ++line) content += *line;
  bundle.Add("events.jsonl", std::move(content),
             Plural(lines.size(), "event", "events") + ", one JSON object per line, oldest first");
}

// The last `max_bytes` of a file, starting at a line; `size` its whole size.
Result<std::string> ReadTail(const std::string& path, std::uint64_t max_bytes,
                             std::uint64_t& size) {
  std::error_code ec;
  size = fs::file_size(path, ec);
  if (ec) return Error(ErrorCode::kIo, fmt::format("{}: {}", path, ec.message()));
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(ErrorCode::kPermissionDenied, fmt::format("{}: cannot be read", path));
  const std::uint64_t from = size > max_bytes ? size - max_bytes : 0;
  in.seekg(static_cast<std::streamoff>(from));
  std::string text(size - from, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (from > 0) {
    const std::size_t newline = text.find('\n');
    text.erase(0, newline == std::string::npos ? text.size() : newline + 1);
  }
  return text;
}

// spdlog's rotated names: "atmhealthd.log", "atmhealthd.1.log", ...
std::string RotatedName(const fs::path& file, std::size_t index) {
  if (index == 0) return file.string();
  return (file.parent_path() /
          fmt::format("{}.{}{}", file.stem().string(), index, file.extension().string()))
      .string();
}

void AddLogs(const ExportRequest& request, const agent::LogConfig& log, Bundle& bundle,
             Json& facts) {
  Json sources = Json::array();
  if (!log.file.empty()) {
    for (std::size_t index = 0; index <= log.max_files; ++index) {
      const std::string path = RotatedName(log.file, index);
      std::error_code ec;
      if (!fs::exists(path, ec)) {
        if (index == 0) bundle.Missing("logs: " + path + " ([log] file) does not exist");
        continue;
      }
      const std::string name = "logs/" + fs::path(path).filename().string();
      const std::uint64_t room = bundle.Room();
      if (room == 0) {
        bundle.Cut(fmt::format("{}: left out, no room left within the size bound", name));
        continue;
      }
      std::uint64_t size = 0;
      Result<std::string> tail = ReadTail(path, room, size);
      if (!tail.ok()) {
        bundle.Missing("logs: " + tail.error().message());
        continue;
      }
      if (tail->size() < size) {
        bundle.Cut(fmt::format("{}: the last {} of its {} bytes (the size bound)", name,
                               tail->size(), size));
      }
      sources.push_back(path);
      bundle.Add(name, std::move(tail).value(),
                 index == 0 ? "the agent's log file, newest" : "a rotated log file, older");
    }
  }
  if (platform::BootedWithSystemd()) {
    platform::CommandSpec spec;
    // Newest first (-r), so that the output limit cuts the oldest lines.
    spec.argv = {"journalctl", "-u", request.unit, "-n", std::to_string(request.journal_lines),
                 "--no-pager", "-o", "short-iso",  "-r"};
    spec.time_limit = request.timeout;
    spec.output_limit = static_cast<std::size_t>(bundle.Room());
    spec.stderr_handling = platform::CommandSpec::Stderr::kDiscarded;
    Result<platform::CommandOutcome> ran = platform::RunCommand(spec);
    if (!ran.ok()) {
      bundle.Missing("logs: the journal could not be read: " + ran.error().message());
    } else if (!ran->Succeeded() && ran->output.empty()) {
      bundle.Missing("logs: journalctl -u " + request.unit + ": " + ran->Describe(spec));
    } else {
      std::vector<std::string_view> lines;
      platform::TextLines text(ran->output);
      while (auto line = text.Next()) lines.push_back(*line);
      // A line cut by the output limit is left out.
      if (ran->output_truncated && !lines.empty()) lines.pop_back();
      std::string oldest_first;
      for (auto line = lines.rbegin(); line != lines.rend(); ++line) {
        oldest_first.append(*line).push_back('\n');
      }
      if (ran->output_truncated) {
        bundle.Cut(fmt::format("logs/journal.txt: the newest {} lines; journalctl -u {} {}",
                               lines.size(), request.unit, ran->Describe(spec)));
      }
      sources.push_back("journal: unit " + request.unit);
      bundle.Add(
          "logs/journal.txt", std::move(oldest_first),
          fmt::format("journalctl -u {} -n {}, oldest first", request.unit, request.journal_lines));
    }
  } else {
    bundle.Missing(
        "logs: no journal on this system (it does not run systemd); the agent logs to the journal "
        "only when systemd runs it");
  }
  if (sources.empty()) {
    bundle.Missing(log.file.empty()
                       ? "logs: none; no [log] file is configured, so without systemd the agent "
                         "logged to its standard error, which only its starter saw"
                       : "logs: none could be read");
  }
  facts["logs"] = std::move(sources);
}

void AddDaemonStatus(const std::string& socket_path, std::chrono::milliseconds timeout,
                     std::uint64_t room, Bundle& bundle, Json& facts) {
  Result<Json> answer = AskDaemon(socket_path, {{"command", "status"}}, timeout);
  if (!answer.ok()) {
    facts["daemon"] = {{"running", false},
                       {"socket", socket_path},
                       {"note", "no status from the daemon: " + answer.error().message() +
                                    "; the events and logs here are what it left"}};
    bundle.Missing("daemon status: " + answer.error().message());
    return;
  }
  const std::size_t size = answer->dump().size();
  if (size > room) {
    facts["daemon"] = {{"running", true},
                       {"socket", socket_path},
                       {"note", fmt::format("its status answer ({} bytes) was left out", size)}};
    bundle.Cut(
        fmt::format("diagnostics.json: the daemon's status answer ({} bytes) left out by "
                    "the size bound",
                    size));
    return;
  }
  facts["daemon"] = {{"running", true}, {"socket", socket_path}, {"status", std::move(*answer)}};
}

std::string Readme(const Json& manifest) {
  std::ostringstream out;
  out << "atmhealth export bundle\n"
      << "=======================\n\n"
      << "Device " << manifest["device"].get<std::string>() << ", made "
      << manifest["created"].get<std::string>() << " by "
      << manifest["created_by"].get<std::string>() << ", at most " << manifest["max_bytes"]
      << " bytes.\n\nFiles:\n";
  std::size_t width = 0;
  for (const Json& file : manifest["files"]) {
    width = std::max(width, file["name"].get<std::string>().size());
  }
  for (const Json& file : manifest["files"]) {
    out << fmt::format("  {:<{}}  {:>9} bytes  {}\n", file["name"].get<std::string>(), width,
                       file["bytes"].get<std::uint64_t>(), file["what"].get<std::string>());
  }
  out << "\nRedacted: " << kRedactionRule << ".\n";
  if (manifest["redacted"].empty()) {
    out << "  (no such key in this configuration)\n";
  } else {
    for (const Json& key : manifest["redacted"]) out << "  " << key.get<std::string>() << "\n";
  }
  for (const auto& [title, list] :
       {std::pair{"Cut to stay within the bounds", "cut"}, std::pair{"Not included", "missing"}}) {
    out << "\n" << title << ":\n";
    if (manifest[list].empty()) out << "  nothing\n";
    for (const Json& note : manifest[list]) out << "  " << note.get<std::string>() << "\n";
  }
  return out.str();
}

}  // namespace

int RunExport(const ExportRequest& request, std::ostream& out, std::ostream& err) {
  const std::int64_t now_ns = platform::UnixNanos(std::chrono::system_clock::now());

  // The configuration: the file the daemon would read, and its problems.
  std::string config_file = request.config_path;
  std::error_code ec;
  if (config_file.empty() && fs::exists(kPackagedAgentConfig, ec)) {
    config_file = kPackagedAgentConfig;
  }
  std::vector<Error> problems;
  agent::AgentConfig config;
  if (config_file.empty()) {
    config = agent::DefaultAgentConfig();
  } else if (Result<agent::AgentConfig> loaded = agent::LoadAgentConfig(config_file, &problems);
             loaded.ok()) {
    config = std::move(loaded).value();
  } else {
    // A bundle is most wanted when the configuration is wrong: the paths
    // fall back to the defaults (or --store/--socket) and the problems are
    // in the bundle.
    config = agent::DefaultAgentConfig();
    config.log = {};
  }
  const std::string store_path =
      request.store_path.empty() ? config.store.path : request.store_path;
  const std::string socket_path =
      request.socket_path.empty() ? agent::ControlSocketPath(config) : request.socket_path;
  const std::string device = config.device.id;

  std::string output = request.output;
  if (output.empty()) {
    output = fmt::format("atmhealth-export-{}-{}.tar.gz", device, CompactUtc(now_ns));
  }
  std::string directory = fs::path(output).filename().string();
  for (std::string_view suffix : {".tar.gz", ".tgz"}) {
    if (directory.size() > suffix.size() && directory.ends_with(suffix)) {
      directory.resize(directory.size() - suffix.size());
      break;
    }
  }
  if (fs::exists(output, ec)) {
    err << "atmhealthctl: " << output << ": exists already; name another file with --output\n";
    return kExitUsage;
  }

  Bundle bundle(request.max_bytes);
  Json facts;
  facts["atmhealthctl"] = {{"version", ATMHEALTH_VERSION},
                           {"buffer_schema_version", agent::kEventStoreSchemaVersion},
                           {"protocol_version", static_cast<int>(v1::ProtocolVersion_MAX)}};
  facts["host"] = {{"name", platform::HostName()},
                   {"booted_with_systemd", platform::BootedWithSystemd()}};
  facts["device"] = {{"id", device}, {"site", config.device.site}};
  AddConfig(config_file, problems, bundle, facts);
  // The daemon's answer may take a quarter of what is left; events half of
  // the rest, the logs what remains after them.
  AddDaemonStatus(socket_path, request.timeout, bundle.Room() / 4, bundle, facts);
  // diagnostics.json as it is now, and room for the buffer's summary and
  // the log sources added below (a few lines each).
  const std::uint64_t diagnostics_room = facts.dump(2).size() + kDiagnosticsGrowth;
  bundle.Reserve(diagnostics_room);
  AddEvents(request, store_path, bundle.Room() / 2, bundle, facts);
  AddLogs(request, config.log, bundle, facts);
  bundle.Release(diagnostics_room);
  std::string diagnostics = facts.dump(2) + "\n";
  bundle.Add("diagnostics.json", std::move(diagnostics),
             "versions, host, buffer summary, configuration problems, the daemon's status");

  Json manifest = {{"format", "atmhealth-export"},
                   {"format_version", 1},
                   {"device", device},
                   {"created", UtcTime(now_ns)},
                   {"created_by", "atmhealthctl " ATMHEALTH_VERSION},
                   {"max_bytes", request.max_bytes},
                   {"files", bundle.index()},
                   {"redaction_rule", kRedactionRule},
                   {"redacted", facts["config"].value("redacted", Json::array())},
                   {"cut", bundle.cut()},
                   {"missing", bundle.missing()}};
  std::vector<BundleFile> files;
  files.push_back({"README.txt", Readme(manifest)});
  files.push_back({"manifest.json", manifest.dump(2) + "\n"});
  for (BundleFile& file : bundle.files()) files.push_back(std::move(file));

  if (Status written = WriteBundleArchive(output, directory, files, now_ns / 1'000'000'000);
      !written.ok()) {
    err << "atmhealthctl: " << written.error().message() << "\n";
    return written.error().code() == ErrorCode::kInvalidArgument ? kExitUsage : kExitFailure;
  }
  const std::uintmax_t size = fs::file_size(output, ec);
  out << fmt::format("{}: {} bytes (at most {}), {} files\n", output, size, request.max_bytes,
                     files.size());
  for (const std::string& note : bundle.cut()) out << "  cut: " << note << "\n";
  for (const std::string& note : bundle.missing()) out << "  not included: " << note << "\n";
  return kExitOk;
}

}  // namespace atmhealth::ctl
