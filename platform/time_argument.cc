#include "platform/time_argument.h"

#include <fmt/format.h>

#include <cctype>
#include <ctime>
#include <optional>
#include <string>

#include "platform/config_values.h"

namespace atmhealth::platform {
namespace {

constexpr char kForms[] =
    "a duration ago (\"30m\", \"2h\") or a date and time (\"2026-11-29 14:05\", "
    "\"2026-11-29T14:05:30+09:00\")";

// Reads `digits` decimal digits at `at`; nullopt when they are not there.
std::optional<int> Digits(std::string_view text, std::size_t& at, std::size_t digits) {
  if (at + digits > text.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    const char c = text[at + i];
    if (std::isdigit(static_cast<unsigned char>(c)) == 0) return std::nullopt;
    value = value * 10 + (c - '0');
  }
  at += digits;
  return value;
}

bool Take(std::string_view text, std::size_t& at, char expected) {
  if (at < text.size() && text[at] == expected) {
    ++at;
    return true;
  }
  return false;
}

}  // namespace

Result<std::int64_t> ParseTimeArgument(std::string_view text,
                                       std::chrono::system_clock::time_point now) {
  auto bad = [&](std::string_view why) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("\"{}\": {}; give {}", text, why, kForms));
  };
  if (text.empty()) return bad("empty");
  if (text.size() < 10 || text[4] != '-') {
    Result<std::chrono::milliseconds> ago = platform::ParseDuration(text);
    if (!ago.ok()) return bad(ago.error().message());
    return std::chrono::duration_cast<std::chrono::nanoseconds>((now - *ago).time_since_epoch())
        .count();
  }
  std::size_t at = 0;
  std::tm fields{};
  const auto year = Digits(text, at, 4);
  const bool dash1 = Take(text, at, '-');
  const auto month = Digits(text, at, 2);
  const bool dash2 = Take(text, at, '-');
  const auto day = Digits(text, at, 2);
  if (!year || !dash1 || !month || !dash2 || !day || *month < 1 || *month > 12 || *day < 1 ||
      *day > 31) {
    return bad("not a date YYYY-MM-DD");
  }
  fields.tm_year = *year - 1900;
  fields.tm_mon = *month - 1;
  fields.tm_mday = *day;
  if (Take(text, at, ' ') || Take(text, at, 'T')) {
    const auto hour = Digits(text, at, 2);
    const bool colon = Take(text, at, ':');
    const auto minute = Digits(text, at, 2);
    if (!hour || !colon || !minute || *hour > 23 || *minute > 59) return bad("not a time HH:MM");
    fields.tm_hour = *hour;
    fields.tm_min = *minute;
    if (Take(text, at, ':')) {
      const auto second = Digits(text, at, 2);
      if (!second || *second > 60) return bad("not a time HH:MM:SS");
      fields.tm_sec = *second;
    }
  }
  std::optional<int> offset_minutes;
  if (Take(text, at, 'Z')) {
    offset_minutes = 0;
  } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    const int sign = text[at] == '-' ? -1 : 1;
    ++at;
    const auto hours = Digits(text, at, 2);
    Take(text, at, ':');
    const auto minutes = Digits(text, at, 2);
    if (!hours || !minutes || *hours > 23 || *minutes > 59) return bad("not an offset +HH:MM");
    offset_minutes = sign * (*hours * 60 + *minutes);
  }
  if (at != text.size()) return bad("unexpected text after the time");
  std::time_t seconds;
  if (offset_minutes) {
    seconds = timegm(&fields) - static_cast<std::time_t>(*offset_minutes) * 60;
  } else {
    fields.tm_isdst = -1;  // the zone's rules decide
    seconds = std::mktime(&fields);
  }
  return static_cast<std::int64_t>(seconds) * 1'000'000'000;
}

}  // namespace atmhealth::platform
