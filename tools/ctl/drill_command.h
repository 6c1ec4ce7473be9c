// `atmhealthctl drill KIND`: asks the daemon, through its control socket, to
// send a clearly marked synthetic fault (storage, redundancy or throughput)
// through its rules, buffer and uplink, and reports whether and how fast the
// collector acknowledged it, then its resolution (agent/control/drill.h).
#ifndef ATMHEALTH_TOOLS_CTL_DRILL_COMMAND_H_
#define ATMHEALTH_TOOLS_CTL_DRILL_COMMAND_H_

#include <chrono>
#include <ostream>
#include <string>

namespace atmhealth::ctl {

// Exit code of `drill` beyond kExitOk (acknowledged), kExitFailure (the
// daemon could not be asked) and kExitUsage:
inline constexpr int kExitNotAcknowledged = 3;  // the collector did not acknowledge in time

struct DrillRequest {
  std::string socket_path;
  std::string kind;                          // storage, redundancy, throughput
  std::chrono::milliseconds timeout{10000};  // for each acknowledgement
  bool json = false;
};

int RunDrill(const DrillRequest& request, std::ostream& out, std::ostream& err);

}  // namespace atmhealth::ctl

#endif  // ATMHEALTH_TOOLS_CTL_DRILL_COMMAND_H_
