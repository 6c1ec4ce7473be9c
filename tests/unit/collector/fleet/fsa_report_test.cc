#include "collector/fleet/fsa_report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/collector/fleet/fleet_samples.h"

namespace atmhealth::collector::fleet {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr std::int64_t kHour = 3600 * kSecond;
const ReportPeriod kPeriod{kT0, kT0 + 24 * kHour};

Incident MakeIncident(std::int64_t id, std::int64_t start, std::optional<std::int64_t> end,
                      std::set<std::string> categories, std::vector<std::string> devices,
                      std::vector<std::string> services = {}) {
  Incident incident;
  incident.id = id;
  incident.scope = devices.size() > 1 ? "fleet" : "device";
  incident.started_unix_ns = start;
  incident.ended_unix_ns = end;
  incident.categories = std::move(categories);
  for (const std::string& device : devices) {
    incident.devices.push_back({.device_id = device,
                                .site_id = "central",
                                .joined_unix_ns = start,
                                .recovered_unix_ns = end});
  }
  for (const std::string& service : services) {
    IncidentService lost;
    lost.service = service;
    lost.first_lost_unix_ns = start;
    incident.services.push_back(lost);
  }
  return incident;
}

const CategoryReport& Row(const FsaReport& report, const std::string& category) {
  for (const CategoryReport& row : report.categories) {
    if (row.category == category) return row;
  }
  throw std::runtime_error("no row " + category);
}

TEST(FsaReport, CountsEachIncidentOnceInEveryCategoryItHadAndOnceInTheTotal) {
  Incident storage = MakeIncident(1, kT0 + kHour, kT0 + 3 * kHour, {"daily_operation_storage"},
                                  {"atm-1"}, {"withdrawal"});
  for (const int percent : {50, 100}) {
    ToleranceAlert alert;
    alert.service = "withdrawal";
    alert.percent = percent;
    storage.tolerance_alerts.push_back(alert);
  }
  const Incident both = MakeIncident(2, kT0 + 5 * kHour, kT0 + 6 * kHour,
                                     {"daily_operation_redundancy", "unreachable"},
                                     {"atm-2", "atm-3"}, {"deposit", "transfer"});
  const FsaReport report = BuildFsaReport({both, storage}, kPeriod, false);

  const CategoryReport& disk = Row(report, "daily_operation_storage");
  EXPECT_EQ(disk.incidents, 1);
  EXPECT_EQ(disk.time_in_period_ns, 2 * kHour);
  EXPECT_EQ(disk.longest_ns, 2 * kHour);
  EXPECT_EQ(disk.tolerance_breaches, 1);  // the 100 % alert only
  EXPECT_THAT(disk.devices, ElementsAre("atm-1"));
  EXPECT_THAT(disk.services, ElementsAre("withdrawal"));
  EXPECT_EQ(Row(report, "daily_operation_redundancy").incidents, 1);
  EXPECT_EQ(Row(report, "unreachable").incidents, 1);
  EXPECT_THAT(Row(report, "unreachable").devices, ElementsAre("atm-2", "atm-3"));
  EXPECT_EQ(Row(report, "cyber_attack").incidents, 0);

  EXPECT_EQ(report.total.incidents, 2);
  EXPECT_EQ(report.total.time_in_period_ns, 3 * kHour);
  EXPECT_EQ(report.total.longest_ns, 2 * kHour);
  EXPECT_THAT(report.total.incident_ids, ElementsAre(1, 2));  // oldest first
  EXPECT_THAT(report.total.services, ElementsAre("deposit", "transfer", "withdrawal"));
  EXPECT_EQ(report.total.devices.size(), 3u);
}

TEST(FsaReport, ListsEveryCategoryEvenWithoutIncidentsAndAddsUnknownOnes) {
  const FsaReport empty = BuildFsaReport({}, kPeriod, false);
  std::vector<std::string> names;
  for (const CategoryReport& row : empty.categories) names.push_back(row.category);
  EXPECT_THAT(names, ElementsAre("cyber_attack", "system_change", "daily_operation_storage",
                                 "daily_operation_redundancy", "daily_operation_volume",
                                 "daily_operation_recovery", "program_update", "unreachable"));
  for (const CategoryReport& row : empty.categories) {
    EXPECT_FALSE(row.description.empty()) << row.category;
  }

  const FsaReport report = BuildFsaReport(
      {MakeIncident(7, kT0, kT0 + kHour, {"unknown(12)"}, {"atm-9"})}, kPeriod, false);
  EXPECT_EQ(report.categories.back().category, "unknown(12)");
  EXPECT_EQ(report.categories.back().incidents, 1);
}

TEST(FsaReport, MeasuresOnlyTheTimeInsideThePeriod) {
  // Started the day before, ended 2 h into the period.
  const Incident before =
      MakeIncident(1, kT0 - 10 * kHour, kT0 + 2 * kHour, {"daily_operation_volume"}, {"atm-1"});
  // Started 1 h before the period's end, still open.
  const Incident open = MakeIncident(2, kPeriod.to_unix_ns - kHour, std::nullopt,
                                     {"daily_operation_volume"}, {"atm-2"});
  // Ended after the period: open at its end.
  const Incident across =
      MakeIncident(3, kPeriod.to_unix_ns - 2 * kHour, kPeriod.to_unix_ns + kHour,
                   {"daily_operation_volume"}, {"atm-3"});
  // Wholly before and wholly after: not in the period.
  const Incident earlier =
      MakeIncident(4, kT0 - 5 * kHour, kT0 - kHour, {"daily_operation_volume"}, {"atm-4"});
  const Incident later = MakeIncident(5, kPeriod.to_unix_ns, kPeriod.to_unix_ns + kHour,
                                      {"daily_operation_volume"}, {"atm-5"});
  const FsaReport report = BuildFsaReport({before, open, across, earlier, later}, kPeriod, false);
  const CategoryReport& volume = Row(report, "daily_operation_volume");
  EXPECT_EQ(volume.incidents, 3);
  EXPECT_THAT(volume.incident_ids, ElementsAre(1, 3, 2));
  EXPECT_EQ(volume.open_at_end, 2);
  EXPECT_EQ(volume.time_in_period_ns, (2 + 1 + 2) * kHour);
  EXPECT_EQ(volume.longest_ns, 2 * kHour);
}

TEST(FsaReport, CsvHasOneLinePerCategoryAndTheTotalWithQuotedFields) {
  const FsaReport report =
      BuildFsaReport({MakeIncident(1, kT0, kT0 + 90 * kSecond, {"system_change"}, {"atm-1"},
                                   {"withdrawal", "deposit"})},
                     kPeriod, false);
  const std::string csv = FsaReportCsv(report);
  EXPECT_THAT(csv, StartsWith("category,description,incidents,open_at_end,time_in_period_s,"
                              "longest_s,devices,services,tolerance_breaches,incident_ids\r\n"));
  EXPECT_THAT(csv, HasSubstr("\r\nsystem_change,\"System change: integration, migration, "
                             "renewal\",1,0,90,90,1,deposit withdrawal,0,1\r\n"));
  EXPECT_THAT(csv, HasSubstr("\r\nall,\"Every incident, once\",1,0,90,90,1,"));
  std::size_t lines = 0;
  for (std::size_t at = csv.find("\r\n"); at != std::string::npos; at = csv.find("\r\n", at + 2)) {
    ++lines;
  }
  EXPECT_EQ(lines, 1 + report.categories.size() + 1);

  const nlohmann::json json = FsaReportJson(report);
  EXPECT_EQ(json["from"], "2027-01-15T08:00:00.000Z");
  EXPECT_EQ(json["total"]["time_in_period_s"], 90);
  EXPECT_EQ(json["categories"][1]["category"], "system_change");
  EXPECT_EQ(json["categories"][1]["services"], nlohmann::json::array({"deposit", "withdrawal"}));
}

TEST(FsaReport, PeriodDefaultsToTheLastThirtyDaysAndRefusesBadOnes) {
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
  const Result<ReportPeriod> last_month = ParseReportPeriod("", "", now);
  ASSERT_TRUE(last_month.ok());
  EXPECT_EQ(last_month->to_unix_ns, 1'800'000'000 * kSecond);
  EXPECT_EQ(last_month->to_unix_ns - last_month->from_unix_ns, 30 * 24 * kHour);

  const Result<ReportPeriod> november =
      ParseReportPeriod("2026-11-01T00:00Z", "2026-12-01T00:00Z", now);
  ASSERT_TRUE(november.ok());
  EXPECT_EQ(november->to_unix_ns - november->from_unix_ns, 30 * 24 * kHour);

  EXPECT_THAT(ParseReportPeriod("last tuesday", "", now).error().message(),
              StartsWith("from: \"last tuesday\""));
  EXPECT_THAT(ParseReportPeriod("", "2026-13-01", now).error().message(), StartsWith("to: "));
  EXPECT_THAT(ParseReportPeriod("2026-12-01T00:00Z", "2026-11-01T00:00Z", now).error().message(),
              HasSubstr("is not before"));
}

}  // namespace
}  // namespace atmhealth::collector::fleet
