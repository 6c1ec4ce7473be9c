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
  // The wait before the next attempt once a session (or an attempt to open
  // one) ended: the backoff starts over after a healthy session, and a
  // collector's retry hint (`retry_after`, zero when none) is never
  // undercut, spread as NotBefore() says. The one rule for atmhealthd's
  // uplink and for tools that reconnect as it does.
  std::chrono::milliseconds AfterSession(bool healthy, std::chrono::milliseconds retry_after);
  int attempt() const { return attempt_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  int attempt_ = 0;
  std::mt19937_64 random_;
};

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_UPLINK_BACKOFF_H_
