// Time, injectable so tests can run simulated time (Envoy style).
#ifndef ATMHEALTH_PLATFORM_CLOCK_H_
#define ATMHEALTH_PLATFORM_CLOCK_H_

#include <chrono>
#include <cstdint>
#include <string>

namespace atmhealth::platform {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall clock, may jump (NTP, operator). For timestamps people read.
  virtual std::chrono::system_clock::time_point WallNow() const = 0;
  // Never goes back. For durations, "for" windows and ages.
  virtual std::chrono::steady_clock::time_point MonotonicNow() const = 0;

  // The process-wide real clock.
  static Clock& Real();
};

inline std::int64_t UnixNanos(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
inline std::int64_t MonotonicNanos(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// The id of the current boot (Linux /proc/sys/kernel/random/boot_id), so that
// monotonic timestamps from different boots are never compared. Empty when
// the platform has none.
std::string BootId();

}  // namespace atmhealth::platform

#endif  // ATMHEALTH_PLATFORM_CLOCK_H_
