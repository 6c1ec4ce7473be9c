// `atmhealthctl events` and `atmhealthctl tail`: the agent's event history
// from its buffer, read-only (tools/ctl/event_history.h).
#ifndef ATMHEALTH_TOOLS_CTL_EVENTS_COMMAND_H_
#define ATMHEALTH_TOOLS_CTL_EVENTS_COMMAND_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <ostream>
#include <string>

#include "tools/ctl/event_history.h"
#include "tools/ctl/event_output.h"

namespace atmhealth::ctl {

// Exit codes of every atmhealthctl command.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the buffer or the daemon could not be read
inline constexpr int kExitUsage = 2;    // a wrong argument or an invalid configuration

struct EventsRequest {
  std::string buffer_path;
  EventFilter filter;
  std::size_t last = 0;  // only the newest N matching events; 0: all
  OutputStyle style;
};

// Writes the matching events to `out`, errors to `err`; returns the exit code.
int RunEvents(const EventsRequest& request, std::ostream& out, std::ostream& err);

// Writes each matching event stored from now on, polling the buffer every
// `poll_interval`, until `stop` is set; `last` earlier events first.
int RunTail(const EventsRequest& request, std::chrono::milliseconds poll_interval,
            const std::atomic<bool>& stop, std::ostream& out, std::ostream& err);

}  // namespace atmhealth::ctl

#endif  // ATMHEALTH_TOOLS_CTL_EVENTS_COMMAND_H_
