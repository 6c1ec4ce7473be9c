// What a watcher reports: one measured value of one subject, and for watchers
// of redundant things the state the subject is in.
#ifndef ATMHEALTH_AGENT_WATCH_MEASUREMENT_H_
#define ATMHEALTH_AGENT_WATCH_MEASUREMENT_H_

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "atmhealth/v1/event.pb.h"

namespace atmhealth::agent {

// The states of anything built to survive one failure: a RAID array, a bond,
// a link group, an active/standby pair, a cluster.
enum class RedundancyState {
  kRedundant,   // every part works: one can fail without customers noticing
  kDegraded,    // running without a spare: the next failure takes the service down
  kRecovering,  // redundancy being rebuilt (a RAID array resyncing onto a spare): not yet safe
  kFailedOver,  // the standby took over; the service runs on it without a spare
  kSplitBrain,  // both sides act as active: data may diverge
  kDown,        // the service is gone
};
inline constexpr std::size_t kRedundancyStateCount = 6;
inline constexpr std::array<RedundancyState, kRedundancyStateCount> kRedundancyStates = {
    RedundancyState::kRedundant,  RedundancyState::kDegraded,   RedundancyState::kRecovering,
    RedundancyState::kFailedOver, RedundancyState::kSplitBrain, RedundancyState::kDown};

// "redundant", "degraded", "recovering", "failed_over", "split_brain", "down": the names of
// config keys and of the "state" context entry of events.
std::string_view RedundancyStateName(RedundancyState state);
std::optional<RedundancyState> ParseRedundancyState(std::string_view name);

// One measured value of one subject, e.g. "percent used of /var".
struct Measurement {
  Measurement() = default;
  Measurement(v1::AlertKind kind_, std::string subject_, double value_, v1::Unit unit_,
              std::vector<std::pair<std::string, std::string>> context_ = {})
      : kind(kind_),
        subject(std::move(subject_)),
        value(value_),
        unit(unit_),
        context(std::move(context_)) {}

  v1::AlertKind kind = v1::ALERT_KIND_UNSPECIFIED;
  std::string subject;  // mount path, array name, link group, ...
  double value = 0;     // in `unit`
  v1::Unit unit = v1::UNIT_UNSPECIFIED;
  // Diagnostic snapshot attached to the event if this measurement makes an
  // alert fire: (key, value) pairs, a handful at most.
  std::vector<std::pair<std::string, std::string>> context;
  // For a state rule: the state the subject is in. Threshold rules ignore it.
  std::optional<RedundancyState> state;
  // For a state rule: what `value` is when the subject is redundant (members
  // of an array, links of a group), in `unit`; the event's threshold.
  double expected = 0;
  // For a change rule: what identifies the content ("sha256:<hex>",
  // "missing"). Other rules ignore it.
  std::string fingerprint;
  // For a state rule: one short line it adds to the summary of the event it
  // makes (a command check's first line of output). Empty: none.
  std::string detail;
};

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_WATCH_MEASUREMENT_H_
