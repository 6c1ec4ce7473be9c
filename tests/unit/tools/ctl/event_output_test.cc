#include "tools/ctl/event_output.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/unit/agent/store/event_store_test_support.h"

namespace atmhealth::ctl {
namespace {

using ::atmhealth::testing::SampleEvent;
using ::testing::HasSubstr;
using ::testing::Not;

// 2023-11-14 22:13:20 UTC.
constexpr std::int64_t kAt = 1'700'000'000'000'000'000;

// Runs the test in a chosen local time zone (POSIX TZ text: no zone files
// needed) and puts the old one back.
class InZone {
 public:
  explicit InZone(const char* tz) {
    if (const char* old = std::getenv("TZ")) old_ = old;
    setenv("TZ", tz, 1);
    tzset();
  }
  ~InZone() {
    if (old_.empty()) {
      unsetenv("TZ");
    } else {
      setenv("TZ", old_.c_str(), 1);
    }
    tzset();
  }

 private:
  std::string old_;
};

std::vector<StoredEvent> TwoEvents() {
  StoredEvent critical{SampleEvent(v1::SEVERITY_CRITICAL, "/var"), true};
  critical.event.set_seq(7);
  StoredEvent resolved{SampleEvent(v1::SEVERITY_INFO, "/srv/ej \"journal\", 2"), false};
  resolved.event.set_seq(12);
  resolved.event.set_state(v1::ALERT_STATE_RESOLVED);
  resolved.event.set_summary("line one\nforged line");
  return {critical, resolved};
}

TEST(EventOutput, LocalTimeCarriesTheZone) {
  InZone tokyo("JST-9");
  EXPECT_EQ(LocalTime(kAt), "2023-11-15 07:13:20 JST");
  EXPECT_EQ(UtcTime(kAt + 5'000'000), "2023-11-14T22:13:20.005Z");
}

TEST(EventOutput, TableColumnsLineUpAndOutsideTextCannotForgeALine) {
  InZone utc("UTC0");
  std::ostringstream out;
  WriteEvents(out, TwoEvents(), {});
  std::vector<std::string> lines;
  std::istringstream in(out.str());
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 3u) << out.str();
  // Every column starts at the same place on every line.
  const std::size_t summary_at = lines[0].find("SUMMARY");
  ASSERT_NE(summary_at, std::string::npos);
  EXPECT_EQ(lines[1].find("/var is SEVERITY_CRITICAL"), summary_at);
  EXPECT_EQ(lines[2].find("line one\\nforged line"), summary_at);
  EXPECT_EQ(lines[1].find("critical"), lines[0].find("SEVERITY"));
  EXPECT_THAT(lines[1], HasSubstr("2023-11-14 22:13:20 UTC"));
  EXPECT_THAT(lines[1], HasSubstr("93.4 %"));
  // A notice measured nothing: no number is made up for it.
  StoredEvent notice{SampleEvent(v1::SEVERITY_INFO, "atmhealthd"), false};
  notice.event.set_unit(v1::UNIT_UNSPECIFIED);
  std::ostringstream notice_out;
  WriteEvents(notice_out, {notice}, {});
  EXPECT_THAT(notice_out.str(), ::testing::ContainsRegex("storage:atmhealthd +- +- +no"));
  EXPECT_THAT(out.str(), Not(HasSubstr("\x1b[")));
}

TEST(EventOutput, ColourOnlyWhenAsked) {
  std::ostringstream out;
  OutputStyle style;
  style.colour = true;
  WriteEvents(out, TwoEvents(), style);
  EXPECT_THAT(out.str(), HasSubstr("\x1b[1;31mcritical"));
  EXPECT_THAT(out.str(), HasSubstr("\x1b[32mresolved"));
}

TEST(EventOutput, JsonIsOneObjectPerLineWithShortNames) {
  std::ostringstream out;
  OutputStyle style;
  style.format = EventFormat::kJson;
  WriteEvents(out, TwoEvents(), style);
  std::istringstream in(out.str());
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  const nlohmann::json first = nlohmann::json::parse(line);
  EXPECT_EQ(first["seq"], 7);
  EXPECT_EQ(first["severity"], "critical");
  EXPECT_EQ(first["kind"], "storage");
  EXPECT_EQ(first["state"], "firing");
  EXPECT_EQ(first["alert_key"], "storage:/var");
  EXPECT_EQ(first["detected_at"], "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(first["delivered"], true);
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(nlohmann::json::parse(line)["summary"], "line one\nforged line");
  EXPECT_FALSE(std::getline(in, line));
}

TEST(EventOutput, CsvQuotesFieldsWithCommasQuotesAndNewlines) {
  std::ostringstream out;
  OutputStyle style;
  style.format = EventFormat::kCsv;
  WriteEvents(out, TwoEvents(), style);
  EXPECT_THAT(out.str(), HasSubstr("seq,detected_at,alert_key,"));
  EXPECT_THAT(out.str(),
              HasSubstr("12,2023-11-14T22:13:20.000Z,\"storage:/srv/ej \"\"journal\"\", 2\","));
  EXPECT_THAT(out.str(), HasSubstr(",false,\"line one\nforged line\"\r\n"));
}

}  // namespace
}  // namespace atmhealth::ctl
