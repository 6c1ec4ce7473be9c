// A drill: a clearly marked synthetic fault sent through the real pipeline —
// the daemon's rules, the buffer, the uplink, the collector — to prove that
// an alert of that kind gets out, and how fast the collector acknowledges it
// (the FSA asks for drills that prove the response works). Every event of a
// drill is marked twice, so that dashboards, reports and SQL tell it apart
// without a schema change: its summary starts with "[DRILL] " and its
// diagnostic context has drill = "true" (at the collector:
// context_json ->> '$.drill'). A drill takes no customer service away.
#ifndef ATMHEALTH_AGENT_CONTROL_DRILL_H_
#define ATMHEALTH_AGENT_CONTROL_DRILL_H_

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/rules/rule.h"
#include "agent/watch/measurement.h"
#include "proto/drill_mark.h"

namespace atmhealth::agent::control {

// The FSA daily-operation causes a drill can stand for.
enum class DrillKind { kStorage, kRedundancy, kThroughput };

// "storage", "redundancy", "throughput"; nullopt for anything else.
std::optional<DrillKind> ParseDrillKind(std::string_view name);
std::string_view DrillKindName(DrillKind kind);

using wire::kDrillContextKey;
using wire::kDrillSummaryPrefix;

// The owner of drill rules in the RuleSet: one drill at a time.
inline constexpr std::string_view kDrillOwner = "drill";

// The rule a drill declares, and the measurements that fire and then clear it.
struct DrillPlan {
  RuleDefinition rule;
  Measurement fault;
  Measurement cleared;
  std::string alert_key;
};

// A drill of `kind` whose subject is "drill-<id>" (id: e.g. a UTC time).
DrillPlan MakeDrill(DrillKind kind, const std::string& id);

// Marks the events of the drill's alert as drill events (summary prefix and
// context entry).
void MarkDrillEvents(const std::string& alert_key, std::vector<v1::Event>& events);

}  // namespace atmhealth::agent::control

#endif  // ATMHEALTH_AGENT_CONTROL_DRILL_H_
