#include "collector/report_command.h"

#include <chrono>

#include "collector/fleet/fleet_store.h"
#include "collector/fleet/fsa_report.h"

namespace atmhealth::collector {

int RunReport(const ReportRequest& request, std::ostream& out, std::ostream& err) {
  constexpr std::chrono::milliseconds kBusyTimeout{5000};
  if (request.format != "json" && request.format != "csv") {
    err << "atmhealth-collector report: --format: \"" << request.format
        << "\" is not json or csv\n";
    return 2;
  }
  Result<fleet::ReportPeriod> period =
      fleet::ParseReportPeriod(request.from, request.to, std::chrono::system_clock::now());
  if (!period) {
    err << "atmhealth-collector report: --" << period.error().message() << "\n";
    return 2;
  }
  Result<std::unique_ptr<fleet::FleetStore>> store =
      fleet::FleetStore::OpenSqliteReadOnly(request.database, kBusyTimeout);
  if (!store) {
    err << "atmhealth-collector report: " << store.error().message() << "\n";
    return 1;
  }
  Result<std::vector<fleet::Incident>> incidents =
      (*store)->ReadIncidents(fleet::ReportIncidentQuery(*period));
  if (!incidents) {
    err << "atmhealth-collector report: " << incidents.error().message() << "\n";
    return 1;
  }
  const bool truncated = static_cast<std::int64_t>(incidents->size()) >= fleet::kMaxReportIncidents;
  const fleet::FsaReport report = fleet::BuildFsaReport(*incidents, *period, truncated);
  if (truncated) {
    err << "atmhealth-collector report: more than " << fleet::kMaxReportIncidents
        << " incidents in the period: the report counts the newest of them only\n";
  }
  if (request.format == "csv") {
    out << fleet::FsaReportCsv(report);
  } else {
    out << fleet::FsaReportJson(report).dump(2, ' ', false,
                                             nlohmann::json::error_handler_t::replace)
        << "\n";
  }
  return out.good() ? 0 : 1;
}

}  // namespace atmhealth::collector
