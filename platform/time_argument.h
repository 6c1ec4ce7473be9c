// Points in time as an engineer types them on the command line.
#ifndef ATMHEALTH_PLATFORM_TIME_ARGUMENT_H_
#define ATMHEALTH_PLATFORM_TIME_ARGUMENT_H_

#include <chrono>
#include <cstdint>
#include <string_view>

#include "platform/status.h"

namespace atmhealth::platform {

// Nanoseconds since the Unix epoch for:
//   a duration ago: "30m", "2h" (platform::ParseDuration's units);
//   a local date and time: "2026-11-29 14:05", "2026-11-29T14:05:30",
//   "2026-11-29" (midnight), in the local time zone (TZ);
//   the same followed by "Z" or "+09:00" / "-0500": that offset from UTC.
Result<std::int64_t> ParseTimeArgument(std::string_view text,
                                       std::chrono::system_clock::time_point now);

}  // namespace atmhealth::platform

#endif  // ATMHEALTH_PLATFORM_TIME_ARGUMENT_H_
