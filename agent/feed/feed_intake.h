// Where the transaction feed's datagrams go: each is split into lines, each
// line parsed and handed to the TransactionMeter. Bad lines are counted by
// reason and the first few are logged with what was wrong; nothing a sender
// writes is ever fatal.
//
// Thread-safe: a receiver thread calls Datagram() while the sampler reads
// Measure() and counters(); one lock per datagram, not per line.
#ifndef ATMHEALTH_AGENT_FEED_FEED_INTAKE_H_
#define ATMHEALTH_AGENT_FEED_FEED_INTAKE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string_view>

#include "agent/feed/statsd_line.h"
#include "agent/feed/transaction_meter.h"
#include "platform/clock.h"

namespace atmhealth::agent::feed {

struct FeedCounters {
  std::uint64_t datagrams = 0;
  std::uint64_t truncated_datagrams = 0;  // larger than the receiver takes
  std::uint64_t lines = 0;                // every line, good or bad
  std::uint64_t transaction_lines = 0;
  std::uint64_t latency_lines = 0;
  std::uint64_t ignored_lines = 0;  // well-formed, but no metric of the schema
  std::uint64_t bad_lines = 0;
  std::array<std::uint64_t, kLineErrorCount> bad_lines_by_reason{};  // by LineError
  std::uint64_t excess_type_lines = 0;  // of a type beyond the meter's cap
};

class FeedIntake {
 public:
  // How many bad lines are logged one by one before they are only counted.
  static constexpr std::uint64_t kLoggedBadLines = 10;

  // `clock` is not owned and must outlive the intake.
  FeedIntake(MeterOptions options, const platform::Clock& clock);

  // One datagram as received. `truncated`: the sender wrote more than the
  // receiver takes; the line cut off at the end is counted as kTruncated.
  void Datagram(std::string_view bytes, bool truncated = false);

  FeedCounters counters() const;
  MeterReport Measure() const;
  std::size_t MemoryBytes() const;

 private:
  void CountBadLine(LineError error, int line_in_datagram, std::string_view line);

  const platform::Clock& clock_;
  mutable std::mutex mutex_;
  TransactionMeter meter_;  // guarded by mutex_
  FeedCounters counters_;   // guarded by mutex_
  StatsdLine line_;         // guarded by mutex_; reused so parsing never allocates
};

}  // namespace atmhealth::agent::feed

#endif  // ATMHEALTH_AGENT_FEED_FEED_INTAKE_H_
