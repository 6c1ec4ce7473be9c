// Backoff between reconnect attempts: exponential growth up to the cap, equal
// jitter within [ceiling / 2, ceiling], and a fresh start after Reset().
#include "agent/uplink/backoff.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

namespace atmhealth::agent {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kInitial{100};
constexpr milliseconds kMax{3000};

// The ceiling of attempt `attempt`: initial * 2^attempt, capped at max.
std::int64_t Ceiling(int attempt) {
  std::int64_t ceiling = kInitial.count();
  for (int i = 0; i < attempt && ceiling < kMax.count(); ++i) ceiling *= 2;
  return std::min(ceiling, kMax.count());
}

TEST(BackoffTest, DelaysGrowExponentiallyWithinEqualJitterUpToTheMax) {
  constexpr int kAttempts = 12;  // 100 * 2^5 already passes the 3 s cap
  // Many agents (seeds), so that the jitter is seen to use its whole range.
  std::vector<std::int64_t> lowest(kAttempts, kMax.count() + 1);
  std::vector<std::int64_t> highest(kAttempts, 0);
  for (std::uint64_t seed = 1; seed <= 300; ++seed) {
    Backoff backoff(kInitial, kMax, seed);
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
      EXPECT_EQ(backoff.attempt(), attempt);
      const std::int64_t delay = backoff.Next().count();
      ASSERT_GE(delay, Ceiling(attempt) / 2) << "seed " << seed << " attempt " << attempt;
      ASSERT_LE(delay, Ceiling(attempt)) << "seed " << seed << " attempt " << attempt;
      lowest[attempt] = std::min(lowest[attempt], delay);
      highest[attempt] = std::max(highest[attempt], delay);
    }
  }
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    const double ceiling = static_cast<double>(Ceiling(attempt));
    EXPECT_LT(lowest[attempt], 0.6 * ceiling) << "attempt " << attempt;
    EXPECT_GT(highest[attempt], 0.9 * ceiling) << "attempt " << attempt;
  }
}

TEST(BackoffTest, ARetryHintIsNeverUndercutAndIsSpreadOverHalfOfItAgain) {
  std::int64_t lowest = 1'000'000;
  std::int64_t highest = 0;
  for (std::uint64_t seed = 1; seed <= 300; ++seed) {
    Backoff backoff(kInitial, kMax, seed);
    const std::int64_t delay = backoff.NotBefore(milliseconds(10'000)).count();
    ASSERT_GE(delay, 10'000) << "seed " << seed;
    ASSERT_LE(delay, 15'000) << "seed " << seed;
    lowest = std::min(lowest, delay);
    highest = std::max(highest, delay);
  }
  EXPECT_LT(lowest, 10'500);
  EXPECT_GT(highest, 14'500);
}

TEST(BackoffTest, ResetStartsOverAtTheInitialDelay) {
  Backoff backoff(kInitial, kMax, 42);
  for (int i = 0; i < 8; ++i) (void)backoff.Next();
  ASSERT_GE(backoff.Next().count(), kMax.count() / 2);

  backoff.Reset();
  EXPECT_EQ(backoff.attempt(), 0);
  const std::int64_t first = backoff.Next().count();
  EXPECT_GE(first, kInitial.count() / 2);
  EXPECT_LE(first, kInitial.count());
  const std::int64_t second = backoff.Next().count();
  EXPECT_GE(second, kInitial.count());
  EXPECT_LE(second, 2 * kInitial.count());
}

TEST(BackoffTest, StaysAtTheMaxAfterManyAttemptsWithoutOverflow) {
  Backoff backoff(kInitial, kMax, 7);
  for (int attempt = 0; attempt < 200; ++attempt) {
    const std::int64_t delay = backoff.Next().count();
    ASSERT_GE(delay, Ceiling(attempt) / 2) << "attempt " << attempt;
    ASSERT_LE(delay, kMax.count()) << "attempt " << attempt;
  }
}

TEST(BackoffTest, MaxBelowInitialMeansTheInitialDelay) {
  Backoff backoff(milliseconds(400), milliseconds(100), 3);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const std::int64_t delay = backoff.Next().count();
    EXPECT_GE(delay, 200);
    EXPECT_LE(delay, 400);
  }
}

TEST(BackoffTest, DifferentSeedsDoNotReconnectInStep) {
  // A fleet cut off together must not come back together.
  Backoff a(kInitial, kMax, 1);
  Backoff b(kInitial, kMax, 2);
  std::vector<std::int64_t> delays_a;
  std::vector<std::int64_t> delays_b;
  for (int i = 0; i < 10; ++i) {
    delays_a.push_back(a.Next().count());
    delays_b.push_back(b.Next().count());
  }
  EXPECT_NE(delays_a, delays_b);
}

// What the uplink (and the swarm that reconnects like it) waits after a
// session: the backoff goes on after a failed one, starts over after a
// healthy one, and a retry hint is never undercut.
TEST(BackoffTest, AfterSessionGrowsOnFailureStartsOverWhenHealthyAndHonoursAHint) {
  Backoff backoff(kInitial, kMax, 11);
  for (int attempt = 0; attempt < 4; ++attempt) {
    const std::int64_t delay = backoff.AfterSession(false, milliseconds{0}).count();
    EXPECT_GE(delay, Ceiling(attempt) / 2) << "attempt " << attempt;
    EXPECT_LE(delay, Ceiling(attempt)) << "attempt " << attempt;
  }
  const std::int64_t after_healthy = backoff.AfterSession(true, milliseconds{0}).count();
  EXPECT_GE(after_healthy, kInitial.count() / 2);
  EXPECT_LE(after_healthy, kInitial.count());
  EXPECT_EQ(backoff.attempt(), 1);

  const std::int64_t hinted = backoff.AfterSession(false, milliseconds(10'000)).count();
  EXPECT_GE(hinted, 10'000);
  EXPECT_LE(hinted, 15'000);
  EXPECT_EQ(backoff.attempt(), 2) << "a refused attempt still counts";
  // A hint shorter than the backoff does not shorten it.
  for (int i = 0; i < 10; ++i) (void)backoff.Next();
  EXPECT_GE(backoff.AfterSession(false, milliseconds(1)).count(), kMax.count() / 2);
}

}  // namespace
}  // namespace atmhealth::agent
