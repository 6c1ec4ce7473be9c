// How atmhealthctl shows events: an aligned table for people (local time
// with its zone, colour only when asked for, text from outside with its
// control characters escaped), JSON lines or CSV for scripts.
#ifndef ATMHEALTH_TOOLS_CTL_EVENT_OUTPUT_H_
#define ATMHEALTH_TOOLS_CTL_EVENT_OUTPUT_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "tools/ctl/event_history.h"

namespace atmhealth::ctl {

enum class EventFormat { kTable, kJson, kCsv };

struct OutputStyle {
  EventFormat format = EventFormat::kTable;
  bool colour = false;  // ANSI colours in the table: severity and state
  bool header = true;   // the table's or the CSV's first line
};

// ANSI colours of the tables, used only on a terminal or when asked for.
inline constexpr char kReset[] = "\x1b[0m";
inline constexpr char kRed[] = "\x1b[1;31m";
inline constexpr char kYellow[] = "\x1b[33m";
inline constexpr char kGreen[] = "\x1b[32m";

// "73.24 %", "12 /s": a value with its unit; "-" for none.
std::string Measured(double value, v1::Unit unit);

// "2026-11-29 23:14:05 JST": the wall time in the local time zone (TZ).
std::string LocalTime(std::int64_t unix_ns);
// "2026-11-29T14:14:05.123Z".
std::string UtcTime(std::int64_t unix_ns);

// Writes `events` in `style`. The table's columns are as wide as the widest
// cell of these events; JSON is one object per line; CSV quotes as RFC 4180.
void WriteEvents(std::ostream& out, const std::vector<StoredEvent>& events,
                 const OutputStyle& style);

}  // namespace atmhealth::ctl

#endif  // ATMHEALTH_TOOLS_CTL_EVENT_OUTPUT_H_
