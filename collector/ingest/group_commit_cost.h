// What a group commit of the collector's store costs, learnt from the groups
// it ran, so that the store executor can tell how long its queue takes to
// drain. A group's time is a fixed part (the commit and its fsync, paid once
// however many calls share it) plus a part per call:
//
//   time(n calls) = fixed + n x per_call
//
// fitted by least squares over the recent groups (exponentially weighted).
// Taking a group's time divided by its calls as the cost of every call, as
// if each call committed alone, counts the fsync once per call: behind a
// queue of 500 Hellos that share one fsync it foresaw 500 fsyncs.
#ifndef ATMHEALTH_COLLECTOR_INGEST_GROUP_COMMIT_COST_H_
#define ATMHEALTH_COLLECTOR_INGEST_GROUP_COMMIT_COST_H_

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace atmhealth::collector {

// Not thread-safe.
class GroupCommitCost {
 public:
  // One group ran `calls` calls (at least one) in `took`.
  void Observe(std::size_t calls, std::chrono::nanoseconds took);

  // How long the store takes to run `calls` queued calls, in groups of at
  // most `max_group` calls; zero until a group was observed.
  std::chrono::nanoseconds Drain(std::size_t calls, std::size_t max_group) const;

  // What one call costs when it shares its group with `group` - 1 others.
  std::chrono::nanoseconds PerCall(std::size_t group) const;

  // The fit: nanoseconds per group and per call.
  double fixed_ns() const { return fixed_ns_; }
  double per_call_ns() const { return per_call_ns_; }

 private:
  // Weight of the newest group in the moments.
  static constexpr double kWeight = 0.05;
  // Below this spread of group sizes (calls squared) the fixed part cannot
  // be told from the part per call, and the group's time is taken for its
  // commit: a store that grouped nothing yet (every call came alone) still
  // takes a queue of calls in one commit, and charging each of them a whole
  // sync spread a fleet refused at a cold start over minutes.
  static constexpr double kMinSizeVariance = 0.25;

  void Fit();

  bool observed_ = false;
  // Exponentially weighted means of n, t, n^2 and n*t (n calls, t ns).
  double mean_n_ = 0;
  double mean_t_ = 0;
  double mean_nn_ = 0;
  double mean_nt_ = 0;
  double fixed_ns_ = 0;
  double per_call_ns_ = 0;
};

}  // namespace atmhealth::collector

#endif  // ATMHEALTH_COLLECTOR_INGEST_GROUP_COMMIT_COST_H_
