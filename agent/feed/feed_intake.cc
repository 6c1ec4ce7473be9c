#include "agent/feed/feed_intake.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "platform/text_input.h"

namespace atmhealth::agent::feed {

FeedIntake::FeedIntake(MeterOptions options, const platform::Clock& clock)
    : clock_(clock), meter_(std::move(options), clock.MonotonicNow()) {}

void FeedIntake::CountBadLine(LineError error, int line_in_datagram, std::string_view line) {
  ++counters_.bad_lines;
  ++counters_.bad_lines_by_reason[static_cast<std::size_t>(error)];
  // The line is quoted cut short and with control bytes masked: it is
  // whatever a sender wrote.
  if (counters_.bad_lines <= kLoggedBadLines) {
    spdlog::warn(
        "transaction feed: datagram {} line {} refused: {} ({} bytes: {}){}", counters_.datagrams,
        line_in_datagram, LineErrorName(error), line.size(), platform::QuoteForError(line),
        counters_.bad_lines == kLoggedBadLines ? "; further bad lines are counted, not logged"
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
  platform::TextLines lines(bytes);
  while (const auto text = lines.Next()) {
    if (text->empty()) continue;
    ++counters_.lines;
    if (const LineError error = ParseStatsdLine(*text, line_); error != LineError::kNone) {
      CountBadLine(error, lines.number(), *text);
      continue;
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
  }
  if (truncated) {
    ++counters_.lines;
    CountBadLine(LineError::kTruncated, lines.number() + 1, cut);
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
