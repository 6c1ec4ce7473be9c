// A clock the test moves by hand, for "for" windows without sleeping.
#ifndef ATMHEALTH_TESTS_UNIT_AGENT_RULES_FAKE_CLOCK_H_
#define ATMHEALTH_TESTS_UNIT_AGENT_RULES_FAKE_CLOCK_H_

#include <chrono>

#include "platform/clock.h"

namespace atmhealth::agent {

class FakeClock final : public platform::Clock {
 public:
  std::chrono::system_clock::time_point WallNow() const override { return wall_; }
  std::chrono::steady_clock::time_point MonotonicNow() const override { return monotonic_; }

  // Both clocks move together, as they do when nobody touches the wall clock.
  void Advance(std::chrono::milliseconds by) {
    wall_ += by;
    monotonic_ += by;
  }

  // Only the wall clock moves, as when NTP or an operator sets it; the
  // monotonic clock does not see it.
  void JumpWall(std::chrono::milliseconds by) { wall_ += by; }

 private:
  // 2024-04-01T09:00:00Z: a Monday morning, when branches open.
  std::chrono::system_clock::time_point wall_{std::chrono::seconds(1711962000)};
  std::chrono::steady_clock::time_point monotonic_{std::chrono::hours(3)};
};

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_TESTS_UNIT_AGENT_RULES_FAKE_CLOCK_H_
