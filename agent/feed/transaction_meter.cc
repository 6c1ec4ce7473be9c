#include "agent/feed/transaction_meter.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace atmhealth::agent::feed {
namespace {

// A sample rate of 1e-9 would make one line a billion samples: a client that
// samples that sparsely tells us nothing about percentiles anyway.
constexpr double kMaxLatencyWeight = 1e6;

std::int64_t SlotIndex(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count() /
         TransactionMeter::kSlot.count();
}

std::chrono::steady_clock::time_point SlotStart(std::int64_t index) {
  return std::chrono::steady_clock::time_point(TransactionMeter::kSlot * index);
}

bool Contains(const std::vector<std::string>& values, std::string_view value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

bool IsLatencyType(MetricType type) {
  return type == MetricType::kTimer || type == MetricType::kHistogram ||
         type == MetricType::kDistribution;
}

}  // namespace

TransactionMeter::Slot& TransactionMeter::Series::At(std::int64_t index) {
  Slot& slot = slots[static_cast<std::size_t>(index) % kSlots];
  if (slot.index != index) {
    slot.index = index;
    slot.transactions = 0;
    slot.successes = 0;
    slot.errors = 0;
    slot.latency.Clear();
  }
  last_index = std::max(last_index, index);
  return slot;
}

TransactionMeter::TransactionMeter(MeterOptions options,
                                   std::chrono::steady_clock::time_point start)
    : options_(std::move(options)), start_(start), overall_(std::make_unique<Series>()) {
  types_.reserve(options_.max_types);
  type_index_.reserve(options_.max_types);
}

TransactionMeter::~TransactionMeter() = default;

TransactionMeter::Series* TransactionMeter::SeriesOfType(std::string_view type,
                                                         std::int64_t index) {
  if (auto found = type_index_.find(type); found != type_index_.end()) {
    return types_[found->second].series.get();
  }
  std::size_t place = types_.size();
  if (place == options_.max_types) {
    // Full: a type that has been silent for the whole long window makes room.
    const std::int64_t oldest_kept = index - static_cast<std::int64_t>(kSlots) + 1;
    place =
        std::find_if(types_.begin(), types_.end(),
                     [oldest_kept](const Type& t) { return t.series->last_index < oldest_kept; }) -
        types_.begin();
    if (place == types_.size()) {
      ++excess_type_lines_;
      return nullptr;
    }
    type_index_.erase(types_[place].name);
    types_[place].name.assign(type);
    *types_[place].series = Series();
  } else {
    types_.push_back(Type{std::string(type), std::make_unique<Series>()});
  }
  type_index_.emplace(types_[place].name, place);
  return types_[place].series.get();
}

LineUse TransactionMeter::Record(const StatsdLine& line, std::chrono::steady_clock::time_point at) {
  const FeedSchema& schema = options_.schema;
  const bool transaction =
      line.type == MetricType::kCounter && line.name == schema.transaction_metric;
  const bool latency =
      !transaction && IsLatencyType(line.type) && line.name == schema.latency_metric;
  if (!transaction && !latency) return LineUse::kIgnored;

  const std::int64_t index = SlotIndex(at);
  Series* by_type = nullptr;
  if (const std::string_view type = line.TagValue(schema.type_tag); !type.empty()) {
    by_type = SeriesOfType(type, index);
  }
  Slot* slots[2] = {&overall_->At(index), by_type ? &by_type->At(index) : nullptr};

  if (transaction) {
    const double count = line.value / line.sample_rate;
    const std::string_view result = line.TagValue(schema.result_tag);
    const bool success = !result.empty() && Contains(schema.success_results, result);
    const bool error = !success && !result.empty() && Contains(schema.error_results, result);
    for (Slot* slot : slots) {
      if (slot == nullptr) continue;
      slot->transactions += count;
      if (success) slot->successes += count;
      if (error) slot->errors += count;
    }
    return LineUse::kTransaction;
  }
  const auto weight = static_cast<std::uint32_t>(
      std::clamp(std::round(1 / line.sample_rate), 1.0, kMaxLatencyWeight));
  for (Slot* slot : slots) {
    if (slot != nullptr) slot->latency.Add(line.value, weight);
  }
  return LineUse::kLatency;
}

Measures TransactionMeter::MeasureSeries(const Series& series, std::int64_t now_index,
                                         std::chrono::steady_clock::time_point now,
                                         Window window) const {
  const std::int64_t slots =
      window == Window::kOneMinute ? 60 / kSlot.count() : kLongWindow / kSlot;
  const std::int64_t first = now_index - slots + 1;
  Measures m;
  double successes = 0;
  double errors = 0;
  LatencyHistogram latency;
  for (std::int64_t i = first; i <= now_index; ++i) {
    const Slot& slot = series.slots[static_cast<std::size_t>(i) % kSlots];
    if (slot.index != i) continue;
    m.transactions += slot.transactions;
    successes += slot.successes;
    errors += slot.errors;
    latency.Merge(slot.latency);
  }
  // The window reaches back to the start of its oldest slot, or to when the
  // meter started if that is later: a rate over the time actually watched.
  const auto from = std::max(SlotStart(first), start_);
  const double seconds = std::max(1.0, std::chrono::duration<double>(now - from).count());
  m.tps = m.transactions / seconds;
  if (m.transactions > 0) {
    m.success_ratio = successes / m.transactions;
    m.error_ratio = errors / m.transactions;
  }
  m.latency_samples = latency.count();
  m.p50_ms = latency.Quantile(0.50);
  m.p95_ms = latency.Quantile(0.95);
  m.p99_ms = latency.Quantile(0.99);
  if (options_.capacity_tps > 0) m.utilisation_percent = 100 * m.tps / options_.capacity_tps;
  return m;
}

MeterReport TransactionMeter::Measure(std::chrono::steady_clock::time_point now) const {
  const std::int64_t now_index = SlotIndex(now);
  MeterReport report;
  report.one_minute = MeasureSeries(*overall_, now_index, now, Window::kOneMinute);
  report.five_minutes = MeasureSeries(*overall_, now_index, now, Window::kFiveMinutes);
  const std::int64_t oldest_kept = now_index - static_cast<std::int64_t>(kSlots) + 1;
  for (const Type& type : types_) {
    if (type.series->last_index < oldest_kept) continue;
    report.types.push_back(
        TypeMeasures{type.name, MeasureSeries(*type.series, now_index, now, Window::kOneMinute),
                     MeasureSeries(*type.series, now_index, now, Window::kFiveMinutes)});
  }
  std::sort(report.types.begin(), report.types.end(),
            [](const TypeMeasures& a, const TypeMeasures& b) { return a.type < b.type; });
  report.excess_type_lines = excess_type_lines_;
  return report;
}

std::size_t TransactionMeter::MemoryBytes() const {
  std::size_t bytes = sizeof(*this) + sizeof(Series) + types_.capacity() * sizeof(Type);
  for (const Type& type : types_) bytes += sizeof(Series) + type.name.capacity();
  // The index: its buckets, and a node holding a name per type.
  bytes += type_index_.bucket_count() * sizeof(void*);
  for (const auto& [name, place] : type_index_) {
    bytes += sizeof(void*) + sizeof(std::size_t) + sizeof(std::string) + name.capacity();
  }
  return bytes;
}

}  // namespace atmhealth::agent::feed
