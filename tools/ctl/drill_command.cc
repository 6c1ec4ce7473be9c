#include "tools/ctl/drill_command.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "platform/log_text.h"
#include "tools/ctl/control_client.h"
#include "tools/ctl/events_command.h"

namespace atmhealth::ctl {
namespace {

using Json = nlohmann::json;

// What the daemon may take besides the acknowledgements: sampler and store
// hops, the resolution's commit.
constexpr std::chrono::milliseconds kDaemonMargin{5000};

std::string Acknowledgement(const Json& step, std::chrono::milliseconds timeout) {
  if (step.value("acknowledged", false)) {
    return fmt::format("acknowledged by the collector after {} ms",
                       step.value("ack_ms", std::int64_t{0}));
  }
  return fmt::format(
      "NOT acknowledged within {} ms (it stays in the buffer and is sent when "
      "the collector is back)",
      timeout.count());
}

}  // namespace

int RunDrill(const DrillRequest& request, std::ostream& out, std::ostream& err) {
  const Json ask = {
      {"command", "drill"}, {"kind", request.kind}, {"timeout_ms", request.timeout.count()}};
  Result<Json> answer = AskDaemon(request.socket_path, ask, 2 * request.timeout + kDaemonMargin);
  if (!answer.ok()) {
    err << "atmhealthctl: " << answer.error().message() << "\n";
    return kExitFailure;
  }
  if (!answer->value("ok", false)) {
    err << "atmhealthctl: atmhealthd: "
        << platform::EscapeControlCharacters(answer->value("error", std::string("?"))) << "\n";
    return kExitFailure;
  }
  try {
    const Json& fired = answer->at("fired");
    const Json& resolved = answer->at("resolved");
    if (request.json) {
      out << answer->dump() << "\n";
    } else {
      out << fmt::format("drill {}: {} (synthetic, marked as a drill)\n", request.kind,
                         platform::EscapeControlCharacters(answer->value("alert_key", "")));
      out << fmt::format("  fired     seq {}, {}\n", fired.value("seq", std::uint64_t{0}),
                         Acknowledgement(fired, request.timeout));
      out << fmt::format("  resolved  seq {}, {}\n", resolved.value("seq", std::uint64_t{0}),
                         Acknowledgement(resolved, request.timeout));
      out << fmt::format("  collector {}\n", platform::EscapeControlCharacters(
                                                 answer->value("collector", std::string("-"))));
    }
    return fired.value("acknowledged", false) && resolved.value("acknowledged", false)
               ? kExitOk
               : kExitNotAcknowledged;
  } catch (const Json::exception& error) {
    err << "atmhealthctl: atmhealthd's drill answer is not as expected (" << error.what() << ")\n";
    return kExitFailure;
  }
}

}  // namespace atmhealth::ctl
