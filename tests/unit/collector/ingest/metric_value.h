// The ingest tests read the collector's counters from its registry, as an
// operator reads them from /metrics.
#ifndef ATMHEALTH_TESTS_UNIT_COLLECTOR_INGEST_METRIC_VALUE_H_
#define ATMHEALTH_TESTS_UNIT_COLLECTOR_INGEST_METRIC_VALUE_H_

#include <prometheus/registry.h>

#include <cmath>
#include <map>
#include <string>

namespace atmhealth::collector::testing {

// The value of one series in `registry`, or NaN when there is none; a
// histogram's is its number of observations.
inline double MetricValue(prometheus::Registry& registry, const std::string& name,
                          const std::map<std::string, std::string>& labels = {}) {
  for (const prometheus::MetricFamily& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const prometheus::ClientMetric& metric : family.metric) {
      std::map<std::string, std::string> have;
      for (const auto& label : metric.label) have[label.name] = label.value;
      bool match = true;
      for (const auto& [key, value] : labels) match = match && have[key] == value;
      if (!match) continue;
      switch (family.type) {
        case prometheus::MetricType::Gauge:
          return metric.gauge.value;
        case prometheus::MetricType::Histogram:
          return static_cast<double>(metric.histogram.sample_count);
        default:
          return metric.counter.value;
      }
    }
  }
  return std::nan("");
}

}  // namespace atmhealth::collector::testing

#endif  // ATMHEALTH_TESTS_UNIT_COLLECTOR_INGEST_METRIC_VALUE_H_
