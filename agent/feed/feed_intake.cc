#include "agent/feed/feed_intake.h"

#include <spdlog/spdlog.h>

#include <utility>

namespace atmhealth::agent::feed {

FeedIntake::FeedIntake(MeterOptions options, const platform::Clock& clock)
    : clock_(clock), meter_(std::move(options), clock.MonotonicNow()) {}

void FeedIntake::CountBadLine(LineError error, std::size_t line_in_datagram,
                              std::size_t line_bytes) {
  ++counters_.bad_lines;
  ++counters_.bad_lines_by_reason[static_cast<std::size_t>(error)];
  // The line itself is not logged: it is whatever a sender wrote, and the
  // reason and size say what was wrong without copying it into the journal.
  if (counters_.bad_lines <= kLoggedBadLines) {
    spdlog::warn("transaction feed: datagram {} line {} refused: {} ({} bytes){}",
                 counters_.datagrams, line_in_datagram, LineErrorName(error), line_bytes,
                 counters_.bad_lines == kLoggedBadLines
                     ? "; further bad lines are counted, not logged"
                     : "");
  }
}

void FeedIntake::Datagram(std::string_view bytes, bool truncated) {
  std::string_view cut;
  if (truncated) {
    // The last line is incomplete; the ones before it are whole.
    const std::size_t last_newline = bytes.rfind('\n');
    cut = last_newline == std::string_view::npos ? bytes : bytes.substr(last_newline + 1);
    bytes =
        last_newline == std::string_view::npos ? std::string_view() : bytes.substr(0, last_newline);
  }
  std::lock_guard lock(mutex_);
  // Arrival time, once per datagram (its lines were sent together), read
  // under the lock so the meter never sees time go back.
  const auto now = clock_.MonotonicNow();
  ++counters_.datagrams;
  if (truncated) ++counters_.truncated_datagrams;
  std::size_t line_in_datagram = 0;
  ForEachLine(bytes, [&](std::string_view text) {
    ++counters_.lines;
    ++line_in_datagram;
    if (const LineError error = ParseStatsdLine(text, line_); error != LineError::kNone) {
      CountBadLine(error, line_in_datagram, text.size());
      return;
    }
    switch (meter_.Record(line_, now)) {
      case LineUse::kTransaction:
        ++counters_.transaction_lines;
        break;
      case LineUse::kLatency:
        ++counters_.latency_lines;
        break;
      case LineUse::kIgnored:
        ++counters_.ignored_lines;
        break;
    }
  });
  if (truncated) {
    ++counters_.lines;
    CountBadLine(LineError::kTruncated, line_in_datagram + 1, cut.size());
  }
}

FeedCounters FeedIntake::counters() const {
  std::lock_guard lock(mutex_);
  FeedCounters counters = counters_;
  counters.excess_type_lines = meter_.excess_type_lines();
  return counters;
}

MeterReport FeedIntake::Measure() const {
  const auto now = clock_.MonotonicNow();
  std::lock_guard lock(mutex_);
  return meter_.Measure(now);
}

std::size_t FeedIntake::MemoryBytes() const {
  std::lock_guard lock(mutex_);
  return sizeof(*this) + meter_.MemoryBytes() - sizeof(meter_);
}

}  // namespace atmhealth::agent::feed
