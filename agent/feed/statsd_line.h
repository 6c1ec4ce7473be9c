// The StatsD / DogStatsD line format, as ATM and branch applications send
// their transaction feed:
//   <name>:<value>|<type>[|@<sample rate>][|#<key>:<value>,<key>:<value>...]
// e.g. `atm.tx:1|c|#type:withdrawal,result:ok`, `atm.tx.latency:182|ms`.
// Several lines per datagram, separated by '\n' (platform::TextLines splits
// them).
//
// Parsing never allocates: a parsed line points into the caller's buffer, and
// both its length and its number of tags are bounded, so a hostile or broken
// sender costs a counted error, never memory.
#ifndef ATMHEALTH_AGENT_FEED_STATSD_LINE_H_
#define ATMHEALTH_AGENT_FEED_STATSD_LINE_H_

#include <array>
#include <cstddef>
#include <string_view>

namespace atmhealth::agent::feed {

// A line longer than this is refused (kLineTooLong). StatsD clients keep a
// whole datagram under 1,432 bytes (UDP) or 8 KiB (Unix socket); one metric
// line of a transaction feed is well under 200.
inline constexpr std::size_t kMaxLineBytes = 1024;
// A line with more tags than this is refused (kTooManyTags).
inline constexpr std::size_t kMaxTags = 16;

enum class MetricType {
  kCounter,       // c: add value / sample rate
  kTimer,         // ms: a duration in milliseconds
  kGauge,         // g: a level; a leading '+' or '-' makes it a change
  kHistogram,     // h: a sampled value
  kDistribution,  // d: a sampled value (DogStatsD)
  kSet,           // s: a distinct value (not numeric)
};

// Why a line was refused. Counted per reason; the names are stable (they
// appear in logs and in the agent's health).
enum class LineError {
  kNone = 0,
  kLineTooLong,     // longer than kMaxLineBytes
  kNoValue,         // no ':' after the name
  kNoType,          // no '|' after the value
  kBadName,         // empty, or a character that is not printable ASCII
  kBadValue,        // not a finite number, or negative where it cannot be
  kBadType,         // not one of c, ms, g, h, d, s
  kBadSampleRate,   // "@" not followed by a number in (0, 1]
  kBadTag,          // a tag that is not key:value, or with an empty key
  kTooManyTags,     // more than kMaxTags
  kUnknownSection,  // a "|..." section that is none of @rate, #tags, c:, T
  kTruncated,       // cut off at the end of a datagram larger than the receiver takes
};
inline constexpr std::size_t kLineErrorCount = 12;

// "line_too_long", "bad_value", ...
std::string_view LineErrorName(LineError error);

struct Tag {
  std::string_view key;
  std::string_view value;
};

// One parsed line. Views point into the parsed text: valid while it is.
struct StatsdLine {
  std::string_view name;
  std::string_view raw_value;  // the value as sent (for sets)
  double value = 0;            // for every type but kSet
  bool gauge_delta = false;    // a gauge value with a leading sign
  MetricType type = MetricType::kCounter;
  double sample_rate = 1;  // in (0, 1]
  std::array<Tag, kMaxTags> tags;
  std::size_t tag_count = 0;

  // The value of tag `key`, or empty if the line has no such tag.
  std::string_view TagValue(std::string_view key) const;
};

// Parses one line (without its '\n'; a trailing '\r' is ignored). On an
// error `out` holds whatever was parsed before it and must not be used.
LineError ParseStatsdLine(std::string_view line, StatsdLine& out);

}  // namespace atmhealth::agent::feed

#endif  // ATMHEALTH_AGENT_FEED_STATSD_LINE_H_
