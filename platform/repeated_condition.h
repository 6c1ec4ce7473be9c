// A condition that may last for hours — a full disk, a collector away — is
// logged when it starts, then summarised at most once per interval with how
// often it recurred, and once more when it ends: never a line per retry.
//
//   if (auto repeats = disk_full_.Occurred(count)) {
//     spdlog::warn("... {}", RepeatedCondition::Note(*repeats));
//   }
//   if (auto total = disk_full_.Cleared()) spdlog::info("... over after {} attempts", *total);
//
// The caller logs (and so chooses level and words); this only decides when.
#ifndef ATMHEALTH_PLATFORM_REPEATED_CONDITION_H_
#define ATMHEALTH_PLATFORM_REPEATED_CONDITION_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "platform/clock.h"

namespace atmhealth::platform {

// Not thread-safe: owned by the thread that sees the condition.
class RepeatedCondition {
 public:
  explicit RepeatedCondition(const Clock& clock,
                             std::chrono::milliseconds interval = std::chrono::minutes(1))
      : clock_(clock), interval_(interval) {}

  // The condition was seen `count` times more. Returns whether to log now:
  // the number of occurrences since the last line logged, this one included
  // (just `count` for the line that starts the condition), or nullopt to
  // stay quiet.
  std::optional<std::uint64_t> Occurred(std::uint64_t count = 1);

  // The condition is over. Returns how often it occurred in all, for a
  // closing line, or nullopt when it had not occurred since the last Cleared.
  std::optional<std::uint64_t> Cleared();

  bool active() const { return total_ > 0; }

  // " (N times since the last report)" for N > 1, "" otherwise: the tail of
  // a line logged when Occurred() said so.
  static std::string Note(std::uint64_t occurrences);

 private:
  const Clock& clock_;
  std::chrono::milliseconds interval_;
  std::optional<std::chrono::steady_clock::time_point> last_logged_;
  std::uint64_t since_logged_ = 0;  // occurrences not yet in a line
  std::uint64_t total_ = 0;         // occurrences since the condition started
};

}  // namespace atmhealth::platform

#endif  // ATMHEALTH_PLATFORM_REPEATED_CONDITION_H_
