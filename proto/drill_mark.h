// How a drill's events are marked on the wire, for both ends: atmhealthctl
// drill sends a synthetic fault through the real pipeline, and every event of
// it carries both marks, so that the collector, its dashboard, its reports
// and plain SQL tell it from a real failure without a schema change.
#ifndef ATMHEALTH_PROTO_DRILL_MARK_H_
#define ATMHEALTH_PROTO_DRILL_MARK_H_

#include <string_view>

namespace atmhealth::wire {

// The event's summary starts with this.
inline constexpr std::string_view kDrillSummaryPrefix = "[DRILL] ";
// Its diagnostic context holds this key with the value "true" (at the
// collector: context_json ->> '$.drill').
inline constexpr std::string_view kDrillContextKey = "drill";

inline bool IsDrillSummary(std::string_view summary) {
  return summary.substr(0, kDrillSummaryPrefix.size()) == kDrillSummaryPrefix;
}

}  // namespace atmhealth::wire

#endif  // ATMHEALTH_PROTO_DRILL_MARK_H_
