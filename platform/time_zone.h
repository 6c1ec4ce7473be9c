// A time zone of the system's time zone database (tzdata's
// /usr/share/zoneinfo, or TZDIR), read with abseil's cctz: every transition
// of the zone's TZif file and its rule for the years after the last one.
#ifndef ATMHEALTH_PLATFORM_TIME_ZONE_H_
#define ATMHEALTH_PLATFORM_TIME_ZONE_H_

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "platform/status.h"

namespace atmhealth::platform {

class TimeZone {
 public:
  // `name`: an IANA name ("Asia/Tokyo", "UTC") of the database.
  static Result<TimeZone> Locate(std::string_view name);

  // The local wall-clock time of `at`, as seconds since 1970-01-01 00:00
  // local: `at` plus the zone's UTC offset at that instant, daylight saving
  // time included.
  std::chrono::seconds LocalSinceEpoch(std::chrono::system_clock::time_point at) const;

  const std::string& name() const { return name_; }

 private:
  struct Zone;
  TimeZone() = default;
  std::shared_ptr<const Zone> zone_;
  std::string name_;
};

// The system's time zone (/etc/localtime, else /etc/timezone) as an IANA
// name; "UTC" when the system names none.
std::string SystemTimeZoneName();

}  // namespace atmhealth::platform

#endif  // ATMHEALTH_PLATFORM_TIME_ZONE_H_
