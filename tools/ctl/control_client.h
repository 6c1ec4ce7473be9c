// atmhealthctl's side of the daemon's control socket
// (agent/control/control_server.h): one request line, one answer line.
#ifndef ATMHEALTH_TOOLS_CTL_CONTROL_CLIENT_H_
#define ATMHEALTH_TOOLS_CTL_CONTROL_CLIENT_H_

#include <chrono>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

#include "platform/status.h"

namespace atmhealth::ctl {

// The largest answer taken from the daemon: a status of hundreds of watched
// subjects is well below it.
inline constexpr std::size_t kMaxAnswerBytes = 4 * 1024 * 1024;

// Sends `request` to the daemon at `socket_path` and returns its answer,
// within `timeout`. kUnavailable when no daemon answers there (no socket, a
// socket left by a daemon that is gone), kPermissionDenied when the socket's
// mode or group keep this account out, kTimeout, kIo for a broken answer; an
// answer with "ok": false is returned as it is.
Result<nlohmann::json> AskDaemon(const std::string& socket_path, const nlohmann::json& request,
                                 std::chrono::milliseconds timeout);

}  // namespace atmhealth::ctl

#endif  // ATMHEALTH_TOOLS_CTL_CONTROL_CLIENT_H_
