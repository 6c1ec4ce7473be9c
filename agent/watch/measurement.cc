#include "agent/watch/measurement.h"

namespace atmhealth::agent {

std::string_view RedundancyStateName(RedundancyState state) {
  switch (state) {
    case RedundancyState::kRedundant:
      return "redundant";
    case RedundancyState::kDegraded:
      return "degraded";
    case RedundancyState::kRecovering:
      return "recovering";
    case RedundancyState::kFailedOver:
      return "failed_over";
    case RedundancyState::kSplitBrain:
      return "split_brain";
    case RedundancyState::kDown:
      return "down";
  }
  return "unknown";
}

std::optional<RedundancyState> ParseRedundancyState(std::string_view name) {
  for (RedundancyState state : kRedundancyStates) {
    if (RedundancyStateName(state) == name) return state;
  }
  return std::nullopt;
}

}  // namespace atmhealth::agent
