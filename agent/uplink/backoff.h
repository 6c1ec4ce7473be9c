// Exponential backoff with jitter between reconnect attempts, so that a fleet
// of agents cut off together does not reconnect together.
#ifndef ATMHEALTH_AGENT_UPLINK_BACKOFF_H_
#define ATMHEALTH_AGENT_UPLINK_BACKOFF_H_

#include <chrono>
#include <cstdint>
#include <random>

namespace atmhealth::agent {

class Backoff {
 public:
  // Delays grow as initial * 2^attempt up to `max`; each delay is drawn
  // uniformly from [ceiling / 2, ceiling] ("equal jitter").
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, std::uint64_t seed);

  std::chrono::milliseconds Next();
  // A delay of at least `hint` (a collector's retry_after), drawn uniformly
  // from [hint, 1.5 x hint], so that agents refused together come back
  // spread over half the hint again.
  std::chrono::milliseconds NotBefore(std::chrono::milliseconds hint);
  // After a session that got through the handshake.
  void Reset() { attempt_ = 0; }
  int attempt() const { return attempt_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  int attempt_ = 0;
  std::mt19937_64 random_;
};

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_UPLINK_BACKOFF_H_
