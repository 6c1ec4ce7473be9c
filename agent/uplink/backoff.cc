#include "agent/uplink/backoff.h"

#include <algorithm>

namespace atmhealth::agent {

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max,
                 std::uint64_t seed)
    : initial_(initial), max_(std::max(initial, max)), random_(seed) {}

std::chrono::milliseconds Backoff::Next() {
  // Cap the exponent before shifting so the ceiling cannot overflow.
  const int exponent = std::min(attempt_, 30);
  const std::int64_t ceiling =
      std::min<std::int64_t>(max_.count(), initial_.count() * (std::int64_t{1} << exponent));
  ++attempt_;
  std::uniform_int_distribution<std::int64_t> jitter(ceiling / 2, ceiling);
  return std::chrono::milliseconds(jitter(random_));
}

std::chrono::milliseconds Backoff::NotBefore(std::chrono::milliseconds hint) {
  std::uniform_int_distribution<std::int64_t> jitter(hint.count(), hint.count() * 3 / 2);
  return std::chrono::milliseconds(jitter(random_));
}

std::chrono::milliseconds Backoff::AfterSession(bool healthy,
                                                std::chrono::milliseconds retry_after) {
  if (healthy) Reset();
  const std::chrono::milliseconds delay = Next();
  if (retry_after <= std::chrono::milliseconds::zero()) return delay;
  return std::max(delay, NotBefore(retry_after));
}

}  // namespace atmhealth::agent
