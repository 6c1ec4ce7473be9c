// `atmhealth-collector report`: the FSA-category report
// (collector/fleet/fsa_report.h) from the command line, read from the
// collector's database while the collector runs or not (the file is opened
// read-only, never created or migrated).
#ifndef ATMHEALTH_COLLECTOR_REPORT_COMMAND_H_
#define ATMHEALTH_COLLECTOR_REPORT_COMMAND_H_

#include <ostream>
#include <string>

namespace atmhealth::collector {

struct ReportRequest {
  std::string database;         // the collector's SQLite file
  std::string from;             // empty: 30 days before `to`
  std::string to;               // empty: now
  std::string format = "json";  // json or csv
};

// Writes the report to `out`, a problem to `err`. Returns 0 when written,
// 1 when the database cannot be read, 2 when the request is invalid.
int RunReport(const ReportRequest& request, std::ostream& out, std::ostream& err);

}  // namespace atmhealth::collector

#endif  // ATMHEALTH_COLLECTOR_REPORT_COMMAND_H_
