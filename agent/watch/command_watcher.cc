#include "agent/watch/command_watcher.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "proto/schema_limits.h"

namespace atmhealth::agent {
namespace {

// bytes of the first line kept for the summary and the context: a status
// line, not a report
constexpr std::size_t kMaxFirstLineBytes = 256;

}  // namespace

WatcherKind CommandWatcher::Kind() {
  WatcherKind kind;
  kind.section = "command";
  kind.parse = [](const ConfigSection& section,
                  const DeviceConfig& device) -> Result<std::shared_ptr<const WatcherSettings>> {
    auto config = ReadCommandConfig(section, device.services);
    if (!config.ok()) return config.error();
    return std::shared_ptr<const WatcherSettings>(std::move(config).value());
  };
  kind.create = [](const WatcherSettings& settings,
                   const WatcherContext&) -> Result<std::unique_ptr<Watcher>> {
    const auto& config = dynamic_cast<const CommandConfig&>(settings);
    spdlog::info("running {} command checks", config.checks.size());
    return std::unique_ptr<Watcher>(new CommandWatcher(config));
  };
  return kind;
}

CommandWatcher::CommandWatcher(const CommandConfig& config) : config_(config) {
  for (const CommandCheckConfig& check : config_.checks) {
    checks_.push_back(std::make_unique<Check>(check, config_.interval));
  }
}

Result<Measurement> CommandWatcher::MeasureCheck(const CommandCheckConfig& check,
                                                 const Result<platform::CommandOutcome>& outcome) {
  const std::string& program = check.command.argv.front();
  if (!outcome.ok()) return outcome.error();  // could not start: names the program
  if (outcome->killed_at_time_limit) {
    return Error(ErrorCode::kTimeout, program + ": " + outcome->Describe(check.command));
  }
  const std::string first_line = wire::SchemaText(outcome->FirstLine(), kMaxFirstLineBytes);
  const std::string said = first_line.empty() ? "no output" : "\"" + first_line + "\"";
  if (!outcome->exited) {
    return Error(ErrorCode::kUnavailable,
                 fmt::format("{}: {}; {}", program, outcome->Describe(check.command), said));
  }
  const auto mapped = check.exit_states.find(outcome->exit_code);
  if (mapped == check.exit_states.end()) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("{}: {}, which no state is given for{}; {}", program,
                             outcome->Describe(check.command),
                             outcome->exit_code == 3 ? " (UNKNOWN by the monitoring-plugin "
                                                       "convention)"
                                                     : "",
                             said));
  }
  Measurement m(check.kind, check.name, outcome->exit_code, v1::UNIT_COUNT,
                {{"source", "command"},
                 {"exit_status", std::to_string(outcome->exit_code)},
                 {"output", first_line},
                 {"command", fmt::format("{}", fmt::join(check.command.argv, " "))},
                 {"elapsed_ms", std::to_string(outcome->elapsed.count())}});
  if (outcome->output_truncated) {
    m.context.emplace_back(
        "output_cut",
        fmt::format("{} of {} bytes kept", check.command.output_limit, outcome->output_bytes));
  }
  m.state = mapped->second;
  for (const auto& [status, state] : check.exit_states) {
    if (state == RedundancyState::kRedundant) {
      m.expected = status;
      break;
    }
  }
  m.detail = first_line;
  return m;
}

void CommandWatcher::Sample(std::vector<Measurement>& out) {
  for (const std::unique_ptr<Check>& check : checks_) {
    std::optional<CommandPoller::Run> run = check->poller.Latest();
    // Nothing new: the check keeps its state until its next run ends (a run
    // that hangs ends at its time limit).
    if (!run || run->number == check->last_run) continue;
    check->last_run = run->number;
    Result<Measurement> measured = MeasureCheck(check->config, run->outcome);
    Measurement probe =
        measured.ok() ? check->source.Worked() : check->source.Failed(measured.error());
    probe.context.emplace_back("timeouts", std::to_string(run->timeouts));
    out.push_back(std::move(probe));
    if (measured.ok()) out.push_back(std::move(measured).value());
  }
}

std::vector<RuleDefinition> CommandWatcher::Rules() const {
  std::vector<RuleDefinition> rules;
  for (const std::unique_ptr<Check>& check : checks_) {
    rules.push_back(RedundancyRule(check->config.kind, check->config.name, check->config.states));
    rules.push_back(check->source.Rule());
  }
  return rules;
}

std::vector<WatcherThread> CommandWatcher::Threads() const {
  std::vector<WatcherThread> threads;
  for (const std::unique_ptr<Check>& check : checks_) {
    threads.push_back(WatcherThread{"command:" + check->config.name, check->poller.executor(),
                                    check->config.command.time_limit});
  }
  return threads;
}

}  // namespace atmhealth::agent
