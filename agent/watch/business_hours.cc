#include "agent/watch/business_hours.h"

#include <date/date.h>
#include <fmt/format.h>

#include <algorithm>
#include <sstream>

namespace atmhealth::agent {
namespace {

constexpr std::array<std::string_view, 7> kWeekdays = {"sun", "mon", "tue", "wed",
                                                       "thu", "fri", "sat"};

Result<std::int64_t> ParseLocalDate(const std::string& text) {
  std::istringstream in(text);
  date::year_month_day day{};
  in >> date::parse("%Y-%m-%d", day);
  if (in.fail() || in.peek() != std::char_traits<char>::eof() || !day.ok() || text.size() != 10) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("\"{}\" is not a date written YYYY-MM-DD", text));
  }
  return static_cast<std::int64_t>(date::local_days(day).time_since_epoch().count());
}

}  // namespace

Result<std::chrono::minutes> ParseTimeOfDay(std::string_view text) {
  const auto digit = [&](std::size_t i) { return text[i] >= '0' && text[i] <= '9'; };
  if (text.size() != 5 || text[2] != ':' || !digit(0) || !digit(1) || !digit(3) || !digit(4)) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("\"{}\" is not a time of day written HH:MM", text));
  }
  const int hours = (text[0] - '0') * 10 + (text[1] - '0');
  const int minutes = (text[3] - '0') * 10 + (text[4] - '0');
  if (minutes > 59 || hours > 24 || (hours == 24 && minutes != 0)) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("\"{}\" is not a time of day between 00:00 and 24:00", text));
  }
  return std::chrono::minutes(hours * 60 + minutes);
}

Result<int> ParseWeekday(std::string_view text) {
  for (std::size_t i = 0; i < kWeekdays.size(); ++i) {
    if (kWeekdays[i] == text) return static_cast<int>(i);
  }
  return Error(
      ErrorCode::kInvalidArgument,
      fmt::format("\"{}\" is not a day of the week (mon, tue, wed, thu, fri, sat, sun)", text));
}

Result<BusinessHours> BusinessHours::Create(std::string_view zone, std::array<bool, 7> days,
                                            std::chrono::minutes open, std::chrono::minutes close,
                                            std::vector<std::string> holidays) {
  auto located = platform::TimeZone::Locate(zone);
  if (!located.ok()) return located.error();
  BusinessHours hours(std::move(located).value());
  hours.days_ = days;
  hours.open_ = open;
  hours.close_ = close;
  for (const std::string& holiday : holidays) {
    auto day = ParseLocalDate(holiday);
    if (!day.ok()) return day.error();
    hours.holidays_.push_back(*day);
  }
  std::sort(hours.holidays_.begin(), hours.holidays_.end());
  hours.holiday_names_ = std::move(holidays);
  return hours;
}

bool BusinessHours::OpensOn(std::int64_t days_since_epoch) const {
  const date::weekday weekday{date::local_days(date::days(days_since_epoch))};
  return days_[weekday.c_encoding()] &&
         !std::binary_search(holidays_.begin(), holidays_.end(), days_since_epoch);
}

bool BusinessHours::Contains(std::chrono::system_clock::time_point at) const {
  const date::local_seconds local{zone_.LocalSinceEpoch(at)};
  const auto day = date::floor<date::days>(local);
  const auto time_of_day = date::floor<std::chrono::minutes>(local - day);
  const std::int64_t today = day.time_since_epoch().count();
  if (open_ < close_) return OpensOn(today) && time_of_day >= open_ && time_of_day < close_;
  // Hours past midnight: the evening of today's, or the small hours of
  // yesterday's.
  return (OpensOn(today) && time_of_day >= open_) || (OpensOn(today - 1) && time_of_day < close_);
}

std::string BusinessHours::Describe() const {
  std::string days;
  for (std::size_t i = 0; i < days_.size(); ++i) {
    if (!days_[i]) continue;
    if (!days.empty()) days += ",";
    days += kWeekdays[i];
  }
  const auto hhmm = [](std::chrono::minutes m) {
    return fmt::format("{:02}:{:02}", m.count() / 60, m.count() % 60);
  };
  return fmt::format(
      "{} {}-{} {}{}", days, hhmm(open_), hhmm(close_), zone_.name(),
      holiday_names_.empty() ? "" : fmt::format(", closed on {} holidays", holiday_names_.size()));
}

}  // namespace atmhealth::agent
