// The FSA-category report: for a period, the incidents counted by the FSA's
// trigger categories (the failure patterns of its yearly analyses), with
// their durations, the devices and the customer services they affected, and
// the impact tolerances they broke. What a bank files and what its
// operations review looks back on, served by the API and by
// `atmhealth-collector report`, as JSON or CSV.
//
// An incident is in the period when it started before the period's end and
// had not ended before its start. It counts once in every category of the
// alerts behind it (so the rows may add up to more than the total), and its
// time is measured inside the period only: an incident that runs across the
// end of a month counts in both months with the part of it in each.
#ifndef ATMHEALTH_COLLECTOR_FLEET_FSA_REPORT_H_
#define ATMHEALTH_COLLECTOR_FLEET_FSA_REPORT_H_

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "collector/fleet/fleet_store.h"
#include "collector/fleet/incident_tracker.h"
#include "platform/status.h"

namespace atmhealth::collector::fleet {

struct ReportPeriod {
  std::int64_t from_unix_ns = 0;  // inclusive
  std::int64_t to_unix_ns = 0;    // exclusive
};

// One row: the incidents of one category (or of all of them).
struct CategoryReport {
  std::string category;     // FSA category short name, "unreachable", or "all"
  std::string description;  // what the category means, for a reader of the report
  std::int64_t incidents = 0;
  std::int64_t open_at_end = 0;            // still open at the period's end
  std::int64_t time_in_period_ns = 0;      // the incidents' time inside the period, summed
  std::int64_t longest_ns = 0;             // the longest incident's time inside the period
  std::set<std::string> devices;           // devices in these incidents
  std::set<std::string> services;          // customer services they lost
  std::int64_t tolerance_breaches = 0;     // outages that passed 100 % of their tolerance
  std::vector<std::int64_t> incident_ids;  // oldest first
};

struct FsaReport {
  ReportPeriod period;
  // Every FSA category in the protocol's order, then "unreachable", then any
  // other name found in the incidents (a newer agent's category), each even
  // when no incident had it: a row of zeros is a statement too.
  std::vector<CategoryReport> categories;
  CategoryReport total;  // every incident once
  // The store held more incidents in the period than the report reads at
  // most; the counts cover the newest of them only.
  bool truncated = false;
};

// Incidents read for one report at most: the report's memory bound.
inline constexpr std::int64_t kMaxReportIncidents = 100'000;

// The period of `from` and `to` as people give them (platform/time_argument.h:
// "2026-11-01", "2026-11-01T00:00+09:00", "30d" ago); an empty `to` is now,
// an empty `from` 30 days before `to`. The error names the parameter
// ("from: ...") and refuses an empty or reversed period.
Result<ReportPeriod> ParseReportPeriod(std::string_view from, std::string_view to,
                                       std::chrono::system_clock::time_point now);

// The store query that reads the incidents of `period`, at most
// kMaxReportIncidents of them.
IncidentQuery ReportIncidentQuery(const ReportPeriod& period);

// `incidents` are those of the period (in any order).
FsaReport BuildFsaReport(const std::vector<Incident>& incidents, ReportPeriod period,
                         bool truncated);

// Schema "FsaReport" of docs/openapi.json.
nlohmann::json FsaReportJson(const FsaReport& report);

// One header line and one line per category, then the "all" line:
// category,description,incidents,open_at_end,time_in_period_s,longest_s,
// devices,services,tolerance_breaches,incident_ids (services and ids joined by
// spaces). RFC 4180 quoting.
std::string FsaReportCsv(const FsaReport& report);

}  // namespace atmhealth::collector::fleet

#endif  // ATMHEALTH_COLLECTOR_FLEET_FSA_REPORT_H_
