// `atmhealthctl status`: the running daemon's view of the device, asked
// through its control socket: every watcher and the state of each subject it
// watches, the alerts firing and for how long, the customer services, the
// collector link (endpoint, connected since, last acknowledgement, backlog,
// oldest undelivered event), the buffer's use and whether the agent is
// degraded. The answer's fields are made in agent/control/agent_status.h.
#ifndef ATMHEALTH_TOOLS_CTL_STATUS_COMMAND_H_
#define ATMHEALTH_TOOLS_CTL_STATUS_COMMAND_H_

#include <chrono>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

namespace atmhealth::ctl {

// Exit codes of `status` beyond kExitOk (healthy), kExitFailure (the daemon
// could not be asked) and kExitUsage:
inline constexpr int kExitAlertsFiring = 3;  // the agent works; at least one alert fires
inline constexpr int kExitDegraded = 4;      // the agent itself is degraded (collector
                                             // unreachable, buffer not committing)

struct StatusRequest {
  std::string socket_path;  // the daemon's control socket
  std::string config_path;  // named in the hint to `events` when the daemon is down
  bool json = false;        // the daemon's answer as one JSON object
  bool colour = false;
  std::chrono::milliseconds timeout{5000};
};

int RunStatus(const StatusRequest& request, std::ostream& out, std::ostream& err);

// The status answer for people: aligned sections, local times with zone,
// ages. `colour`: severities and problems in ANSI colours.
void WriteStatus(std::ostream& out, const nlohmann::json& status, bool colour);
// kExitOk, kExitAlertsFiring or kExitDegraded for a status answer.
int StatusExitCode(const nlohmann::json& status);
// "45s", "2m 05s", "3h 12m", "2d 4h".
std::string FormatAge(std::chrono::nanoseconds age);

}  // namespace atmhealth::ctl

#endif  // ATMHEALTH_TOOLS_CTL_STATUS_COMMAND_H_
