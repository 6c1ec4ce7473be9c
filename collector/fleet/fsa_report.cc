#include "collector/fleet/fsa_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>

#include "collector/fleet/fleet_json.h"
#include "platform/time_argument.h"
#include "proto/names.h"

namespace atmhealth::collector::fleet {
namespace {

using nlohmann::json;

constexpr std::int64_t kNanosPerSecond = 1'000'000'000;
constexpr char kUnreachable[] = "unreachable";

// The FSA's wording of each trigger category, for the people reading the
// report (the short names are for machines).
std::string_view Describe(v1::FailureCategory category) {
  switch (category) {
    case v1::FAILURE_CATEGORY_CYBER_ATTACK:
      return "Cyber attack";
    case v1::FAILURE_CATEGORY_SYSTEM_CHANGE:
      return "System change: integration, migration, renewal";
    case v1::FAILURE_CATEGORY_DAILY_OPERATION_STORAGE:
      return "Daily operation: storage area exhausted";
    case v1::FAILURE_CATEGORY_DAILY_OPERATION_REDUNDANCY:
      return "Daily operation: redundancy did not work";
    case v1::FAILURE_CATEGORY_DAILY_OPERATION_VOLUME:
      return "Daily operation: volume beyond capacity";
    case v1::FAILURE_CATEGORY_DAILY_OPERATION_RECOVERY:
      return "Daily operation: cause found late, slow recovery";
    case v1::FAILURE_CATEGORY_PROGRAM_UPDATE:
      return "Program update or special work";
    case v1::FAILURE_CATEGORY_UNSPECIFIED:
    case v1::FailureCategory_INT_MIN_SENTINEL_DO_NOT_USE_:
    case v1::FailureCategory_INT_MAX_SENTINEL_DO_NOT_USE_:
      break;
  }
  return "";
}

void Account(CategoryReport& row, const Incident& incident, std::int64_t time_in_period,
             bool open_at_end) {
  ++row.incidents;
  if (open_at_end) ++row.open_at_end;
  row.time_in_period_ns += time_in_period;
  row.longest_ns = std::max(row.longest_ns, time_in_period);
  for (const IncidentDevice& device : incident.devices) row.devices.insert(device.device_id);
  for (const IncidentService& service : incident.services) row.services.insert(service.service);
  for (const ToleranceAlert& alert : incident.tolerance_alerts) {
    if (alert.percent >= 100) ++row.tolerance_breaches;
  }
  row.incident_ids.push_back(incident.id);
}

std::int64_t Seconds(std::int64_t nanos) { return nanos / kNanosPerSecond; }

json Strings(const std::set<std::string>& items) { return json(items); }

json RowJson(const CategoryReport& row) {
  return {{"category", row.category},
          {"description", row.description},
          {"incidents", row.incidents},
          {"open_at_end", row.open_at_end},
          {"time_in_period_s", Seconds(row.time_in_period_ns)},
          {"longest_s", Seconds(row.longest_ns)},
          {"device_count", row.devices.size()},
          {"devices", Strings(row.devices)},
          {"services", Strings(row.services)},
          {"tolerance_breaches", row.tolerance_breaches},
          {"incident_ids", row.incident_ids}};
}

// A CSV field, quoted when it holds a comma, a quote or a line break.
std::string CsvField(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
  std::string quoted = "\"";
  for (const char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

template <typename Items>
std::string Joined(const Items& items) {
  std::string text;
  for (const auto& item : items) {
    if (!text.empty()) text += ' ';
    text += fmt::to_string(item);
  }
  return text;
}

}  // namespace

Result<ReportPeriod> ParseReportPeriod(std::string_view from, std::string_view to,
                                       std::chrono::system_clock::time_point now) {
  constexpr std::int64_t kDefaultDays = 30;
  ReportPeriod period;
  if (to.empty()) {
    period.to_unix_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  } else {
    Result<std::int64_t> at = platform::ParseTimeArgument(to, now);
    if (!at) return Error(ErrorCode::kInvalidArgument, "to: " + at.error().message());
    period.to_unix_ns = *at;
  }
  if (from.empty()) {
    period.from_unix_ns = period.to_unix_ns - kDefaultDays * 86'400 * kNanosPerSecond;
  } else {
    Result<std::int64_t> at = platform::ParseTimeArgument(from, now);
    if (!at) return Error(ErrorCode::kInvalidArgument, "from: " + at.error().message());
    period.from_unix_ns = *at;
  }
  if (period.from_unix_ns >= period.to_unix_ns) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("from: {} is not before to: {}", Rfc3339(period.from_unix_ns),
                             Rfc3339(period.to_unix_ns)));
  }
  return period;
}

IncidentQuery ReportIncidentQuery(const ReportPeriod& period) {
  IncidentQuery query;
  query.since_unix_ns = period.from_unix_ns;
  query.until_unix_ns = period.to_unix_ns;
  query.limit = kMaxReportIncidents;
  return query;
}

FsaReport BuildFsaReport(const std::vector<Incident>& incidents, ReportPeriod period,
                         bool truncated) {
  FsaReport report;
  report.period = period;
  report.truncated = truncated;
  std::map<std::string, std::size_t, std::less<>> row_of;
  auto add_row = [&](std::string category, std::string_view description) {
    row_of.emplace(category, report.categories.size());
    CategoryReport& row = report.categories.emplace_back();
    row.category = std::move(category);
    row.description = description;
  };
  for (v1::FailureCategory value : wire::ValuesOf<v1::FailureCategory>()) {
    add_row(wire::ShortName(value), Describe(value));
  }
  add_row(kUnreachable, "Device unreachable: stopped reporting (missed heartbeats)");
  report.total.category = "all";
  report.total.description = "Every incident, once";

  std::vector<const Incident*> in_period;
  for (const Incident& incident : incidents) {
    const std::int64_t end = incident.ended_unix_ns.value_or(period.to_unix_ns);
    if (incident.started_unix_ns >= period.to_unix_ns || end < period.from_unix_ns) continue;
    in_period.push_back(&incident);
  }
  std::sort(in_period.begin(), in_period.end(), [](const Incident* a, const Incident* b) {
    return std::pair(a->started_unix_ns, a->id) < std::pair(b->started_unix_ns, b->id);
  });
  for (const Incident* incident : in_period) {
    const std::int64_t end =
        std::min(incident->ended_unix_ns.value_or(period.to_unix_ns), period.to_unix_ns);
    const std::int64_t time_in_period =
        std::max<std::int64_t>(0, end - std::max(incident->started_unix_ns, period.from_unix_ns));
    const bool open_at_end =
        !incident->ended_unix_ns || *incident->ended_unix_ns > period.to_unix_ns;
    Account(report.total, *incident, time_in_period, open_at_end);
    for (const std::string& category : incident->categories) {
      auto row = row_of.find(category);
      if (row == row_of.end()) add_row(category, "Not known to this collector");
      Account(report.categories[row_of.at(category)], *incident, time_in_period, open_at_end);
    }
  }
  return report;
}

json FsaReportJson(const FsaReport& report) {
  json rows = json::array();
  for (const CategoryReport& row : report.categories) rows.push_back(RowJson(row));
  return {{"from", Rfc3339(report.period.from_unix_ns)},
          {"to", Rfc3339(report.period.to_unix_ns)},
          {"truncated", report.truncated},
          {"categories", rows},
          {"total", RowJson(report.total)}};
}

std::string FsaReportCsv(const FsaReport& report) {
  std::string csv =
      "category,description,incidents,open_at_end,time_in_period_s,longest_s,devices,services,"
      "tolerance_breaches,incident_ids\r\n";
  auto line = [&csv](const CategoryReport& row) {
    csv += fmt::format("{},{},{},{},{},{},{},{},{},{}\r\n", CsvField(row.category),
                       CsvField(row.description), row.incidents, row.open_at_end,
                       Seconds(row.time_in_period_ns), Seconds(row.longest_ns), row.devices.size(),
                       CsvField(Joined(row.services)), row.tolerance_breaches,
                       Joined(row.incident_ids));
  };
  for (const CategoryReport& row : report.categories) line(row);
  line(report.total);
  return csv;
}

}  // namespace atmhealth::collector::fleet
