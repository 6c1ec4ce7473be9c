#include "platform/repeated_condition.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>

namespace atmhealth::platform {
namespace {

using namespace std::chrono_literals;

class SteppedClock final : public Clock {
 public:
  std::chrono::system_clock::time_point WallNow() const override { return {}; }
  std::chrono::steady_clock::time_point MonotonicNow() const override { return now_; }
  void Advance(std::chrono::milliseconds by) { now_ += by; }

 private:
  std::chrono::steady_clock::time_point now_{std::chrono::hours(1)};
};

TEST(RepeatedCondition, LoggedWhenItStartsThenSummarisedOncePerInterval) {
  SteppedClock clock;
  RepeatedCondition disk_full(clock, 60s);
  EXPECT_EQ(disk_full.Occurred(), std::optional<std::uint64_t>(1));
  // Two retries a second for the next minute: not a line.
  for (int i = 0; i < 119; ++i) {
    clock.Advance(500ms);
    EXPECT_EQ(disk_full.Occurred(), std::nullopt) << i;
  }
  clock.Advance(500ms);
  EXPECT_EQ(disk_full.Occurred(), std::optional<std::uint64_t>(120));
  EXPECT_EQ(RepeatedCondition::Note(120), " (120 times since the last report)");
  EXPECT_EQ(RepeatedCondition::Note(1), "");
  clock.Advance(1s);
  EXPECT_EQ(disk_full.Occurred(3), std::nullopt);
  EXPECT_EQ(disk_full.Cleared(), std::optional<std::uint64_t>(124));
  EXPECT_EQ(disk_full.Cleared(), std::nullopt);
  EXPECT_FALSE(disk_full.active());
}

TEST(RepeatedCondition, ConditionThatReturnsIsLoggedAtOnceAgain) {
  SteppedClock clock;
  RepeatedCondition disk_full(clock, 60s);
  ASSERT_TRUE(disk_full.Occurred());
  ASSERT_TRUE(disk_full.Cleared());
  clock.Advance(1s);
  EXPECT_EQ(disk_full.Occurred(), std::optional<std::uint64_t>(1));
  EXPECT_TRUE(disk_full.active());
}

}  // namespace
}  // namespace atmhealth::platform
