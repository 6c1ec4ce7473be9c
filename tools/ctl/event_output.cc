#include "tools/ctl/event_output.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <ctime>
#include <nlohmann/json.hpp>

#include "platform/log_text.h"
#include "proto/names.h"

namespace atmhealth::ctl {
namespace {

constexpr std::array<const char*, 9> kColumns = {
    "TIME", "SEQ", "SEVERITY", "STATE", "ALERT", "VALUE", "THRESHOLD", "SENT", "SUMMARY"};

std::string UnitSuffix(v1::Unit unit) {
  switch (unit) {
    case v1::UNIT_PERCENT:
      return " %";
    case v1::UNIT_BYTES:
      return " B";
    case v1::UNIT_HOURS:
      return " h";
    case v1::UNIT_SECONDS:
      return " s";
    case v1::UNIT_MILLISECONDS:
      return " ms";
    case v1::UNIT_PER_SECOND:
      return " /s";
    default:
      return "";
  }
}

std::vector<std::string> Cells(const StoredEvent& stored) {
  const v1::Event& e = stored.event;
  return {LocalTime(e.wall_time_unix_ns()),
          std::to_string(e.seq()),
          wire::ShortName(e.severity()),
          wire::ShortName(e.state()),
          platform::EscapeControlCharacters(e.alert_key()),
          Measured(e.value(), e.unit()),
          Measured(e.threshold(), e.unit()),
          stored.delivered ? "yes" : "no",
          platform::EscapeControlCharacters(e.summary())};
}

const char* ColourOf(const v1::Event& event) {
  if (event.state() == v1::ALERT_STATE_RESOLVED) return kGreen;
  if (event.severity() >= v1::SEVERITY_CRITICAL) return kRed;
  if (event.severity() == v1::SEVERITY_WARNING) return kYellow;
  return nullptr;
}

void WriteTable(std::ostream& out, const std::vector<StoredEvent>& events,
                const OutputStyle& style) {
  std::vector<std::vector<std::string>> rows;
  rows.reserve(events.size());
  // Wide enough for the usual cells, so that the batches `tail` writes one
  // after another line up too.
  std::array<std::size_t, kColumns.size()> widths = {23, 5, 8, 8, 24, 7, 9, 4, 0};
  for (std::size_t c = 0; c < kColumns.size(); ++c) {
    widths[c] = std::max(widths[c], std::string_view(kColumns[c]).size());
  }
  for (const StoredEvent& stored : events) {
    rows.push_back(Cells(stored));
    for (std::size_t c = 0; c < kColumns.size(); ++c) {
      widths[c] = std::max(widths[c], rows.back()[c].size());
    }
  }
  auto write_row = [&](const std::vector<std::string>& cells, const char* colour) {
    std::string line;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const bool last = c + 1 == cells.size();
      const bool numeric = c == 1 || c == 5 || c == 6;
      std::string cell = last      ? cells[c]
                         : numeric ? fmt::format("{:>{}}", cells[c], widths[c])
                                   : fmt::format("{:<{}}", cells[c], widths[c]);
      // The severity and state cells carry the colour, the rest stays plain.
      if (colour != nullptr && (c == 2 || c == 3)) {
        cell = std::string(colour) + cell + kReset;
      }
      line += cell;
      if (!last) line += "  ";
    }
    out << line << "\n";
  };
  if (style.header) write_row({kColumns.begin(), kColumns.end()}, nullptr);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    write_row(rows[i], style.colour ? ColourOf(events[i].event) : nullptr);
  }
}

nlohmann::json Number(double value) {
  if (!std::isfinite(value)) return nullptr;
  return value;
}

void WriteJson(std::ostream& out, const std::vector<StoredEvent>& events) {
  for (const StoredEvent& stored : events) {
    const v1::Event& e = stored.event;
    nlohmann::ordered_json context = nlohmann::ordered_json::object();
    for (const v1::ContextEntry& entry : e.context()) context[entry.key()] = entry.value();
    nlohmann::ordered_json unavailable = nlohmann::ordered_json::array();
    for (int service : e.impact().unavailable()) {
      unavailable.push_back(wire::ShortName(static_cast<v1::CustomerService>(service)));
    }
    nlohmann::ordered_json degraded = nlohmann::ordered_json::array();
    for (int service : e.impact().degraded()) {
      degraded.push_back(wire::ShortName(static_cast<v1::CustomerService>(service)));
    }
    const nlohmann::ordered_json line = {{"seq", e.seq()},
                                         {"detected_at", UtcTime(e.wall_time_unix_ns())},
                                         {"wall_time_unix_ns", e.wall_time_unix_ns()},
                                         {"alert_key", e.alert_key()},
                                         {"kind", wire::ShortName(e.kind())},
                                         {"subject", e.subject()},
                                         {"state", wire::ShortName(e.state())},
                                         {"severity", wire::ShortName(e.severity())},
                                         {"category", wire::ShortName(e.category())},
                                         {"value", Number(e.value())},
                                         {"threshold", Number(e.threshold())},
                                         {"unit", wire::ShortName(e.unit())},
                                         {"unavailable", unavailable},
                                         {"degraded", degraded},
                                         {"summary", e.summary()},
                                         {"delivered", stored.delivered},
                                         {"context", context}};
    out << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
}

std::string CsvField(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

void WriteCsv(std::ostream& out, const std::vector<StoredEvent>& events, bool header) {
  if (header) {
    out << "seq,detected_at,alert_key,kind,subject,state,severity,category,value,threshold,"
           "unit,delivered,summary\r\n";
  }
  for (const StoredEvent& stored : events) {
    const v1::Event& e = stored.event;
    auto number = [](double v) { return std::isfinite(v) ? fmt::format("{}", v) : std::string(); };
    out << e.seq() << ',' << UtcTime(e.wall_time_unix_ns()) << ',' << CsvField(e.alert_key()) << ','
        << wire::ShortName(e.kind()) << ',' << CsvField(e.subject()) << ','
        << wire::ShortName(e.state()) << ',' << wire::ShortName(e.severity()) << ','
        << wire::ShortName(e.category()) << ',' << number(e.value()) << ',' << number(e.threshold())
        << ',' << wire::ShortName(e.unit()) << ',' << (stored.delivered ? "true" : "false") << ','
        << CsvField(e.summary()) << "\r\n";
  }
}

// `unix_ns` in whole seconds, broken down by `breakdown` (localtime_r or
// gmtime_r) and written with strftime's `format`.
std::string FormatTime(std::int64_t unix_ns, std::tm* (*breakdown)(const std::time_t*, std::tm*),
                       const char* format) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ns / 1'000'000'000);
  std::tm fields{};
  if (breakdown(&seconds, &fields) == nullptr) return std::to_string(unix_ns);
  std::array<char, 64> text{};
  const std::size_t n = std::strftime(text.data(), text.size(), format, &fields);
  return std::string(text.data(), n);
}

}  // namespace

std::string Measured(double value, v1::Unit unit) {
  // A notice without a unit measured nothing.
  if (std::isnan(value) || unit == v1::UNIT_UNSPECIFIED) return "-";
  return fmt::format("{:.4g}{}", value, UnitSuffix(unit));
}

std::string LocalTime(std::int64_t unix_ns) {
  return FormatTime(unix_ns, localtime_r, "%Y-%m-%d %H:%M:%S %Z");
}

std::string UtcTime(std::int64_t unix_ns) {
  return fmt::format("{}.{:03}Z", FormatTime(unix_ns, gmtime_r, "%Y-%m-%dT%H:%M:%S"),
                     (unix_ns % 1'000'000'000) / 1'000'000);
}

void WriteEvents(std::ostream& out, const std::vector<StoredEvent>& events,
                 const OutputStyle& style) {
  switch (style.format) {
    case EventFormat::kTable:
      WriteTable(out, events, style);
      break;
    case EventFormat::kJson:
      WriteJson(out, events);
      break;
    case EventFormat::kCsv:
      WriteCsv(out, events, style.header);
      break;
  }
}

}  // namespace atmhealth::ctl
