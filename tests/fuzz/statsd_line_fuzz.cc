// Arbitrary bytes as one transaction-feed datagram: every line is either
// parsed within the bounds or refused with a reason; the intake counts each
// line exactly once. Never a crash.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "agent/feed/feed_intake.h"
#include "agent/feed/statsd_line.h"
#include "platform/clock.h"
#include "platform/text_input.h"

namespace {

using namespace atmhealth::agent::feed;

void CheckLine(std::string_view text) {
  StatsdLine line;
  const LineError error = ParseStatsdLine(text, line);
  if (error == LineError::kLineTooLong && text.size() <= kMaxLineBytes) std::abort();
  if (error != LineError::kNone) return;
  if (text.size() > kMaxLineBytes || line.tag_count > kMaxTags || line.name.empty()) std::abort();
  if (!(line.sample_rate > 0 && line.sample_rate <= 1)) std::abort();
  // Every view points into the line.
  const char* begin = text.data();
  const char* end = begin + text.size();
  auto inside = [&](std::string_view part) {
    return part.empty() || (part.data() >= begin && part.data() + part.size() <= end);
  };
  if (!inside(line.name) || !inside(line.raw_value)) std::abort();
  for (std::size_t i = 0; i < line.tag_count; ++i) {
    if (line.tags[i].key.empty() || !inside(line.tags[i].key) || !inside(line.tags[i].value))
      std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view datagram(reinterpret_cast<const char*>(data), size);
  std::uint64_t lines = 0;
  atmhealth::platform::TextLines split(datagram);
  while (const auto text = split.Next()) {
    if (text->empty()) continue;
    ++lines;
    CheckLine(*text);
  }

  static FeedIntake intake(MeterOptions{}, atmhealth::platform::Clock::Real());
  const FeedCounters before = intake.counters();
  intake.Datagram(datagram, size % 7 == 0);
  const FeedCounters after = intake.counters();
  const std::uint64_t counted = after.lines - before.lines;
  const std::uint64_t sorted = (after.transaction_lines - before.transaction_lines) +
                               (after.latency_lines - before.latency_lines) +
                               (after.ignored_lines - before.ignored_lines) +
                               (after.bad_lines - before.bad_lines);
  if (counted != sorted) std::abort();
  if (size % 7 != 0 && counted != lines) std::abort();
  (void)intake.Measure();
  return 0;
}
