#include "agent/control/drill.h"

namespace atmhealth::agent::control {
namespace {

std::vector<std::pair<std::string, std::string>> DrillContext(DrillKind kind) {
  return {{std::string(kDrillContextKey), "true"},
          {"drill_note", "synthetic fault from atmhealthctl drill " +
                             std::string(DrillKindName(kind)) + "; not a real failure"}};
}

}  // namespace

std::optional<DrillKind> ParseDrillKind(std::string_view name) {
  if (name == "storage") return DrillKind::kStorage;
  if (name == "redundancy") return DrillKind::kRedundancy;
  if (name == "throughput") return DrillKind::kThroughput;
  return std::nullopt;
}

std::string_view DrillKindName(DrillKind kind) {
  switch (kind) {
    case DrillKind::kStorage:
      return "storage";
    case DrillKind::kRedundancy:
      return "redundancy";
    case DrillKind::kThroughput:
      return "throughput";
  }
  return "storage";
}

DrillPlan MakeDrill(DrillKind kind, const std::string& id) {
  const std::string subject = "drill-" + id;
  switch (kind) {
    case DrillKind::kRedundancy: {
      // A mirrored array that lost a member while still serving.
      StateSpec spec(v1::FAILURE_CATEGORY_DAILY_OPERATION_REDUNDANCY);
      spec.outcome(RedundancyState::kDegraded).severity = v1::SEVERITY_CRITICAL;
      Measurement fault(v1::ALERT_KIND_RAID, subject, 1, v1::UNIT_COUNT, DrillContext(kind));
      fault.state = RedundancyState::kDegraded;
      fault.expected = 2;
      Measurement cleared(v1::ALERT_KIND_RAID, subject, 2, v1::UNIT_COUNT);
      cleared.state = RedundancyState::kRedundant;
      cleared.expected = 2;
      return DrillPlan{RuleDefinition{v1::ALERT_KIND_RAID, subject, spec}, fault, cleared,
                       AlertKey(v1::ALERT_KIND_RAID, subject)};
    }
    case DrillKind::kThroughput: {
      // Transactions beyond the configured capacity.
      ThresholdSpec spec(v1::FAILURE_CATEGORY_DAILY_OPERATION_VOLUME);
      spec.warning = 80;
      spec.critical = 100;
      const auto k = v1::ALERT_KIND_THROUGHPUT_CAPACITY;
      return DrillPlan{RuleDefinition{k, subject, spec},
                       Measurement(k, subject, 120, v1::UNIT_PERCENT, DrillContext(kind)),
                       Measurement(k, subject, 20, v1::UNIT_PERCENT), AlertKey(k, subject)};
    }
    case DrillKind::kStorage:
      break;
  }
  // A filesystem past its critical level.
  ThresholdSpec spec(v1::FAILURE_CATEGORY_DAILY_OPERATION_STORAGE);
  spec.warning = 80;
  spec.critical = 90;
  const auto k = v1::ALERT_KIND_STORAGE;
  return DrillPlan{RuleDefinition{k, subject, spec},
                   Measurement(k, subject, 95, v1::UNIT_PERCENT, DrillContext(kind)),
                   Measurement(k, subject, 10, v1::UNIT_PERCENT), AlertKey(k, subject)};
}

void MarkDrillEvents(const std::string& alert_key, std::vector<v1::Event>& events) {
  for (v1::Event& event : events) {
    if (event.alert_key() != alert_key) continue;
    bool marked = false;
    for (const v1::ContextEntry& entry : event.context()) marked |= entry.key() == kDrillContextKey;
    if (!marked) {
      v1::ContextEntry* entry = event.add_context();
      entry->set_key(std::string(kDrillContextKey));
      entry->set_value("true");
    }
    event.set_summary(std::string(kDrillSummaryPrefix) + event.summary());
  }
}

}  // namespace atmhealth::agent::control
