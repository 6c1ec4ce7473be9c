// What the transaction feed says, per transaction type and overall, over the
// last minute and the last five minutes: transactions per second, success
// and error ratios, latency percentiles and utilisation of the configured
// capacity.
//
// Memory is fixed by the configuration whatever the senders do: time is cut
// into kSlotSeconds slots kept in a ring long enough for the longest window,
// each slot holding counts and a LatencyHistogram; there is one ring overall
// and one per transaction type, for at most `max_types` types. A line of a
// type beyond the cap counts overall and in excess_type_lines, not as a new
// type. A type silent for the whole long window gives its place up to a new
// one.
#ifndef ATMHEALTH_AGENT_FEED_TRANSACTION_METER_H_
#define ATMHEALTH_AGENT_FEED_TRANSACTION_METER_H_

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agent/feed/latency_histogram.h"
#include "agent/feed/statsd_line.h"

namespace atmhealth::agent::feed {

// Which lines of the feed mean what. The defaults read
//   atm.tx:1|c|#type:withdrawal,result:ok
//   atm.tx.latency:182|ms|#type:withdrawal
struct FeedSchema {
  std::string transaction_metric = "atm.tx";          // a counter: transactions done
  std::string latency_metric = "atm.tx.latency";      // a timer (ms), histogram or distribution
  std::string type_tag = "type";                      // the transaction type
  std::string result_tag = "result";                  // the outcome of a transaction
  std::vector<std::string> success_results = {"ok"};  // results that count as success
  // Results that count as errors of the system. Any other result (e.g.
  // "declined": the customer's balance, not the ATM) counts as a transaction
  // that is neither.
  std::vector<std::string> error_results = {"error"};
};

struct MeterOptions {
  FeedSchema schema;
  double capacity_tps = 0;     // what the device is sized for; 0 = utilisation not measured
  std::size_t max_types = 16;  // distinct transaction types tracked
};

enum class Window { kOneMinute, kFiveMinutes };

struct Measures {
  double transactions = 0;   // in the window, scaled up by sample rates
  double tps = 0;            // transactions per second over the window
  double success_ratio = 0;  // successes / transactions; 0 with no transaction
  double error_ratio = 0;    // errors / transactions; 0 with no transaction
  std::uint64_t latency_samples = 0;
  double p50_ms = 0;  // latency percentiles, within LatencyHistogram::kRelativeError;
  double p95_ms = 0;  // 0 with no latency sample
  double p99_ms = 0;
  double utilisation_percent = 0;  // tps / capacity_tps × 100; 0 without a capacity
};

struct TypeMeasures {
  std::string type;
  Measures one_minute;
  Measures five_minutes;
};

struct MeterReport {
  Measures one_minute;  // all types together
  Measures five_minutes;
  std::vector<TypeMeasures> types;      // types with traffic in the last five minutes, by name
  std::uint64_t excess_type_lines = 0;  // lines of types beyond max_types, since start
};

// What the meter did with a line.
enum class LineUse { kTransaction, kLatency, kIgnored };

// Not thread-safe. Times are the caller's (monotonic), so a test drives it
// with simulated time; they must not go back.
class TransactionMeter {
 public:
  static constexpr std::chrono::seconds kSlot{10};
  static constexpr std::chrono::seconds kLongWindow{300};
  static constexpr std::size_t kSlots = 30;  // kLongWindow / kSlot

  TransactionMeter(MeterOptions options, std::chrono::steady_clock::time_point start);
  ~TransactionMeter();

  LineUse Record(const StatsdLine& line, std::chrono::steady_clock::time_point at);
  MeterReport Measure(std::chrono::steady_clock::time_point now) const;

  std::size_t tracked_types() const { return types_.size(); }
  std::uint64_t excess_type_lines() const { return excess_type_lines_; }
  // Bytes held by the meter, for benchmarks and the agent's health.
  std::size_t MemoryBytes() const;

 private:
  struct Slot {
    std::int64_t index = -1;  // which kSlot of monotonic time this holds
    double transactions = 0;
    double successes = 0;
    double errors = 0;
    LatencyHistogram latency;
  };
  struct Series {
    std::array<Slot, kSlots> slots;
    std::int64_t last_index = -1;  // the newest slot written
    Slot& At(std::int64_t index);
  };
  struct Type {
    std::string name;
    std::unique_ptr<Series> series;
  };
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  Series* SeriesOfType(std::string_view type, std::int64_t index);
  Measures MeasureSeries(const Series& series, std::int64_t now_index,
                         std::chrono::steady_clock::time_point now, Window window) const;

  MeterOptions options_;
  std::chrono::steady_clock::time_point start_;
  std::unique_ptr<Series> overall_;
  std::vector<Type> types_;
  std::unordered_map<std::string, std::size_t, NameHash, std::equal_to<>> type_index_;
  std::uint64_t excess_type_lines_ = 0;
};

}  // namespace atmhealth::agent::feed

#endif  // ATMHEALTH_AGENT_FEED_TRANSACTION_METER_H_
