#include "agent/feed/transaction_meter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "tests/unit/agent/rules/fake_clock.h"

namespace atmhealth::agent::feed {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class TransactionMeterTest : public ::testing::Test {
 protected:
  // The fake clock's monotonic time starts on a slot boundary, so windows
  // in these tests line up with whole slots.
  TransactionMeter Meter(MeterOptions options = {}) {
    return TransactionMeter(std::move(options), clock_.MonotonicNow());
  }

  // Feeds `text` (one line) at the current simulated time.
  LineUse Feed(TransactionMeter& meter, const std::string& text) {
    StatsdLine line;
    EXPECT_EQ(ParseStatsdLine(text, line), LineError::kNone) << text;
    return meter.Record(line, clock_.MonotonicNow());
  }

  // `per_second` lines of `text` every second for `duration`, spread evenly.
  void FeedSteadily(TransactionMeter& meter, const std::string& text, int per_second,
                    seconds duration) {
    const milliseconds step(1000 / per_second);
    for (long i = 0; i < per_second * duration.count(); ++i) {
      Feed(meter, text);
      clock_.Advance(step);
    }
  }

  FakeClock clock_;
};

TEST_F(TransactionMeterTest, TransactionsPerSecondOverOneAndFiveMinutes) {
  TransactionMeter meter = Meter();
  // Four minutes at 20/s, then one minute of silence.
  FeedSteadily(meter, "atm.tx:1|c|#type:withdrawal,result:ok", 20, seconds(240));
  clock_.Advance(seconds(60));
  MeterReport report = meter.Measure(clock_.MonotonicNow());
  EXPECT_EQ(report.one_minute.transactions, 0);
  EXPECT_EQ(report.one_minute.tps, 0);
  // The five-minute window starts 290 s back (its oldest slot) but the meter
  // started 300 s ago: 4,800 − the 10 s before the window = 4,600 in 290 s.
  EXPECT_DOUBLE_EQ(report.five_minutes.transactions, 4600);
  EXPECT_DOUBLE_EQ(report.five_minutes.tps, 4600.0 / 290);
}

TEST_F(TransactionMeterTest, OneMinuteWindowSlidesWithTheSlots) {
  TransactionMeter meter = Meter();
  FeedSteadily(meter, "atm.tx:1|c|#type:withdrawal,result:ok", 10, seconds(120));
  MeterReport report = meter.Measure(clock_.MonotonicNow());
  // Now is on a slot boundary: the window is the 5 whole slots before it.
  EXPECT_DOUBLE_EQ(report.one_minute.transactions, 500);
  EXPECT_DOUBLE_EQ(report.one_minute.tps, 10);
  clock_.Advance(seconds(5));  // half a slot, no traffic
  report = meter.Measure(clock_.MonotonicNow());
  EXPECT_DOUBLE_EQ(report.one_minute.tps, 500.0 / 55);
}

TEST_F(TransactionMeterTest, ARateRightAfterStartIsOverTheTimeWatched) {
  TransactionMeter meter = Meter();
  FeedSteadily(meter, "atm.tx:1|c|#type:deposit,result:ok", 10, seconds(5));
  const MeterReport report = meter.Measure(clock_.MonotonicNow());
  EXPECT_DOUBLE_EQ(report.one_minute.tps, 10);
  EXPECT_DOUBLE_EQ(report.five_minutes.tps, 10);
}

TEST_F(TransactionMeterTest, SampledCountersAreScaledUp) {
  TransactionMeter meter = Meter();
  for (int i = 0; i < 10; ++i) Feed(meter, "atm.tx:1|c|@0.1|#type:inquiry,result:ok");
  clock_.Advance(seconds(10));
  const MeterReport report = meter.Measure(clock_.MonotonicNow());
  EXPECT_DOUBLE_EQ(report.one_minute.transactions, 100);
  ASSERT_EQ(report.types.size(), 1u);
  EXPECT_DOUBLE_EQ(report.types[0].one_minute.transactions, 100);
}

TEST_F(TransactionMeterTest, SuccessAndErrorRatiosLeaveOtherResultsOut) {
  TransactionMeter meter = Meter();
  for (int i = 0; i < 70; ++i) Feed(meter, "atm.tx:1|c|#type:withdrawal,result:ok");
  for (int i = 0; i < 20; ++i) Feed(meter, "atm.tx:1|c|#type:withdrawal,result:error");
  for (int i = 0; i < 10; ++i) {
    Feed(meter, "atm.tx:1|c|#type:withdrawal,result:declined,reason:insufficient_funds");
  }
  for (int i = 0; i < 50; ++i) Feed(meter, "atm.tx:1|c|#type:deposit,result:error");
  clock_.Advance(seconds(30));
  const MeterReport report = meter.Measure(clock_.MonotonicNow());
  ASSERT_EQ(report.types.size(), 2u);
  EXPECT_EQ(report.types[0].type, "deposit");
  EXPECT_DOUBLE_EQ(report.types[0].one_minute.error_ratio, 1);
  EXPECT_DOUBLE_EQ(report.types[0].one_minute.success_ratio, 0);
  EXPECT_EQ(report.types[1].type, "withdrawal");
  EXPECT_DOUBLE_EQ(report.types[1].one_minute.success_ratio, 0.7);
  EXPECT_DOUBLE_EQ(report.types[1].one_minute.error_ratio, 0.2);
  EXPECT_DOUBLE_EQ(report.one_minute.error_ratio, 70.0 / 150);
}

TEST_F(TransactionMeterTest, LatencyPercentilesPerTypeAreWithinTheHistogramError) {
  TransactionMeter meter = Meter();
  std::mt19937_64 random(11);
  std::lognormal_distribution<double> withdrawal(std::log(180), 0.4);
  std::vector<double> sent;
  for (int i = 0; i < 3000; ++i) {
    const double ms = std::round(withdrawal(random) * 10) / 10;
    sent.push_back(ms);
    Feed(meter, "atm.tx.latency:" + std::to_string(ms) + "|ms|#type:withdrawal");
    Feed(meter, "atm.tx.latency:4210|ms|#type:transfer");
    if (i % 100 == 0) clock_.Advance(seconds(1));
  }
  const MeterReport report = meter.Measure(clock_.MonotonicNow());
  ASSERT_EQ(report.types.size(), 2u);
  const Measures& w = report.types[1].one_minute;
  EXPECT_EQ(w.latency_samples, 3000u);
  std::sort(sent.begin(), sent.end());
  const double alpha = LatencyHistogram::kRelativeError + 1e-9;
  EXPECT_NEAR(w.p50_ms, sent[1499], sent[1499] * alpha);
  EXPECT_NEAR(w.p95_ms, sent[2849], sent[2849] * alpha);
  EXPECT_NEAR(w.p99_ms, sent[2969], sent[2969] * alpha);
  EXPECT_NEAR(report.types[0].one_minute.p99_ms, 4210, 4210 * alpha);
  EXPECT_EQ(report.one_minute.latency_samples, 6000u);
  EXPECT_NEAR(report.one_minute.p99_ms, 4210, 4210 * alpha);
  EXPECT_EQ(report.one_minute.transactions, 0);  // latencies are not transactions
}

TEST_F(TransactionMeterTest, SampledLatenciesWeighAsMuchAsTheyStandFor) {
  TransactionMeter meter = Meter();
  Feed(meter, "atm.tx.latency:100|ms|@0.1|#type:inquiry");  // stands for 10
  for (int i = 0; i < 5; ++i) Feed(meter, "atm.tx.latency:1000|ms|#type:inquiry");
  const MeterReport report = meter.Measure(clock_.MonotonicNow());
  EXPECT_EQ(report.one_minute.latency_samples, 15u);
  EXPECT_NEAR(report.one_minute.p50_ms, 100, 2);
}

TEST_F(TransactionMeterTest, UtilisationIsAgainstTheConfiguredCapacity) {
  MeterOptions options;
  options.capacity_tps = 40;
  TransactionMeter meter = Meter(options);
  FeedSteadily(meter, "atm.tx:1|c|#type:withdrawal,result:ok", 10, seconds(60));
  const MeterReport report = meter.Measure(clock_.MonotonicNow());
  EXPECT_DOUBLE_EQ(report.one_minute.utilisation_percent, 25);
  EXPECT_DOUBLE_EQ(report.types[0].one_minute.utilisation_percent, 25);
  // Without a capacity there is nothing to be utilised.
  TransactionMeter unsized = Meter();
  Feed(unsized, "atm.tx:1|c|#type:withdrawal,result:ok");
  EXPECT_EQ(unsized.Measure(clock_.MonotonicNow()).one_minute.utilisation_percent, 0);
}

TEST_F(TransactionMeterTest, TypesBeyondTheCapCountOverallAndAsExcess) {
  MeterOptions options;
  options.max_types = 4;
  TransactionMeter meter = Meter(options);
  for (int t = 0; t < 10; ++t) {
    Feed(meter, "atm.tx:1|c|#type:kind" + std::to_string(t) + ",result:ok");
  }
  Feed(meter, "atm.tx:1|c|#type:kind0,result:ok");  // a known type still counts
  const MeterReport report = meter.Measure(clock_.MonotonicNow());
  EXPECT_EQ(meter.tracked_types(), 4u);
  EXPECT_EQ(report.types.size(), 4u);
  EXPECT_EQ(report.excess_type_lines, 6u);
  EXPECT_DOUBLE_EQ(report.one_minute.transactions, 11);
  EXPECT_DOUBLE_EQ(report.types[0].one_minute.transactions, 2);
}

TEST_F(TransactionMeterTest, ATypeSilentForTheLongWindowMakesRoomForANewOne) {
  MeterOptions options;
  options.max_types = 2;
  TransactionMeter meter = Meter(options);
  Feed(meter, "atm.tx:1|c|#type:withdrawal,result:ok");
  Feed(meter, "atm.tx:1|c|#type:campaign_test,result:ok");
  clock_.Advance(seconds(200));
  Feed(meter, "atm.tx:1|c|#type:withdrawal,result:ok");
  clock_.Advance(seconds(110));  // campaign_test silent for 310 s, withdrawal for 110 s
  Feed(meter, "atm.tx:1|c|#type:deposit,result:ok");
  const MeterReport report = meter.Measure(clock_.MonotonicNow());
  EXPECT_EQ(report.excess_type_lines, 0u);
  ASSERT_EQ(report.types.size(), 2u);
  EXPECT_EQ(report.types[0].type, "deposit");
  EXPECT_EQ(report.types[1].type, "withdrawal");
  EXPECT_DOUBLE_EQ(report.types[0].five_minutes.transactions, 1);
}

TEST_F(TransactionMeterTest, MemoryStaysBoundedByTheCapWhateverTheCardinality) {
  MeterOptions options;
  options.max_types = 16;
  TransactionMeter meter = Meter(options);
  for (int t = 0; t < 16; ++t) Feed(meter, "atm.tx:1|c|#type:t" + std::to_string(t));
  const std::size_t at_cap = meter.MemoryBytes();
  for (int t = 0; t < 10000; ++t) Feed(meter, "atm.tx:1|c|#type:u" + std::to_string(t));
  EXPECT_EQ(meter.MemoryBytes(), at_cap);
  EXPECT_EQ(meter.excess_type_lines(), 10000u);
}

TEST_F(TransactionMeterTest, TheSchemaDecidesWhichLinesMeanWhat) {
  MeterOptions options;
  options.schema.transaction_metric = "bank.txn";
  options.schema.latency_metric = "bank.txn.time";
  options.schema.type_tag = "kind";
  options.schema.result_tag = "status";
  options.schema.success_results = {"approved", "ok"};
  options.schema.error_results = {"failed", "timeout"};
  TransactionMeter meter = Meter(options);
  EXPECT_EQ(Feed(meter, "bank.txn:1|c|#kind:transfer,status:approved"), LineUse::kTransaction);
  EXPECT_EQ(Feed(meter, "bank.txn:1|c|#kind:transfer,status:timeout"), LineUse::kTransaction);
  EXPECT_EQ(Feed(meter, "bank.txn.time:350|h|#kind:transfer"), LineUse::kLatency);
  EXPECT_EQ(Feed(meter, "atm.tx:1|c|#type:withdrawal,result:ok"), LineUse::kIgnored);
  EXPECT_EQ(Feed(meter, "bank.txn:5|g|#kind:transfer"), LineUse::kIgnored);  // not a counter
  EXPECT_EQ(Feed(meter, "atm.sessions.active:3|g"), LineUse::kIgnored);
  const MeterReport report = meter.Measure(clock_.MonotonicNow());
  ASSERT_EQ(report.types.size(), 1u);
  EXPECT_EQ(report.types[0].type, "transfer");
  EXPECT_DOUBLE_EQ(report.types[0].one_minute.success_ratio, 0.5);
  EXPECT_DOUBLE_EQ(report.types[0].one_minute.error_ratio, 0.5);
  EXPECT_EQ(report.types[0].one_minute.latency_samples, 1u);
}

TEST_F(TransactionMeterTest, ALineWithoutATypeCountsOnlyOverall) {
  TransactionMeter meter = Meter();
  Feed(meter, "atm.tx:3|c|#result:ok");
  const MeterReport report = meter.Measure(clock_.MonotonicNow());
  EXPECT_TRUE(report.types.empty());
  EXPECT_DOUBLE_EQ(report.one_minute.transactions, 3);
  EXPECT_DOUBLE_EQ(report.one_minute.success_ratio, 1);
}

TEST_F(TransactionMeterTest, TrafficOlderThanFiveMinutesIsForgotten) {
  TransactionMeter meter = Meter();
  FeedSteadily(meter, "atm.tx:1|c|#type:withdrawal,result:ok", 5, seconds(20));
  clock_.Advance(seconds(300));
  const MeterReport report = meter.Measure(clock_.MonotonicNow());
  EXPECT_EQ(report.five_minutes.transactions, 0);
  EXPECT_TRUE(report.types.empty());
}

}  // namespace
}  // namespace atmhealth::agent::feed
