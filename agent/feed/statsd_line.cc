#include "agent/feed/statsd_line.h"

#include <charconv>
#include <cmath>
#include <system_error>

namespace atmhealth::agent::feed {
namespace {

// Printable ASCII except the separators of the format.
bool IsNameChar(char c) { return c > ' ' && c < 0x7f && c != ':' && c != '|' && c != '@'; }
bool IsTagChar(char c) { return c > ' ' && c < 0x7f && c != ',' && c != '|'; }

// A finite decimal number, the whole of `text`. from_chars accepts "inf" and
// "nan": those are refused here.
bool ParseNumber(std::string_view text, double& out) {
  if (text.empty()) return false;
  const char* begin = text.data();
  const char* end = begin + text.size();
  if (*begin == '+') ++begin;  // from_chars takes '-' only
  if (begin == end || !((*begin >= '0' && *begin <= '9') || *begin == '-' || *begin == '.')) {
    return false;
  }
  const auto [ptr, ec] = std::from_chars(begin, end, out);
  return ec == std::errc() && ptr == end && std::isfinite(out);
}

bool ParseType(std::string_view text, MetricType& out) {
  if (text == "c") {
    out = MetricType::kCounter;
  } else if (text == "ms") {
    out = MetricType::kTimer;
  } else if (text == "g") {
    out = MetricType::kGauge;
  } else if (text == "h") {
    out = MetricType::kHistogram;
  } else if (text == "d") {
    out = MetricType::kDistribution;
  } else if (text == "s") {
    out = MetricType::kSet;
  } else {
    return false;
  }
  return true;
}

LineError ParseTags(std::string_view text, StatsdLine& out) {
  while (true) {
    const std::size_t comma = text.find(',');
    const std::string_view tag = text.substr(0, comma);
    const std::size_t colon = tag.find(':');
    if (colon == 0 || colon == std::string_view::npos) return LineError::kBadTag;
    for (char c : tag) {
      if (!IsTagChar(c)) return LineError::kBadTag;
    }
    if (out.tag_count == kMaxTags) return LineError::kTooManyTags;
    out.tags[out.tag_count++] = Tag{tag.substr(0, colon), tag.substr(colon + 1)};
    if (comma == std::string_view::npos) return LineError::kNone;
    text.remove_prefix(comma + 1);
  }
}

}  // namespace

std::string_view LineErrorName(LineError error) {
  switch (error) {
    case LineError::kNone:
      return "none";
    case LineError::kLineTooLong:
      return "line_too_long";
    case LineError::kNoValue:
      return "no_value";
    case LineError::kNoType:
      return "no_type";
    case LineError::kBadName:
      return "bad_name";
    case LineError::kBadValue:
      return "bad_value";
    case LineError::kBadType:
      return "bad_type";
    case LineError::kBadSampleRate:
      return "bad_sample_rate";
    case LineError::kBadTag:
      return "bad_tag";
    case LineError::kTooManyTags:
      return "too_many_tags";
    case LineError::kUnknownSection:
      return "unknown_section";
    case LineError::kTruncated:
      return "truncated";
  }
  return "unknown";
}

std::string_view StatsdLine::TagValue(std::string_view key) const {
  for (std::size_t i = 0; i < tag_count; ++i) {
    if (tags[i].key == key) return tags[i].value;
  }
  return {};
}

LineError ParseStatsdLine(std::string_view line, StatsdLine& out) {
  if (line.size() > kMaxLineBytes) return LineError::kLineTooLong;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  out.tag_count = 0;
  out.sample_rate = 1;
  out.gauge_delta = false;
  out.value = 0;

  const std::size_t colon = line.find(':');
  const std::size_t first_bar = line.find('|');
  if (colon == std::string_view::npos || (first_bar != std::string_view::npos && first_bar < colon))
    return LineError::kNoValue;
  out.name = line.substr(0, colon);
  if (out.name.empty()) return LineError::kBadName;
  for (char c : out.name) {
    if (!IsNameChar(c)) return LineError::kBadName;
  }
  std::string_view rest = line.substr(colon + 1);
  const std::size_t bar = rest.find('|');
  if (bar == std::string_view::npos) return LineError::kNoType;
  out.raw_value = rest.substr(0, bar);
  rest.remove_prefix(bar + 1);

  const std::size_t type_end = rest.find('|');
  if (!ParseType(rest.substr(0, type_end), out.type)) return LineError::kBadType;

  if (out.type == MetricType::kSet) {
    if (out.raw_value.empty()) return LineError::kBadValue;
    for (char c : out.raw_value) {
      if (!IsNameChar(c)) return LineError::kBadValue;
    }
  } else {
    if (!ParseNumber(out.raw_value, out.value)) return LineError::kBadValue;
    const char sign = out.raw_value.front();
    if (out.type == MetricType::kGauge) {
      out.gauge_delta = sign == '+' || sign == '-';
    } else if (out.value < 0 &&
               (out.type == MetricType::kTimer || out.type == MetricType::kCounter)) {
      // A negative duration is a broken clock; a negative transaction count
      // means nothing. Both would corrupt the measures.
      return LineError::kBadValue;
    }
  }
  if (type_end == std::string_view::npos) return LineError::kNone;

  // The optional sections, each once, in any order; none may be empty.
  std::string_view sections = rest.substr(type_end + 1);
  bool seen_rate = false;
  bool seen_tags = false;
  while (true) {
    const std::size_t end = sections.find('|');
    const std::string_view section = sections.substr(0, end);
    if (section.empty()) return LineError::kUnknownSection;
    if (section.front() == '@' && !seen_rate) {
      seen_rate = true;
      if (!ParseNumber(section.substr(1), out.sample_rate) || !(out.sample_rate > 0) ||
          out.sample_rate > 1) {
        return LineError::kBadSampleRate;
      }
    } else if (section.front() == '#' && !seen_tags) {
      seen_tags = true;
      if (const LineError e = ParseTags(section.substr(1), out); e != LineError::kNone) return e;
    } else if (section.size() >= 2 && section[0] == 'c' && section[1] == ':') {
      // DogStatsD container id: not ours to use.
    } else if (section.front() == 'T') {
      // DogStatsD timestamp: the agent counts by arrival time instead.
    } else {
      return LineError::kUnknownSection;
    }
    if (end == std::string_view::npos) break;
    sections.remove_prefix(end + 1);
  }
  return LineError::kNone;
}

}  // namespace atmhealth::agent::feed
