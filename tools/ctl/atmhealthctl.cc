// atmhealthctl: the field engineer's tool at the device. Only wiring lives
// here; each command is in its own file of tools/ctl/.
#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "platform/terminal.h"
#include "platform/time_argument.h"
#include "proto/names.h"
#include "tools/ctl/agent_config_source.h"
#include "tools/ctl/check_config_command.h"
#include "tools/ctl/completion.h"
#include "tools/ctl/drill_command.h"
#include "tools/ctl/events_command.h"
#include "tools/ctl/export_command.h"
#include "tools/ctl/status_command.h"

namespace {

using namespace atmhealth;

constexpr char kExitCodes[] =
    "Exit codes: 0 done; 1 the buffer or the daemon could not be read; 2 a wrong argument or "
    "an invalid configuration.";

std::atomic<bool> stop_requested{false};

// The value of `Enum` whose short name is `name`, one of wire::ShortNameList.
template <typename Enum>
Enum EnumByName(const std::string& name) {
  for (Enum value : wire::ValuesOf<Enum>()) {
    if (wire::ShortName(value) == name) return value;
  }
  return static_cast<Enum>(0);
}

extern "C" void RequestStop(int) { stop_requested.store(true); }

// The options `events` and `tail` share.
struct EventsArguments {
  std::string config;
  std::string store;
  std::string since;
  std::string until;
  std::string severity;
  std::vector<std::string> kinds;
  std::string state;
  std::string key;
  std::size_t last = 0;
  bool json = false;
  bool csv = false;
  bool no_header = false;
  std::string colour = "auto";
};

void AddEventsOptions(CLI::App& command, EventsArguments& a, bool history) {
  command
      .add_option("-c,--config", a.config,
                  std::string("agent config naming the buffer ([store] path); default ") +
                      ctl::kPackagedAgentConfig + " if it exists, else the built-in defaults")
      ->option_text("PATH");
  command.add_option("--store", a.store, "the event buffer (SQLite file), instead of the config's")
      ->option_text("PATH");
  if (history) {
    command
        .add_option("--since", a.since,
                    "events detected at or after: a duration ago (\"2h\") or a local time "
                    "(\"2026-11-29 14:05\", \"...T14:05:30+09:00\")")
        ->option_text("TIME");
    command.add_option("--until", a.until, "events detected at or before, as --since")
        ->option_text("TIME");
  }
  command
      .add_option("--severity", a.severity, "this severity and above: info, warning or critical")
      ->check(CLI::IsMember(wire::ShortNameList<v1::Severity>()))
      ->option_text("LEVEL");
  command
      .add_option("--kind", a.kinds, "alert kind, repeatable: " + wire::ShortNames<v1::AlertKind>())
      ->check(CLI::IsMember(wire::ShortNameList<v1::AlertKind>()))
      ->option_text("KIND");
  command.add_option("--state", a.state, "alert state: " + wire::ShortNames<v1::AlertState>())
      ->check(CLI::IsMember(wire::ShortNameList<v1::AlertState>()))
      ->option_text("STATE");
  command.add_option("--key", a.key, "one alert, by its key (\"storage:/var\")")
      ->option_text("KEY");
  command
      .add_option("--last", a.last,
                  history ? "only the newest N matching events" : "show the N newest first")
      ->option_text("N");
  auto* json = command.add_flag("--json", a.json, "one JSON object per line");
  command.add_flag("--csv", a.csv, "CSV (RFC 4180) with a header line")->excludes(json);
  command.add_flag("--no-header", a.no_header, "leave out the table's or the CSV's header line");
  command
      .add_option("--color", a.colour, "colour the table: auto (only on a terminal), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->option_text("WHEN");
}

// A duration option above zero and, with `max`, at most `max`; nullopt,
// with the message written, when it is not.
std::optional<std::chrono::milliseconds> DurationOption(
    const std::string& text, const char* name,
    std::optional<std::chrono::milliseconds> max = std::nullopt) {
  Result<std::chrono::milliseconds> value = platform::ParseDuration(text);
  if (!value.ok()) {
    std::cerr << "atmhealthctl: " << name << ": " << value.error().message() << "\n";
    return std::nullopt;
  }
  if (value->count() <= 0 || (max && *value > *max)) {
    std::cerr << "atmhealthctl: " << name << ": must be above zero"
              << (max ? " and at most " + platform::FormatDuration(*max) : "") << "\n";
    return std::nullopt;
  }
  return *value;
}

// --since and --until into `filter`; false, with the message written, when
// one is wrong.
bool ParseTimeRange(const std::string& since, const std::string& until, ctl::EventFilter& filter) {
  const auto now = std::chrono::system_clock::now();
  for (auto [text, bound, name] : {std::tuple{&since, &filter.since_unix_ns, "--since"},
                                   std::tuple{&until, &filter.until_unix_ns, "--until"}}) {
    if (text->empty()) continue;
    Result<std::int64_t> at = platform::ParseTimeArgument(*text, now);
    if (!at.ok()) {
      std::cerr << "atmhealthctl: " << name << ": " << at.error().message() << "\n";
      return false;
    }
    *bound = *at;
  }
  return true;
}

// The request from the arguments, or the message of what is wrong in them.
std::optional<ctl::EventsRequest> MakeRequest(const EventsArguments& a) {
  ctl::EventsRequest request;
  if (!a.store.empty()) {
    request.buffer_path = a.store;
  } else {
    Result<agent::AgentConfig> config = ctl::LoadAgentConfigFor(a.config);
    if (!config.ok()) {
      std::cerr << "atmhealthctl: " << config.error().message() << "\n";
      return std::nullopt;
    }
    request.buffer_path = config->store.path;
  }
  if (!ParseTimeRange(a.since, a.until, request.filter)) return std::nullopt;
  // The names were checked against the lists when the command line was parsed.
  if (!a.severity.empty()) request.filter.min_severity = EnumByName<v1::Severity>(a.severity);
  for (const std::string& name : a.kinds) {
    request.filter.kinds.push_back(EnumByName<v1::AlertKind>(name));
  }
  if (!a.state.empty()) request.filter.state = EnumByName<v1::AlertState>(a.state);
  request.filter.alert_key = a.key;
  request.last = a.last;
  request.style.format = a.json  ? ctl::EventFormat::kJson
                         : a.csv ? ctl::EventFormat::kCsv
                                 : ctl::EventFormat::kTable;
  request.style.header = !a.no_header;
  request.style.colour =
      a.colour == "always" || (a.colour == "auto" && platform::StdoutIsTerminal());
  return request;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"atmhealthctl " ATMHEALTH_VERSION
               " - the field engineer's tool for atmhealthd at the device.\n"
               "Reads the agent's event buffer even when the daemon is stopped or crashed."};
  app.name("atmhealthctl");
  app.footer(kExitCodes);
  bool version = false;
  app.add_flag("--version", version, "print the version and exit");

  EventsArguments events_args;
  CLI::App* events = app.add_subcommand(
      "events",
      "history from the local event buffer, oldest first; read-only, works while the daemon "
      "runs and after it stopped");
  events->footer(kExitCodes);
  AddEventsOptions(*events, events_args, true);

  EventsArguments tail_args;
  std::string poll = "500ms";
  CLI::App* tail = app.add_subcommand(
      "tail", "follow new events as the daemon stores them (read-only, until Ctrl-C)");
  tail->footer(kExitCodes);
  AddEventsOptions(*tail, tail_args, false);
  tail->add_option("--poll", poll, "how often the buffer is read")
      ->capture_default_str()
      ->option_text("DURATION");

  std::string status_config;
  std::string status_socket;
  bool status_json = false;
  std::string status_colour = "auto";
  std::string status_timeout = "5s";
  CLI::App* status = app.add_subcommand(
      "status",
      "the running daemon's view: watchers, alerts firing and for how long, customer services, "
      "the collector link, the buffer, degraded mode (through the control socket)");
  status->footer(
      "Exit codes: 0 healthy; 1 the daemon could not be asked (not running, no permission); 2 a "
      "wrong argument or an invalid configuration; 3 alerts are firing; 4 the agent is degraded "
      "(collector unreachable or buffer not committing), alerts or not.");
  status
      ->add_option("-c,--config", status_config,
                   std::string("agent config naming the control socket; default ") +
                       ctl::kPackagedAgentConfig + " if it exists, else the built-in defaults")
      ->option_text("PATH");
  status
      ->add_option("--socket", status_socket,
                   "the daemon's control socket, instead of the config's")
      ->option_text("PATH");
  status->add_flag("--json", status_json, "the daemon's answer as one JSON object");
  status->add_option("--color", status_colour, "colour: auto (only on a terminal), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->option_text("WHEN");
  status->add_option("--timeout", status_timeout, "how long to wait for the daemon")
      ->capture_default_str()
      ->option_text("DURATION");

  std::string drill_config;
  std::string drill_socket;
  std::string drill_kind;
  std::string drill_timeout = "10s";
  bool drill_json = false;
  CLI::App* drill = app.add_subcommand(
      "drill",
      "send a clearly marked synthetic fault (storage, redundancy, throughput) through the "
      "daemon's rules, buffer and uplink to the collector; report whether and how fast the "
      "collector acknowledged it, then resolve it");
  drill->footer(
      "Exit codes: 0 the collector acknowledged the fault and its resolution; 1 the daemon could "
      "not be asked; 2 a wrong argument or an invalid configuration; 3 not acknowledged in time.");
  drill->add_option("kind", drill_kind, "storage, redundancy or throughput")
      ->required()
      ->check(CLI::IsMember({"storage", "redundancy", "throughput"}));
  drill
      ->add_option("-c,--config", drill_config,
                   std::string("agent config naming the control socket; default ") +
                       ctl::kPackagedAgentConfig + " if it exists, else the built-in defaults")
      ->option_text("PATH");
  drill
      ->add_option("--socket", drill_socket, "the daemon's control socket, instead of the config's")
      ->option_text("PATH");
  drill->add_option("--timeout", drill_timeout, "how long to wait for each acknowledgement")
      ->capture_default_str()
      ->option_text("DURATION");
  drill->add_flag("--json", drill_json, "the daemon's answer as one JSON object");

  ctl::ExportRequest export_request;
  std::string export_since;
  std::string export_until;
  std::string export_max_bytes = "8MiB";
  std::string export_timeout = "5s";
  CLI::App* export_bundle = app.add_subcommand(
      "export",
      "write one bounded .tar.gz for the second-line team: events from the buffer, the "
      "configuration with secrets redacted, recent logs (log files, the journal), versions, "
      "the buffer's summary and the daemon's status; works when the daemon is stopped");
  export_bundle->footer(
      "Redacted: the value of every configuration key whose name has one of the words key, pass, "
      "passwd, password, passphrase, secret, token, credential(s); files the configuration names "
      "(TLS key, certificates) are never included. What was cut or could not be included is "
      "listed in the bundle's README.txt and manifest.json.\n"
      "Exit codes: 0 the bundle was written; 1 it could not be written; 2 a wrong argument, or "
      "the output file exists already.");
  export_bundle
      ->add_option("-c,--config", export_request.config_path,
                   std::string("agent config (buffer, socket, log file); default ") +
                       ctl::kPackagedAgentConfig + " if it exists, else the built-in defaults")
      ->option_text("PATH");
  export_bundle
      ->add_option("--store", export_request.store_path,
                   "the event buffer (SQLite file), instead of the config's")
      ->option_text("PATH");
  export_bundle
      ->add_option("--socket", export_request.socket_path,
                   "the daemon's control socket, instead of the config's")
      ->option_text("PATH");
  export_bundle
      ->add_option("-o,--output", export_request.output,
                   "the bundle to write (never overwritten); default "
                   "atmhealth-export-<device>-<UTC time>.tar.gz here")
      ->option_text("FILE");
  export_bundle->add_option("--since", export_since, "events detected at or after, as for events")
      ->option_text("TIME");
  export_bundle->add_option("--until", export_until, "events detected at or before, as --since")
      ->option_text("TIME");
  export_bundle
      ->add_option("--max-events", export_request.max_events,
                   "at most this many events, the newest")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}))
      ->option_text("N");
  export_bundle
      ->add_option("--max-bytes", export_max_bytes,
                   "the whole bundle at most this size (\"8MiB\", at least 256KiB)")
      ->capture_default_str()
      ->option_text("SIZE");
  export_bundle
      ->add_option("--journal-lines", export_request.journal_lines,
                   "the newest N lines of the unit's journal, under systemd")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}))
      ->option_text("N");
  export_bundle->add_option("--unit", export_request.unit, "the agent's systemd unit")
      ->capture_default_str()
      ->option_text("NAME");
  export_bundle
      ->add_option("--timeout", export_timeout,
                   "how long to wait for the daemon's status, and for journalctl")
      ->capture_default_str()
      ->option_text("DURATION");

  std::string checked_config;
  CLI::App* check_config = app.add_subcommand(
      "check-config",
      "check an agent config with exactly the daemon's checks (as atmhealthd --check-config), "
      "naming every problem with file:line; prints what it would watch");
  check_config->footer("Exit codes: 0 the configuration is valid; 2 it is not, or cannot be read.");
  check_config->add_option("-c,--config", checked_config, "the agent config (TOML) to check")
      ->required()
      ->option_text("PATH");

  std::string shell;
  CLI::App* completion =
      app.add_subcommand("completion",
                         "print a shell completion script: atmhealthctl completion bash > "
                         "/etc/bash_completion.d/atmhealthctl");
  completion->add_option("shell", shell, "the shell (bash)")
      ->required()
      ->check(CLI::IsMember({"bash"}));

  // --version alone, without a command.
  app.require_subcommand(0, 1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help is a ParseError too, with exit code 0.
    const int code = app.exit(e);
    return code == 0 ? ctl::kExitOk : ctl::kExitUsage;
  }
  if (version) {
    std::cout << "atmhealthctl " ATMHEALTH_VERSION "\n";
    return ctl::kExitOk;
  }
  if (app.get_subcommands().empty()) {
    std::cerr << app.help();
    return ctl::kExitUsage;
  }

  if (events->parsed()) {
    std::optional<ctl::EventsRequest> request = MakeRequest(events_args);
    if (!request) return ctl::kExitUsage;
    return ctl::RunEvents(*request, std::cout, std::cerr);
  }
  if (completion->parsed()) {
    std::cout << ctl::BashCompletion(app, {{"--kind", wire::ShortNameList<v1::AlertKind>()},
                                           {"--state", wire::ShortNameList<v1::AlertState>()},
                                           {"--severity", wire::ShortNameList<v1::Severity>()},
                                           {"--color", {"auto", "always", "never"}},
                                           // drill's positional argument
                                           {"drill", {"storage", "redundancy", "throughput"}}});
    return ctl::kExitOk;
  }
  if (check_config->parsed()) return ctl::RunCheckConfig(checked_config, std::cout, std::cerr);
  if (export_bundle->parsed()) {
    if (!ParseTimeRange(export_since, export_until, export_request.filter)) return ctl::kExitUsage;
    Result<std::uint64_t> max_bytes = platform::ParseByteSize(export_max_bytes);
    if (!max_bytes.ok() || *max_bytes < ctl::kMinExportBytes) {
      std::cerr << "atmhealthctl: --max-bytes: "
                << (max_bytes.ok() ? "must be at least 256KiB" : max_bytes.error().message())
                << "\n";
      return ctl::kExitUsage;
    }
    export_request.max_bytes = *max_bytes;
    std::optional<std::chrono::milliseconds> timeout =
        DurationOption(export_timeout, "--timeout", std::chrono::minutes(1));
    if (!timeout) return ctl::kExitUsage;
    export_request.timeout = *timeout;
    return ctl::RunExport(export_request, std::cout, std::cerr);
  }
  if (drill->parsed()) {
    ctl::DrillRequest request;
    request.socket_path = drill_socket;
    if (request.socket_path.empty()) {
      Result<agent::AgentConfig> config = ctl::LoadAgentConfigFor(drill_config);
      if (!config.ok()) {
        std::cerr << "atmhealthctl: " << config.error().message() << "\n";
        return ctl::kExitUsage;
      }
      request.socket_path = agent::ControlSocketPath(*config);
    }
    std::optional<std::chrono::milliseconds> timeout =
        DurationOption(drill_timeout, "--timeout", std::chrono::minutes(1));
    if (!timeout) return ctl::kExitUsage;
    request.timeout = *timeout;
    request.kind = drill_kind;
    request.json = drill_json;
    return ctl::RunDrill(request, std::cout, std::cerr);
  }
  if (status->parsed()) {
    ctl::StatusRequest request;
    request.socket_path = status_socket;
    request.config_path = status_config;
    if (request.socket_path.empty()) {
      Result<agent::AgentConfig> config = ctl::LoadAgentConfigFor(status_config);
      if (!config.ok()) {
        std::cerr << "atmhealthctl: " << config.error().message() << "\n";
        return ctl::kExitUsage;
      }
      request.socket_path = agent::ControlSocketPath(*config);
    }
    std::optional<std::chrono::milliseconds> timeout = DurationOption(status_timeout, "--timeout");
    if (!timeout) return ctl::kExitUsage;
    request.timeout = *timeout;
    request.json = status_json;
    request.colour =
        status_colour == "always" || (status_colour == "auto" && platform::StdoutIsTerminal());
    return ctl::RunStatus(request, std::cout, std::cerr);
  }
  if (tail->parsed()) {
    std::optional<ctl::EventsRequest> request = MakeRequest(tail_args);
    if (!request) return ctl::kExitUsage;
    std::optional<std::chrono::milliseconds> interval = DurationOption(poll, "--poll");
    if (!interval) return ctl::kExitUsage;
    std::signal(SIGINT, RequestStop);
    std::signal(SIGTERM, RequestStop);
    return ctl::RunTail(*request, *interval, stop_requested, std::cout, std::cerr);
  }
  return ctl::kExitUsage;
}
