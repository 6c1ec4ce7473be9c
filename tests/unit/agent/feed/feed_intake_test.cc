#include "agent/feed/feed_intake.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/test_paths.h"
#include "tests/unit/agent/rules/fake_clock.h"

namespace atmhealth::agent::feed {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

std::uint64_t Bad(const FeedCounters& counters, LineError reason) {
  return counters.bad_lines_by_reason[static_cast<std::size_t>(reason)];
}

// Captures what the intake logs.
class CapturedLog {
 public:
  CapturedLog() : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(100)) {
    previous_ = spdlog::default_logger();
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink_));
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  std::vector<std::string> lines() const { return sink_->last_formatted(); }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> previous_;
};

TEST(FeedIntakeTest, TheWholeSampleFeedInOneDatagramIsCountedLineByLine) {
  std::ifstream in(testing::Fixture("feed/statsd_lines.txt"));
  std::ostringstream datagram;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') datagram << line << '\n';
  }
  FakeClock clock;
  FeedIntake intake(MeterOptions{}, clock);
  intake.Datagram(datagram.str());

  const FeedCounters counters = intake.counters();
  EXPECT_EQ(counters.datagrams, 1u);
  EXPECT_EQ(counters.lines, 18u);
  EXPECT_EQ(counters.transaction_lines, 4u);
  EXPECT_EQ(counters.latency_lines, 3u);
  EXPECT_EQ(counters.ignored_lines, 3u);  // the gauges
  EXPECT_EQ(counters.bad_lines, 8u);
  EXPECT_EQ(Bad(counters, LineError::kBadValue), 3u);
  EXPECT_EQ(Bad(counters, LineError::kNoValue), 1u);
  EXPECT_EQ(Bad(counters, LineError::kBadType), 1u);
  EXPECT_EQ(Bad(counters, LineError::kBadName), 1u);
  EXPECT_EQ(Bad(counters, LineError::kBadTag), 1u);
  EXPECT_EQ(Bad(counters, LineError::kBadSampleRate), 1u);

  const MeterReport report = intake.Measure();
  EXPECT_DOUBLE_EQ(report.one_minute.transactions, 13);  // 3 + 10 sampled inquiries
  EXPECT_THAT(report.types, SizeIs(4));
}

TEST(FeedIntakeTest, GarbageMixedIntoValidTrafficLeavesTheValidTrafficWhole) {
  FakeClock clock;
  FeedIntake intake(MeterOptions{}, clock);
  for (int i = 0; i < 100; ++i) {
    intake.Datagram(
        "atm.tx:1|c|#type:withdrawal,result:ok\n\x01\xff garbage|||\n"
        "atm.tx.latency:150|ms|#type:withdrawal\n");
  }
  const FeedCounters counters = intake.counters();
  EXPECT_EQ(counters.transaction_lines, 100u);
  EXPECT_EQ(counters.latency_lines, 100u);
  EXPECT_EQ(counters.bad_lines, 100u);
  EXPECT_EQ(Bad(counters, LineError::kNoValue), 100u);
  EXPECT_DOUBLE_EQ(intake.Measure().one_minute.transactions, 100);
}

TEST(FeedIntakeTest, ATruncatedDatagramKeepsItsWholeLinesAndCountsTheCutOne) {
  FakeClock clock;
  FeedIntake intake(MeterOptions{}, clock);
  intake.Datagram("atm.tx:1|c|#type:deposit,result:ok\natm.tx:1|c|#type:dep", true);
  intake.Datagram("atm.tx:1|c|#type:depo", true);  // not even one whole line
  const FeedCounters counters = intake.counters();
  EXPECT_EQ(counters.truncated_datagrams, 2u);
  EXPECT_EQ(counters.transaction_lines, 1u);
  EXPECT_EQ(counters.lines, 3u);
  EXPECT_EQ(Bad(counters, LineError::kTruncated), 2u);
}

TEST(FeedIntakeTest, LogsTheFirstBadLinesWithTheirReasonThenOnlyCounts) {
  CapturedLog log;
  FakeClock clock;
  FeedIntake intake(MeterOptions{}, clock);
  for (int i = 0; i < 25; ++i) intake.Datagram("atm.tx:1|zz\natm.tx:1|c|#type:x,result:ok");
  const std::vector<std::string> lines = log.lines();
  ASSERT_THAT(lines, SizeIs(FeedIntake::kLoggedBadLines));
  EXPECT_THAT(lines[0],
              HasSubstr("datagram 1 line 1 refused: bad_type (11 bytes: \"atm.tx:1|zz\")"));
  EXPECT_THAT(lines.back(), HasSubstr("further bad lines are counted, not logged"));
  EXPECT_EQ(intake.counters().bad_lines, 25u);
  EXPECT_EQ(intake.counters().transaction_lines, 25u);
}

TEST(FeedIntakeTest, EmptyLinesAndLineEndingsAreNotLines) {
  FakeClock clock;
  FeedIntake intake(MeterOptions{}, clock);
  intake.Datagram("\natm.tx:1|c|#type:a,result:ok\r\n\r\n\natm.tx.latency:3|ms\n");
  EXPECT_EQ(intake.counters().lines, 2u);
  EXPECT_EQ(intake.counters().bad_lines, 0u);
}

TEST(FeedIntakeTest, ABinaryLineIsLoggedMaskedAndCut) {
  CapturedLog log;
  FakeClock clock;
  FeedIntake intake(MeterOptions{}, clock);
  intake.Datagram("ok:1|c\n\x1b[2J\xff" + std::string(200, 'x'));
  ASSERT_THAT(log.lines(), SizeIs(1));
  EXPECT_THAT(log.lines()[0],
              HasSubstr("datagram 1 line 2 refused: no_value (205 bytes: \"?[2J?xxx"));
  EXPECT_THAT(log.lines()[0], HasSubstr("xxx...\")"));
  EXPECT_EQ(log.lines()[0].find('\x1b'), std::string::npos);
}

TEST(FeedIntakeTest, CountsLinesOfTypesBeyondTheCap) {
  FakeClock clock;
  MeterOptions options;
  options.max_types = 2;
  FeedIntake intake(options, clock);
  intake.Datagram("atm.tx:1|c|#type:a\natm.tx:1|c|#type:b\natm.tx:1|c|#type:c\n");
  EXPECT_EQ(intake.counters().excess_type_lines, 1u);
  EXPECT_EQ(intake.counters().transaction_lines, 3u);
}

TEST(FeedIntakeTest, MeasuresAtTheInjectedClocksTime) {
  FakeClock clock;
  FeedIntake intake(MeterOptions{}, clock);
  intake.Datagram("atm.tx:30|c|#type:withdrawal,result:ok");
  clock.Advance(std::chrono::seconds(10));
  EXPECT_DOUBLE_EQ(intake.Measure().one_minute.tps, 3);
  clock.Advance(std::chrono::minutes(5));
  EXPECT_EQ(intake.Measure().five_minutes.transactions, 0);
}

}  // namespace
}  // namespace atmhealth::agent::feed
