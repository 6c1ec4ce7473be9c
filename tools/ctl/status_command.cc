#include "tools/ctl/status_command.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "atmhealth/v1/event.pb.h"
#include "platform/config_values.h"
#include "platform/log_text.h"
#include "proto/names.h"
#include "tools/ctl/control_client.h"
#include "tools/ctl/event_output.h"
#include "tools/ctl/events_command.h"

namespace atmhealth::ctl {
namespace {

using Json = nlohmann::json;

std::string Text(const Json& object, const char* key) {
  return platform::EscapeControlCharacters(object.value(key, std::string()));
}

std::int64_t Nanos(const Json& object, const char* key) {
  return object.value(key, static_cast<std::int64_t>(0));
}

v1::Unit UnitNamed(const std::string& name) {
  for (v1::Unit unit : wire::ValuesOf<v1::Unit>()) {
    if (wire::ShortName(unit) == name) return unit;
  }
  return v1::UNIT_UNSPECIFIED;
}

std::string Value(const Json& object, const char* key) {
  if (!object.contains(key) || !object[key].is_number()) return "-";
  return Measured(object[key].get<double>(), UnitNamed(object.value("unit", std::string())));
}

// "2026-11-30 08:44:42 JST (2m 05s ago)"; "-" for 0.
std::string TimeAndAge(std::int64_t unix_ns, std::int64_t now_ns, const char* suffix = " ago") {
  if (unix_ns == 0) return "-";
  return fmt::format(
      "{} ({}{})", LocalTime(unix_ns),
      FormatAge(std::chrono::nanoseconds(std::max<std::int64_t>(0, now_ns - unix_ns))), suffix);
}

struct Painter {
  bool colour;
  std::string operator()(const std::string& text, const char* code) const {
    return colour && code != nullptr ? std::string(code) + text + kReset : text;
  }
};

const char* StateColour(const std::string& state) {
  if (state == "critical" || state == "out_of_service") return kRed;
  if (state == "warning" || state == "stale" || state == "degraded") return kYellow;
  if (state == "ok" || state == "in_service") return kGreen;
  return nullptr;
}

// Rows of cells, each column as wide as its widest cell; the colour of a row
// applies to its `coloured` column.
void WriteRows(std::ostream& out, const std::vector<std::vector<std::string>>& rows,
               const std::vector<const char*>& colours, std::size_t coloured, const Painter& paint,
               const std::string& indent) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (std::size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::string line = indent;
    for (std::size_t c = 0; c < rows[r].size(); ++c) {
      const bool last = c + 1 == rows[r].size();
      std::string cell = last ? rows[r][c] : fmt::format("{:<{}}", rows[r][c], widths[c]);
      if (c == coloured) cell = paint(cell, colours[r]);
      line += cell;
      if (!last) line += "  ";
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out << line << "\n";
  }
}

}  // namespace

std::string FormatAge(std::chrono::nanoseconds age) {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(age).count();
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m {:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h {:02}m", s / 3600, (s % 3600) / 60);
  return fmt::format("{}d {}h", s / 86400, (s % 86400) / 3600);
}

int StatusExitCode(const Json& status) {
  if (status.contains("degraded") && !status["degraded"].empty()) return kExitDegraded;
  if (status.contains("alerts") && !status["alerts"].empty()) return kExitAlertsFiring;
  return kExitOk;
}

void WriteStatus(std::ostream& out, const Json& status, bool colour) {
  const Painter paint{colour};
  const Json& agent = status.at("agent");
  const std::int64_t now = Nanos(agent, "now_unix_ns");
  out << fmt::format("atmhealthd {} on {} (site {}), up {}, config {}\n", Text(agent, "version"),
                     Text(agent, "device"), Text(agent, "site"),
                     FormatAge(std::chrono::nanoseconds(now - Nanos(agent, "started_unix_ns"))),
                     Text(agent, "config"));
  const Json& alerts = status.at("alerts");
  const Json& degraded = status.at("degraded");
  std::string verdict = degraded.empty() && alerts.empty()
                            ? paint("healthy", kGreen)
                            : paint(alerts.empty() ? "no alerts"
                                                   : fmt::format("{} alert{} firing", alerts.size(),
                                                                 alerts.size() == 1 ? "" : "s"),
                                    alerts.empty() ? nullptr : kRed);
  for (const Json& reason : degraded) {
    verdict +=
        "; " +
        paint("DEGRADED: " + platform::EscapeControlCharacters(reason.get<std::string>()), kYellow);
  }
  out << "status: " << verdict << "\n";

  out << "\nWATCHERS\n";
  std::vector<std::vector<std::string>> rows = {{"WATCHER", "EVERY", "SAMPLES", "LAST SAMPLE"}};
  std::vector<const char*> colours = {nullptr};
  std::vector<std::vector<std::string>> subjects = {{"SUBJECT", "STATE", "VALUE"}};
  std::vector<const char*> subject_colours = {nullptr};
  for (const Json& watcher : status.at("watchers")) {
    rows.push_back({Text(watcher, "name"),
                    platform::FormatDuration(
                        std::chrono::milliseconds(watcher.value("interval_ms", std::int64_t{0}))),
                    std::to_string(watcher.value("samples", std::uint64_t{0})),
                    TimeAndAge(Nanos(watcher, "last_sample_unix_ns"), now)});
    colours.push_back(nullptr);
    for (const Json& subject : watcher.at("subjects")) {
      const std::string state = Text(subject, "state");
      subjects.push_back({Text(subject, "alert_key"), state, Value(subject, "value")});
      subject_colours.push_back(StateColour(state));
    }
  }
  WriteRows(out, rows, colours, 0, paint, "  ");
  if (subjects.size() > 1) {
    out << "\n";
    WriteRows(out, subjects, subject_colours, 1, paint, "  ");
  }

  out << "\nALERTS\n";
  if (alerts.empty()) {
    out << "  none firing\n";
  } else {
    rows = {{"SEVERITY", "ALERT", "SINCE", "AGE", "VALUE", "SUMMARY"}};
    colours = {nullptr};
    for (const Json& alert : alerts) {
      const std::string severity = Text(alert, "severity");
      const std::int64_t since = Nanos(alert, "since_unix_ns");
      rows.push_back({severity, Text(alert, "alert_key"), LocalTime(since),
                      FormatAge(std::chrono::nanoseconds(std::max<std::int64_t>(0, now - since))),
                      Value(alert, "value"), Text(alert, "summary")});
      colours.push_back(StateColour(severity));
    }
    WriteRows(out, rows, colours, 0, paint, "  ");
  }

  out << "\nSERVICES\n";
  rows = {};
  colours = {};
  for (const Json& service : status.at("services")) {
    const std::string state = Text(service, "state");
    const std::string reason = Text(service, "reason");
    rows.push_back({Text(service, "service"), state, reason.empty() ? "" : "(" + reason + ")"});
    colours.push_back(StateColour(state));
  }
  WriteRows(out, rows, colours, 1, paint, "  ");

  const Json& link = status.at("uplink");
  const bool connected = link.value("connected", false);
  out << "\nCOLLECTOR\n";
  const std::int64_t oldest = Nanos(link, "oldest_undelivered_unix_ns");
  const std::string error = Text(link, "last_error");
  rows = {
      {"endpoint", Text(link, "endpoint").empty() ? "-" : Text(link, "endpoint")},
      {"connected", connected
                        ? "since " + TimeAndAge(Nanos(link, "connected_since_unix_ns"), now, "")
                        : "no" + (error.empty() ? "" : ": " + error)},
      {"last ack", link.value("last_ack_unix_ns", std::int64_t{0}) == 0
                       ? "none yet"
                       : fmt::format("seq {} at {}", link.value("last_ack_seq", std::uint64_t{0}),
                                     TimeAndAge(Nanos(link, "last_ack_unix_ns"), now))},
      {"backlog", fmt::format("{} events", link.value("backlog_events", std::uint64_t{0}))},
      {"oldest undelivered", oldest == 0 ? "-" : TimeAndAge(oldest, now)}};
  colours = {nullptr, connected ? kGreen : kYellow, nullptr, nullptr, nullptr};
  WriteRows(out, rows, colours, 1, paint, "  ");

  const Json& buffer = status.at("buffer");
  const auto stored = buffer.value("stored_bytes", std::uint64_t{0});
  const auto limit = buffer.value("limit_bytes", std::uint64_t{0});
  const bool buffer_degraded = buffer.value("degraded", false);
  out << "\nBUFFER\n";
  rows = {{"path", Text(buffer, "path")},
          {"used",
           fmt::format("{} of {} ({:.1f} %)", platform::FormatBytes(stored),
                       platform::FormatBytes(limit), limit == 0 ? 0.0 : 100.0 * stored / limit)},
          {"seq", fmt::format("last {}, committed {}, delivered {}",
                              buffer.value("last_seq", std::uint64_t{0}),
                              buffer.value("committed_seq", std::uint64_t{0}),
                              buffer.value("delivered_seq", std::uint64_t{0}))},
          {"waiting", fmt::format("{} events in memory; {} dropped, {} set aside since created",
                                  buffer.value("pending_events", std::uint64_t{0}),
                                  buffer.value("dropped_total", std::uint64_t{0}),
                                  buffer.value("set_aside_total", std::uint64_t{0}))},
          {"degraded", buffer_degraded ? "yes: commits fail, events wait in memory" : "no"}};
  colours = {nullptr, nullptr, nullptr, nullptr, buffer_degraded ? kRed : nullptr};
  WriteRows(out, rows, colours, 1, paint, "  ");
  if (status.contains("control")) {
    const Json& control = status["control"];
    out << fmt::format("\ncontrol socket: {} requests, {} bad, {} refused\n",
                       control.value("requests", std::uint64_t{0}),
                       control.value("bad_requests", std::uint64_t{0}),
                       control.value("refused", std::uint64_t{0}));
  }
  if (status.contains("diagnostics")) {
    const Json& diagnostics = status["diagnostics"];
    out << fmt::format(
        "diagnostic snapshots: {} taken, {} skipped (too many at once), {} pending\n",
        diagnostics.value("taken", std::uint64_t{0}),
        diagnostics.value("skipped", std::uint64_t{0}),
        diagnostics.value("pending", std::uint64_t{0}));
  }
}

int RunStatus(const StatusRequest& request, std::ostream& out, std::ostream& err) {
  Result<Json> answer = AskDaemon(request.socket_path, {{"command", "status"}}, request.timeout);
  if (!answer.ok() || !answer->value("ok", false)) {
    const std::string why = answer.ok() ? "atmhealthd: " + answer->value("error", std::string("?"))
                                        : answer.error().message();
    if (request.json) {
      out << Json{{"ok", false}, {"reachable", answer.ok()}, {"error", why}}.dump() << "\n";
    }
    err << "atmhealthctl: " << why << "\n";
    if (!answer.ok() && answer.error().code() != ErrorCode::kPermissionDenied) {
      err << "atmhealthctl: the event history is read from the buffer without the daemon: "
             "atmhealthctl events"
          << (request.config_path.empty() ? "" : " -c " + request.config_path) << "\n";
    }
    return kExitFailure;
  }
  try {
    if (request.json) {
      out << answer->dump(-1, ' ', false, Json::error_handler_t::replace) << "\n";
    } else {
      WriteStatus(out, *answer, request.colour);
    }
    return StatusExitCode(*answer);
  } catch (const Json::exception& error) {
    err << "atmhealthctl: atmhealthd's status answer is not as expected (" << error.what()
        << "); a daemon of another version?\n";
    return kExitFailure;
  }
}

}  // namespace atmhealth::ctl
