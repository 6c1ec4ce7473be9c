#include "agent/feed/statsd_line.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/test_paths.h"

namespace atmhealth::agent::feed {
namespace {

// The sample feed: lines before the "# Malformed" comment are well-formed,
// those after it are not.
struct SampleLines {
  std::vector<std::string> good;
  std::vector<std::string> bad;
};

SampleLines ReadSample() {
  std::ifstream in(testing::Fixture("feed/statsd_lines.txt"));
  SampleLines sample;
  bool malformed = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# Malformed", 0) == 0) malformed = true;
    if (line.empty() || line[0] == '#') continue;
    (malformed ? sample.bad : sample.good).push_back(line);
  }
  return sample;
}

LineError Parse(std::string_view text) {
  StatsdLine line;
  return ParseStatsdLine(text, line);
}

TEST(StatsdLineTest, ParsesTheTransactionCounterOfTheDefaultSchema) {
  StatsdLine line;
  ASSERT_EQ(ParseStatsdLine("atm.tx:1|c|#type:withdrawal,result:ok", line), LineError::kNone);
  EXPECT_EQ(line.name, "atm.tx");
  EXPECT_EQ(line.value, 1);
  EXPECT_EQ(line.type, MetricType::kCounter);
  EXPECT_EQ(line.sample_rate, 1);
  ASSERT_EQ(line.tag_count, 2u);
  EXPECT_EQ(line.TagValue("type"), "withdrawal");
  EXPECT_EQ(line.TagValue("result"), "ok");
  EXPECT_EQ(line.TagValue("reason"), "");
}

TEST(StatsdLineTest, ParsesTimersSampleRatesAndGaugeDeltas) {
  StatsdLine line;
  ASSERT_EQ(ParseStatsdLine("atm.tx.latency:97.5|ms|@0.5|#type:inquiry", line), LineError::kNone);
  EXPECT_EQ(line.type, MetricType::kTimer);
  EXPECT_DOUBLE_EQ(line.value, 97.5);
  EXPECT_DOUBLE_EQ(line.sample_rate, 0.5);
  EXPECT_EQ(line.TagValue("type"), "inquiry");

  ASSERT_EQ(ParseStatsdLine("atm.cash.cassette_notes:-40|g|#cassette:1", line), LineError::kNone);
  EXPECT_EQ(line.type, MetricType::kGauge);
  EXPECT_TRUE(line.gauge_delta);
  EXPECT_EQ(line.value, -40);
  ASSERT_EQ(ParseStatsdLine("atm.sessions.active:3|g", line), LineError::kNone);
  EXPECT_FALSE(line.gauge_delta);
  EXPECT_EQ(line.tag_count, 0u);

  ASSERT_EQ(ParseStatsdLine("atm.tx.latency:12|h", line), LineError::kNone);
  EXPECT_EQ(line.type, MetricType::kHistogram);
  ASSERT_EQ(ParseStatsdLine("atm.tx.latency:12|d|#type:deposit", line), LineError::kNone);
  EXPECT_EQ(line.type, MetricType::kDistribution);
  ASSERT_EQ(ParseStatsdLine("atm.cards.seen:4711abc|s", line), LineError::kNone);
  EXPECT_EQ(line.type, MetricType::kSet);
  EXPECT_EQ(line.raw_value, "4711abc");
}

TEST(StatsdLineTest, AcceptsDogStatsdContainerAndTimestampSections) {
  EXPECT_EQ(Parse("atm.tx:1|c|#type:deposit|c:abc123|T1700000000"), LineError::kNone);
  EXPECT_EQ(Parse("atm.tx:1|c|@0.25|#type:deposit\r"), LineError::kNone);
}

TEST(StatsdLineTest, EveryWellFormedSampleLineParses) {
  const SampleLines sample = ReadSample();
  ASSERT_EQ(sample.good.size(), 10u);
  for (const auto& text : sample.good) EXPECT_EQ(Parse(text), LineError::kNone) << text;
}

TEST(StatsdLineTest, EveryMalformedSampleLineHasItsReason) {
  const SampleLines sample = ReadSample();
  const std::vector<std::pair<std::string, LineError>> expected = {
      {"atm.tx|c", LineError::kNoValue},
      {"atm.tx:abc|c|#type:withdrawal", LineError::kBadValue},
      {"atm.tx:1|zz", LineError::kBadType},
      {":1|c", LineError::kBadName},
      {"atm.tx:1|c|#type", LineError::kBadTag},
      {"atm.tx:1|c|@x|#type:withdrawal", LineError::kBadSampleRate},
      {"atm.tx.latency:-5|ms", LineError::kBadValue},
      {"atm.tx:1e309|c", LineError::kBadValue},
  };
  ASSERT_EQ(sample.bad.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(sample.bad[i], expected[i].first);
    EXPECT_EQ(Parse(sample.bad[i]), expected[i].second)
        << sample.bad[i] << " → " << LineErrorName(Parse(sample.bad[i]));
  }
}

TEST(StatsdLineTest, RefusesEachKindOfBrokenLine) {
  EXPECT_EQ(Parse("atm.tx:1"), LineError::kNoType);
  EXPECT_EQ(Parse("atm tx:1|c"), LineError::kBadName);
  EXPECT_EQ(Parse("atm.\x01tx:1|c"), LineError::kBadName);
  EXPECT_EQ(Parse("atm.tx:|c"), LineError::kBadValue);
  EXPECT_EQ(Parse("atm.tx:inf|c"), LineError::kBadValue);
  EXPECT_EQ(Parse("atm.tx:nan|ms"), LineError::kBadValue);
  EXPECT_EQ(Parse("atm.tx:1.5.2|c"), LineError::kBadValue);
  EXPECT_EQ(Parse("atm.tx:-1|c"), LineError::kBadValue);
  EXPECT_EQ(Parse("atm.tx:1|"), LineError::kBadType);
  EXPECT_EQ(Parse("atm.tx:1|c|"), LineError::kUnknownSection);
  EXPECT_EQ(Parse("atm.tx:1|c||#type:x"), LineError::kUnknownSection);
  EXPECT_EQ(Parse("atm.tx:1|c|@0.5|@0.5"), LineError::kUnknownSection);
  EXPECT_EQ(Parse("atm.tx:1|c|x"), LineError::kUnknownSection);
  EXPECT_EQ(Parse("atm.tx:1|c|@0"), LineError::kBadSampleRate);
  EXPECT_EQ(Parse("atm.tx:1|c|@1.5"), LineError::kBadSampleRate);
  EXPECT_EQ(Parse("atm.tx:1|c|@-0.5"), LineError::kBadSampleRate);
  EXPECT_EQ(Parse("atm.tx:1|c|#:x"), LineError::kBadTag);
  EXPECT_EQ(Parse("atm.tx:1|c|#type:a,"), LineError::kBadTag);
  EXPECT_EQ(Parse("atm.tx:1|c|#type:a b"), LineError::kBadTag);
  EXPECT_EQ(Parse("atm.set:|s"), LineError::kBadValue);
}

TEST(StatsdLineTest, BoundsLineLengthAndTagCount) {
  std::string line = "atm.tx:1|c|#type:";
  line.append(kMaxLineBytes - line.size(), 'w');
  EXPECT_EQ(Parse(line), LineError::kNone);
  line.push_back('w');
  EXPECT_EQ(Parse(line), LineError::kLineTooLong);

  std::string tags = "atm.tx:1|c|#";
  for (std::size_t i = 0; i < kMaxTags; ++i) tags += (i ? ",k" : "k") + std::to_string(i) + ":v";
  EXPECT_EQ(Parse(tags), LineError::kNone);
  EXPECT_EQ(Parse(tags + ",one:more"), LineError::kTooManyTags);
}

TEST(StatsdLineTest, EveryReasonHasADistinctName) {
  std::vector<std::string_view> names;
  for (std::size_t i = 0; i < kLineErrorCount; ++i) {
    names.push_back(LineErrorName(static_cast<LineError>(i)));
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::unique(names.begin(), names.end()), names.end());
  EXPECT_EQ(LineErrorName(LineError::kTruncated), "truncated");
}

}  // namespace
}  // namespace atmhealth::agent::feed
