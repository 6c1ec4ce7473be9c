// When a branch or ATM is expected to carry transactions: opening hours on
// given days of the week in the device's local time zone, except holidays.
// A feed silent inside them is a stall; outside them silence is normal.
#ifndef ATMHEALTH_AGENT_WATCH_BUSINESS_HOURS_H_
#define ATMHEALTH_AGENT_WATCH_BUSINESS_HOURS_H_

#include <array>
#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "platform/status.h"
#include "platform/time_zone.h"

namespace atmhealth::agent {

class BusinessHours {
 public:
  // `zone`: an IANA time zone name ("Asia/Tokyo"), read from the system's
  // time zone database; `days` indexed by weekday, 0 = Sunday; `open` and
  // `close` since local midnight. Hours that close at or before they open run
  // past midnight into the next day (22:00 to 02:00 on a Friday ends on
  // Saturday at 02:00): they belong to the day they opened. Holidays are
  // local dates ("2026-12-31"); on a holiday the hours that open that day do
  // not happen.
  static Result<BusinessHours> Create(std::string_view zone, std::array<bool, 7> days,
                                      std::chrono::minutes open, std::chrono::minutes close,
                                      std::vector<std::string> holidays);

  // Whether `at` is inside business hours. Daylight saving time is the
  // zone's: 09:00 is 09:00 local on the day the clocks change.
  bool Contains(std::chrono::system_clock::time_point at) const;

  std::string Describe() const;
  const std::string& zone_name() const { return zone_.name(); }

 private:
  explicit BusinessHours(platform::TimeZone zone) : zone_(std::move(zone)) {}
  // Whether hours open on the local day `days_since_epoch`.
  bool OpensOn(std::int64_t days_since_epoch) const;

  platform::TimeZone zone_;
  std::array<bool, 7> days_{};
  std::chrono::minutes open_{0};
  std::chrono::minutes close_{0};
  std::vector<std::int64_t> holidays_;  // local days since 1970-01-01, sorted
  std::vector<std::string> holiday_names_;
};

// "08:30" as minutes since midnight; 00:00..24:00.
Result<std::chrono::minutes> ParseTimeOfDay(std::string_view text);
// "mon".."sun" as 0 = Sunday .. 6 = Saturday.
Result<int> ParseWeekday(std::string_view text);

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_WATCH_BUSINESS_HOURS_H_
