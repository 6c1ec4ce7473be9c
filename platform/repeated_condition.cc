#include "platform/repeated_condition.h"

#include <fmt/format.h>

#include <utility>

namespace atmhealth::platform {

std::optional<std::uint64_t> RepeatedCondition::Occurred(std::uint64_t count) {
  const bool starting = total_ == 0;
  total_ += count;
  since_logged_ += count;
  const auto now = clock_.MonotonicNow();
  if (!starting && last_logged_ && now - *last_logged_ < interval_) return std::nullopt;
  last_logged_ = now;
  return std::exchange(since_logged_, 0);
}

std::optional<std::uint64_t> RepeatedCondition::Cleared() {
  if (total_ == 0) return std::nullopt;
  since_logged_ = 0;
  last_logged_.reset();
  return std::exchange(total_, 0);
}

std::string RepeatedCondition::Note(std::uint64_t occurrences) {
  if (occurrences <= 1) return "";
  return fmt::format(" ({} times since the last report)", occurrences);
}

}  // namespace atmhealth::platform
