// The transaction rate the device usually carries in each hour of the week,
// learned by the throughput watcher and kept in the agent's buffer file (the
// event store owns that file), so that a restart or a reboot does not forget
// weeks of learning.
#ifndef ATMHEALTH_AGENT_STORE_THROUGHPUT_BASELINE_H_
#define ATMHEALTH_AGENT_STORE_THROUGHPUT_BASELINE_H_

#include <cstdint>
#include <vector>

#include "platform/status.h"

namespace atmhealth::agent {

// One hour of the week in the watcher's time zone.
struct BaselineHour {
  static constexpr int kHoursPerWeek = 7 * 24;

  int hour_of_week = 0;     // 0 = Sunday 00:00-01:00 local .. 167 = Saturday 23:00-24:00
  std::uint32_t weeks = 0;  // how many times this hour was observed (at least half of it)
  double mean_tps = 0;      // its transactions per second, averaged over those weeks
};

// Where the baseline is kept. Not thread-safe: called from one thread.
class ThroughputBaselineStore {
 public:
  virtual ~ThroughputBaselineStore() = default;

  // Every hour ever saved, in hour order.
  virtual Result<std::vector<BaselineHour>> LoadThroughputBaseline() = 0;
  // Replaces the hour's row. kInvalidArgument for an hour outside 0..167.
  virtual Status SaveThroughputBaselineHour(const BaselineHour& hour) = 0;
};

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_STORE_THROUGHPUT_BASELINE_H_
