#include "agent/watch/throughput_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <string_view>
#include <utility>

#include "agent/watch/surge_baseline.h"
#include "platform/time_zone.h"

namespace atmhealth::agent {
namespace {

using platform::FormatDuration;

Status ReadPositive(const ConfigSection& section, std::string_view key, double& out) {
  const toml::node* node = section.Get(key);
  if (node == nullptr) return OkStatus();
  const double value = node->is_number() ? node->value<double>().value_or(std::nan("")) : -1;
  if (!node->is_number() || !(value > 0) || !std::isfinite(value)) {
    return section.Fail(key, "must be a number above 0");
  }
  out = value;
  return OkStatus();
}

Status ReadStrings(const ConfigSection& section, std::string_view key,
                   std::vector<std::string>& out) {
  const toml::node* node = section.Get(key);
  if (node == nullptr) return OkStatus();
  if (!node->is_array()) {
    return section.Fail(key, fmt::format("must be a list of strings like [\"ok\"], not {}",
                                         TypeName(node->type())));
  }
  std::vector<std::string> values;
  const toml::array& array = *node->as_array();
  for (std::size_t i = 0; i < array.size(); ++i) {
    const toml::node& element = *array.get(i);
    if (!element.is_string() || element.as_string()->get().empty()) {
      return section.FailAt(element, fmt::format("{}[{}]", section.PathOf(key), i),
                            "must be a non-empty string");
    }
    values.push_back(element.as_string()->get());
  }
  out = std::move(values);
  return OkStatus();
}

// A metric or tag name as the feed's parser reads it: printable ASCII without
// the format's separators.
Status ReadFeedName(const ConfigSection& section, std::string_view key, std::string& out) {
  ATMHEALTH_RETURN_IF_ERROR(section.ReadString(key, out));
  const bool valid = !out.empty() && std::all_of(out.begin(), out.end(), [](char c) {
    return c > ' ' && c < 0x7f && c != ':' && c != '|' && c != '@' && c != ',' && c != '#';
  });
  if (!valid) {
    return section.Fail(key, fmt::format("\"{}\" is not a metric or tag name (printable, without "
                                         "spaces or any of : | @ , #)",
                                         out));
  }
  return OkStatus();
}

Status ReadSchema(const ConfigSection& throughput, feed::FeedSchema& schema) {
  auto section = throughput.Child("schema");
  if (!section.ok()) return section.error();
  const ConfigSection& s = *section;
  ATMHEALTH_RETURN_IF_ERROR(s.CheckKeys({"transaction_metric", "latency_metric", "type_tag",
                                         "result_tag", "success_results", "error_results"},
                                        false));
  ATMHEALTH_RETURN_IF_ERROR(ReadFeedName(s, "transaction_metric", schema.transaction_metric));
  ATMHEALTH_RETURN_IF_ERROR(ReadFeedName(s, "latency_metric", schema.latency_metric));
  ATMHEALTH_RETURN_IF_ERROR(ReadFeedName(s, "type_tag", schema.type_tag));
  ATMHEALTH_RETURN_IF_ERROR(ReadFeedName(s, "result_tag", schema.result_tag));
  ATMHEALTH_RETURN_IF_ERROR(ReadStrings(s, "success_results", schema.success_results));
  ATMHEALTH_RETURN_IF_ERROR(ReadStrings(s, "error_results", schema.error_results));
  if (schema.transaction_metric == schema.latency_metric) {
    return s.Fail(s.Has("latency_metric") ? "latency_metric" : "transaction_metric",
                  "transaction_metric and latency_metric must differ");
  }
  for (const auto& result : schema.error_results) {
    if (std::find(schema.success_results.begin(), schema.success_results.end(), result) !=
        schema.success_results.end()) {
      return s.Fail("error_results",
                    fmt::format("\"{}\" is listed both as success and as error", result));
    }
  }
  return OkStatus();
}

Status ReadListen(const ConfigSection& t, feed::FeedListenOptions& listen) {
  ConfigSection::SocketAccess access{listen.socket_path, listen.socket_mode, listen.socket_group};
  ATMHEALTH_RETURN_IF_ERROR(t.ReadSocketAccess("socket", "socket_mode", "socket_group",
                                               "the ATM application's account", access));
  listen.socket_path = access.path;
  listen.socket_mode = access.mode;
  listen.socket_group = access.group;
  if (t.Has("udp")) {
    std::string udp;
    ATMHEALTH_RETURN_IF_ERROR(t.ReadString("udp", udp));
    auto address = platform::ParseHostPort(udp, platform::PortZero::kAllowed);
    if (!address.ok()) return t.Fail("udp", address.error().message());
    if (auto endpoint = feed::LoopbackUdpEndpoint(*address); !endpoint.ok()) {
      return t.Fail("udp", endpoint.error().message());
    }
    listen.udp = *address;
  }
  if (listen.socket_path.empty() && !listen.udp) {
    return t.Fail("socket", "required: where the ATM application sends its feed (or udp)");
  }
  std::uint64_t bytes = listen.max_datagram_bytes;
  ATMHEALTH_RETURN_IF_ERROR(t.ReadByteSize("max_datagram", bytes, 512, 65536));
  listen.max_datagram_bytes = bytes;
  bytes = listen.receive_buffer_bytes;
  ATMHEALTH_RETURN_IF_ERROR(t.ReadByteSize("receive_buffer", bytes, 4096, 64ull << 20));
  listen.receive_buffer_bytes = bytes;
  return OkStatus();
}

// warning < critical, hysteresis below both the gap and warning.
Status CheckLevels(const ConfigSection& t, std::string_view prefix, double warning, double critical,
                   double hysteresis) {
  const std::string w = fmt::format("{}_warning", prefix);
  const std::string c = fmt::format("{}_critical", prefix);
  const std::string h = fmt::format("{}_hysteresis", prefix);
  const auto fail = [&](std::initializer_list<std::string_view> keys, const std::string& what) {
    for (std::string_view key : keys) {
      if (t.Has(key)) return t.Fail(key, what);
    }
    return t.Fail(*keys.begin(), what);
  };
  if (critical <= warning) {
    return fail({c, w}, fmt::format("{} ({}) must be above {} ({})", c, FormatNumber(critical), w,
                                    FormatNumber(warning)));
  }
  if (hysteresis >= critical - warning || hysteresis >= warning) {
    return fail({h, c, w}, fmt::format("{} ({}) must be smaller than {} ({}) and than the gap up "
                                       "to {} ({})",
                                       h, FormatNumber(hysteresis), w, FormatNumber(warning), c,
                                       FormatNumber(critical)));
  }
  return OkStatus();
}

// [throughput.type_capacity]: type name = tps, bounded by max_types so
// that the rules of per-type capacity stay within the meter's cap.
Status ReadTypeCapacity(const ConfigSection& throughput, std::size_t max_types,
                        std::vector<std::pair<std::string, double>>& out) {
  auto table = throughput.Table("type_capacity");
  if (!table.ok()) return table.error();
  if (*table == nullptr) return OkStatus();
  auto child = throughput.Child("type_capacity");
  if (!child.ok()) return child.error();
  const ConfigSection& section = *child;
  for (const auto& [key, node] : **table) {
    const std::string name(key.str());
    const bool valid_name = std::all_of(name.begin(), name.end(), [](char c) {
      return c > ' ' && c < 0x7f && c != ':' && c != '|' && c != '@' && c != ',' && c != '#';
    });
    if (!valid_name) {
      return section.Fail(name,
                          "is not a transaction type the feed can carry (printable, "
                          "without spaces or any of : | @ , #)");
    }
    if (out.size() == max_types) {
      return section.Fail(name, fmt::format("more types than max_types ({})", max_types));
    }
    double tps = 0;
    ATMHEALTH_RETURN_IF_ERROR(ReadPositive(section, name, tps));
    out.emplace_back(name, tps);
  }
  return OkStatus();
}

// [throughput.business_hours]; absent: no stall alert.
Status ReadBusinessHours(const ConfigSection& throughput, ThroughputConfig& out) {
  auto child = throughput.Child("business_hours");
  if (!child.ok()) return child.error();
  const ConfigSection& b = *child;
  if (!throughput.Has("business_hours")) return OkStatus();
  ATMHEALTH_RETURN_IF_ERROR(b.CheckKeys(
      {"time_zone", "days", "open", "close", "holidays", "stall_after", "stall_severity"}, false));
  for (std::string_view key : {"time_zone", "open", "close"}) {
    if (!b.Has(key)) {
      return b.Fail(key, key == "time_zone" ? "required: the IANA time zone of the branch, e.g. "
                                              "\"Asia/Tokyo\""
                                            : "required: a local time of day, e.g. \"08:30\"");
    }
  }
  std::string zone;
  ATMHEALTH_RETURN_IF_ERROR(b.ReadString("time_zone", zone));
  std::chrono::minutes open{0};
  std::chrono::minutes close{0};
  for (auto [key, minutes] :
       {std::pair<std::string_view, std::chrono::minutes*>{"open", &open}, {"close", &close}}) {
    std::string text;
    ATMHEALTH_RETURN_IF_ERROR(b.ReadString(key, text));
    auto parsed = ParseTimeOfDay(text);
    if (!parsed.ok()) return b.Fail(key, parsed.error().message());
    *minutes = *parsed;
  }
  std::array<bool, 7> days = {false, true, true, true, true, true, false};
  std::vector<std::string> names;
  if (b.Has("days")) {
    ATMHEALTH_RETURN_IF_ERROR(ReadStrings(b, "days", names));
    if (names.empty()) return b.Fail("days", "must name at least one day");
    days.fill(false);
    for (const std::string& name : names) {
      auto day = ParseWeekday(name);
      if (!day.ok()) return b.Fail("days", day.error().message());
      days[static_cast<std::size_t>(*day)] = true;
    }
  }
  std::vector<std::string> holidays;
  ATMHEALTH_RETURN_IF_ERROR(ReadStrings(b, "holidays", holidays));
  if (holidays.size() > 1000) return b.Fail("holidays", "at most 1000 dates");
  auto hours = BusinessHours::Create(zone, days, open, close, holidays);
  if (!hours.ok()) {
    const std::string& message = hours.error().message();
    return b.Fail(message.find("time zone") != std::string::npos ? "time_zone" : "holidays",
                  message);
  }
  out.business_hours = std::move(hours).value();
  ATMHEALTH_RETURN_IF_ERROR(
      b.ReadDuration("stall_after", out.stall_after, ConfigSection::Zero::kRefused));
  if (out.stall_after < out.interval) {
    return b.Fail("stall_after", fmt::format("must not be shorter than [throughput] interval ({})",
                                             FormatDuration(out.interval)));
  }
  return b.ReadSeverity("stall_severity", out.stall_severity, false);
}

// Services of an impact must be ones the device offers.
Status CheckOffered(const ConfigSection& section, std::string_view key,
                    const std::vector<v1::CustomerService>& listed,
                    const std::vector<v1::CustomerService>& offered) {
  for (v1::CustomerService service : listed) {
    if (std::find(offered.begin(), offered.end(), service) == offered.end()) {
      return section.Fail(key, fmt::format("\"{}\" is not among device.services ({})",
                                           wire::ShortName(service), ServiceNames(offered)));
    }
  }
  return OkStatus();
}

// [throughput.surge]; absent: no surge alert.
Status ReadSurge(const ConfigSection& throughput, const std::vector<v1::CustomerService>& offered,
                 ThroughputConfig& out) {
  if (!throughput.Has("surge")) return OkStatus();
  auto child = throughput.Child("surge");
  if (!child.ok()) return child.error();
  const ConfigSection& s = *child;
  ATMHEALTH_RETURN_IF_ERROR(
      s.CheckKeys({"time_zone", "factor", "min_weeks", "min_baseline_tps", "hysteresis", "severity",
                   "for", "unavailable", "degraded"},
                  false));
  ThroughputConfig::Surge surge;
  ATMHEALTH_RETURN_IF_ERROR(s.ReadString("time_zone", surge.time_zone));
  if (surge.time_zone.empty() && out.business_hours) {
    surge.time_zone = out.business_hours->zone_name();
  }
  if (surge.time_zone.empty()) surge.time_zone = platform::SystemTimeZoneName();
  if (auto zone = SurgeBaseline::Create(surge.time_zone); !zone.ok()) {
    return s.Fail("time_zone", zone.error().message());
  }
  ATMHEALTH_RETURN_IF_ERROR(ReadPositive(s, "factor", surge.factor));
  if (surge.factor <= 1) {
    return s.Fail("factor", fmt::format("must be above 1 (a multiple of the usual rate), not {}",
                                        FormatNumber(surge.factor)));
  }
  ATMHEALTH_RETURN_IF_ERROR(s.ReadCount("min_weeks", surge.min_weeks, 1, 52));
  ATMHEALTH_RETURN_IF_ERROR(ReadPositive(s, "min_baseline_tps", surge.min_baseline_tps));
  ATMHEALTH_RETURN_IF_ERROR(ReadPositive(s, "hysteresis", surge.hysteresis));
  if (surge.hysteresis >= 100 * surge.factor) {
    return s.Fail("hysteresis", fmt::format("must be below the level it applies to ({} %)",
                                            FormatNumber(100 * surge.factor)));
  }
  ATMHEALTH_RETURN_IF_ERROR(s.ReadSeverity("severity", surge.severity, false));
  ATMHEALTH_RETURN_IF_ERROR(
      s.ReadDuration("for", surge.for_duration, ConfigSection::Zero::kAllowed));
  ATMHEALTH_RETURN_IF_ERROR(s.ReadServices("unavailable", surge.impact_unavailable));
  ATMHEALTH_RETURN_IF_ERROR(s.ReadServices("degraded", surge.impact_degraded));
  ATMHEALTH_RETURN_IF_ERROR(CheckOffered(s, "unavailable", surge.impact_unavailable, offered));
  ATMHEALTH_RETURN_IF_ERROR(CheckOffered(s, "degraded", surge.impact_degraded, offered));
  out.surge = std::move(surge);
  return OkStatus();
}

Status ReadDurationMs(const ConfigSection& t, std::string_view key, std::chrono::milliseconds& out,
                      ConfigSection::Zero zero) {
  return t.ReadDuration(key, out, zero);
}

Status ReadThroughput(const ConfigSection& t, const std::vector<v1::CustomerService>& offered,
                      ThroughputConfig& out) {
  ATMHEALTH_RETURN_IF_ERROR(t.CheckKeys({"interval",
                                         "socket",
                                         "socket_mode",
                                         "socket_group",
                                         "udp",
                                         "max_datagram",
                                         "receive_buffer",
                                         "capacity_tps",
                                         "max_types",
                                         "window",
                                         "utilisation_warning",
                                         "utilisation_critical",
                                         "utilisation_hysteresis",
                                         "latency_percentile",
                                         "latency_warning",
                                         "latency_critical",
                                         "latency_hysteresis",
                                         "error_warning",
                                         "error_critical",
                                         "error_hysteresis",
                                         "min_transactions",
                                         "for",
                                         "unavailable",
                                         "degraded",
                                         "schema",
                                         "type_capacity",
                                         "business_hours",
                                         "surge"},
                                        false));
  using Zero = ConfigSection::Zero;
  ATMHEALTH_RETURN_IF_ERROR(t.ReadSamplingTime("interval", out.interval));
  ATMHEALTH_RETURN_IF_ERROR(ReadListen(t, out.listen));
  if (!t.Has("capacity_tps")) {
    return t.Fail("capacity_tps", "required: the transactions per second the device is sized for");
  }
  ATMHEALTH_RETURN_IF_ERROR(ReadPositive(t, "capacity_tps", out.meter.capacity_tps));
  ATMHEALTH_RETURN_IF_ERROR(t.ReadCount("max_types", out.meter.max_types, 1, 256));
  ATMHEALTH_RETURN_IF_ERROR(ReadTypeCapacity(t, out.meter.max_types, out.type_capacity));
  std::string window = "1m";
  ATMHEALTH_RETURN_IF_ERROR(t.ReadString("window", window));
  if (window == "1m") {
    out.window = feed::Window::kOneMinute;
  } else if (window == "5m") {
    out.window = feed::Window::kFiveMinutes;
  } else {
    return t.Fail("window", fmt::format("must be \"1m\" or \"5m\", not \"{}\"", window));
  }

  // Utilisation may go above 100 %: a device can be driven beyond its sizing.
  for (const auto& [key, value] :
       {std::pair<std::string_view, double*>{"utilisation_warning", &out.utilisation_warning},
        {"utilisation_critical", &out.utilisation_critical},
        {"utilisation_hysteresis", &out.utilisation_hysteresis}}) {
    ATMHEALTH_RETURN_IF_ERROR(ReadPositive(t, key, *value));
  }
  ATMHEALTH_RETURN_IF_ERROR(CheckLevels(t, "utilisation", out.utilisation_warning,
                                        out.utilisation_critical, out.utilisation_hysteresis));

  std::string percentile = "p99";
  ATMHEALTH_RETURN_IF_ERROR(t.ReadString("latency_percentile", percentile));
  if (percentile == "p50" || percentile == "p95" || percentile == "p99") {
    out.latency_percentile = std::stod(percentile.substr(1));
  } else {
    return t.Fail("latency_percentile",
                  fmt::format("must be \"p50\", \"p95\" or \"p99\", not \"{}\"", percentile));
  }
  ATMHEALTH_RETURN_IF_ERROR(
      ReadDurationMs(t, "latency_warning", out.latency_warning, Zero::kRefused));
  ATMHEALTH_RETURN_IF_ERROR(
      ReadDurationMs(t, "latency_critical", out.latency_critical, Zero::kRefused));
  ATMHEALTH_RETURN_IF_ERROR(
      ReadDurationMs(t, "latency_hysteresis", out.latency_hysteresis, Zero::kAllowed));
  ATMHEALTH_RETURN_IF_ERROR(CheckLevels(t, "latency",
                                        static_cast<double>(out.latency_warning.count()),
                                        static_cast<double>(out.latency_critical.count()),
                                        static_cast<double>(out.latency_hysteresis.count())));

  ATMHEALTH_RETURN_IF_ERROR(t.ReadPercent("error_warning", out.error_warning));
  ATMHEALTH_RETURN_IF_ERROR(t.ReadPercent("error_critical", out.error_critical));
  ATMHEALTH_RETURN_IF_ERROR(t.ReadPercent("error_hysteresis", out.error_hysteresis));
  ATMHEALTH_RETURN_IF_ERROR(
      CheckLevels(t, "error", out.error_warning, out.error_critical, out.error_hysteresis));
  ATMHEALTH_RETURN_IF_ERROR(t.ReadCount("min_transactions", out.min_transactions, 1, 1'000'000));
  ATMHEALTH_RETURN_IF_ERROR(t.ReadDuration("for", out.for_duration, Zero::kAllowed));

  ATMHEALTH_RETURN_IF_ERROR(t.ReadServices("unavailable", out.impact_unavailable));
  ATMHEALTH_RETURN_IF_ERROR(t.ReadServices("degraded", out.impact_degraded));
  ATMHEALTH_RETURN_IF_ERROR(CheckOffered(t, "unavailable", out.impact_unavailable, offered));
  ATMHEALTH_RETURN_IF_ERROR(CheckOffered(t, "degraded", out.impact_degraded, offered));
  ATMHEALTH_RETURN_IF_ERROR(ReadBusinessHours(t, out));
  ATMHEALTH_RETURN_IF_ERROR(ReadSurge(t, offered, out));
  return ReadSchema(t, out.meter.schema);
}

}  // namespace

std::vector<std::string> ThroughputConfig::Describe() const {
  std::vector<std::string> lines;
  if (!listen.socket_path.empty()) {
    lines.push_back(fmt::format(
        "transaction feed on {} (mode {:04o}{})", listen.socket_path, listen.socket_mode,
        listen.socket_group.empty() ? "" : ", group " + listen.socket_group));
  }
  if (listen.udp) {
    lines.push_back(
        fmt::format("transaction feed on udp {}:{}", listen.udp->host, listen.udp->port));
  }
  lines.push_back(fmt::format(
      "throughput: capacity {} tps (warning {} %, critical {} %), p{} latency warning {} critical "
      "{}, error ratio warning {} % critical {} %, over {}",
      FormatNumber(meter.capacity_tps), FormatNumber(utilisation_warning),
      FormatNumber(utilisation_critical), FormatNumber(latency_percentile),
      FormatDuration(latency_warning), FormatDuration(latency_critical),
      FormatNumber(error_warning), FormatNumber(error_critical),
      window == feed::Window::kOneMinute ? "1m" : "5m"));
  if (business_hours) {
    lines.push_back(fmt::format("throughput: stall after {} without transactions during {}",
                                FormatDuration(stall_after), business_hours->Describe()));
  }
  for (const auto& [type, tps] : type_capacity) {
    lines.push_back(fmt::format("throughput: type {} capacity {} tps", type, FormatNumber(tps)));
  }
  if (surge) {
    lines.push_back(fmt::format(
        "throughput: surge at {} x the usual tps of the hour of the week ({}), after {} weeks of "
        "history, {} for {}",
        FormatNumber(surge->factor), surge->time_zone, surge->min_weeks,
        wire::ShortName(surge->severity), FormatDuration(surge->for_duration)));
  }
  return lines;
}

Result<std::shared_ptr<const ThroughputConfig>> ReadThroughputConfig(
    const ConfigSection& section, const std::vector<v1::CustomerService>& offered) {
  if (section.empty()) return std::shared_ptr<const ThroughputConfig>();
  auto config = std::make_shared<ThroughputConfig>();
  ATMHEALTH_RETURN_IF_ERROR(ReadThroughput(section, offered, *config));
  return std::shared_ptr<const ThroughputConfig>(std::move(config));
}

}  // namespace atmhealth::agent
