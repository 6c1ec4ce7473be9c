#include "collector/fleet/sites.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "platform/toml_document.h"

namespace atmhealth::collector::fleet {
namespace {

constexpr std::array<std::string_view, 7> kDays = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
constexpr int kMinutesPerDay = 24 * 60;
constexpr std::int64_t kNanosPerMinute = 60'000'000'000;
constexpr double kEarthMeanRadiusMeters = 6'371'008.8;
constexpr std::size_t kMaxIdLength = 64;
constexpr std::size_t kMaxTextLength = 512;

bool IsSiteId(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  for (const char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// "HH:MM" with 00..24 hours; 24:00 only as a closing time.
std::optional<int> ParseClock(std::string_view text) {
  if (text.size() != 5 || text[2] != ':') return std::nullopt;
  for (const std::size_t i : {0, 1, 3, 4}) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
  }
  const int hours = (text[0] - '0') * 10 + (text[1] - '0');
  const int minutes = (text[3] - '0') * 10 + (text[4] - '0');
  if (minutes > 59 || hours > 24 || (hours == 24 && minutes != 0)) return std::nullopt;
  return hours * 60 + minutes;
}

// "+09:00", "-05:30", "Z".
std::optional<int> ParseOffset(std::string_view text) {
  if (text == "Z") return 0;
  if (text.size() != 6 || (text[0] != '+' && text[0] != '-')) return std::nullopt;
  const std::optional<int> clock = ParseClock(text.substr(1));
  if (!clock || *clock > 14 * 60) return std::nullopt;
  return text[0] == '-' ? -*clock : *clock;
}

class SiteReader {
 public:
  explicit SiteReader(const std::string& source) : source_(source) {}

  Error Fail(const toml::source_region& where, std::size_t index, std::string_view key,
             std::string_view what) const {
    return Error(ErrorCode::kInvalidArgument, fmt::format("{}:{}: site[{}].{}: {}", source_,
                                                          where.begin.line, index, key, what));
  }

  Result<Site> Read(const toml::table& table, std::size_t index) const {
    Site site;
    site.line = table.source().begin.line;
    bool has_latitude = false;
    bool has_longitude = false;
    for (auto&& [key, node] : table) {
      const std::string_view name = key.str();
      const auto fail = [&](std::string_view what) {
        return Fail(node.source(), index, name, what);
      };
      if (name == "id" || name == "name" || name == "address" || name == "category" ||
          name == "utc_offset") {
        const auto* text = node.as_string();
        if (text == nullptr) return fail("expected a string");
        const std::string& value = text->get();
        if (value.size() > kMaxTextLength) {
          return fail(fmt::format("longer than {} bytes", kMaxTextLength));
        }
        if (name == "id") {
          if (!IsSiteId(value)) {
            return fail(fmt::format("\"{}\" is not 1..64 characters of [A-Za-z0-9._-]", value));
          }
          site.id = value;
        } else if (name == "name") {
          site.name = value;
        } else if (name == "address") {
          site.address = value;
        } else if (name == "category") {
          bool known = false;
          for (const std::string_view category : kSiteCategories) known |= category == value;
          if (!known) {
            return fail(
                fmt::format("\"{}\" is not a category (branch, branch_lobby, store, "
                            "station, airport, hospital, office, other)",
                            value));
          }
          site.category = value;
        } else {
          const std::optional<int> offset = ParseOffset(value);
          if (!offset) {
            return fail(fmt::format("\"{}\" is not a UTC offset such as \"+09:00\"", value));
          }
          site.utc_offset_minutes = *offset;
        }
      } else if (name == "latitude" || name == "longitude") {
        const std::optional<double> value = node.value<double>();
        if (!value || !std::isfinite(*value)) return fail("expected a number of degrees");
        const double limit = name == "latitude" ? 90 : 180;
        if (*value < -limit || *value > limit) {
          return fail(fmt::format("{} is not a {} (-{}..{})", *value, name, limit, limit));
        }
        (name == "latitude" ? site.latitude : site.longitude) = *value;
        (name == "latitude" ? has_latitude : has_longitude) = true;
      } else if (name == "opening_hours") {
        if (Status read = ReadHours(node, index, site); !read) return read.error();
      } else {
        return fail(
            "unknown key (known: id, name, address, latitude, longitude, category, utc_offset, "
            "opening_hours)");
      }
    }
    const toml::source_region& where = table.source();
    if (site.id.empty()) return Fail(where, index, "id", "is missing");
    if (site.name.empty()) return Fail(where, index, "name", "is missing");
    if (!has_latitude) return Fail(where, index, "latitude", "is missing");
    if (!has_longitude) return Fail(where, index, "longitude", "is missing");
    if (site.category.empty()) site.category = "other";
    return site;
  }

 private:
  Status ReadHours(const toml::node& node, std::size_t index, Site& site) const {
    if (const auto* text = node.as_string()) {
      if (text->get() != "24/7") {
        return Fail(node.source(), index, "opening_hours",
                    fmt::format("\"{}\" is not \"24/7\"; give a table of days instead, such as "
                                "{{ mon = \"08:00-21:00\", sun = \"closed\" }}",
                                text->get()));
      }
      site.always_open = true;
      return OkStatus();
    }
    const auto* days = node.as_table();
    if (days == nullptr) {
      return Fail(node.source(), index, "opening_hours",
                  "expected \"24/7\" or a table of days (mon .. sun)");
    }
    for (auto&& [day, hours] : *days) {
      const std::string key = fmt::format("opening_hours.{}", day.str());
      std::size_t day_index = kDays.size();
      for (std::size_t i = 0; i < kDays.size(); ++i) {
        if (kDays[i] == day.str()) day_index = i;
      }
      if (day_index == kDays.size()) {
        return Fail(hours.source(), index, key, "unknown day (mon, tue, wed, thu, fri, sat, sun)");
      }
      const auto* text = hours.as_string();
      if (text == nullptr) return Fail(hours.source(), index, key, "expected \"HH:MM-HH:MM\"");
      const std::string& value = text->get();
      if (value == "closed") continue;
      const std::optional<int> open = value.size() == 11 && value[5] == '-'
                                          ? ParseClock(std::string_view(value).substr(0, 5))
                                          : std::nullopt;
      const std::optional<int> close =
          open ? ParseClock(std::string_view(value).substr(6)) : std::nullopt;
      if (!open || !close || *open >= *close || *open == kMinutesPerDay) {
        return Fail(hours.source(), index, key,
                    fmt::format("\"{}\" is not \"HH:MM-HH:MM\" (opening before closing, at most "
                                "24:00) or \"closed\"",
                                value));
      }
      site.hours[day_index] = OpeningSpan{*open, *close};
    }
    return OkStatus();
  }

  const std::string& source_;
};

}  // namespace

bool Site::OpenAt(std::int64_t unix_ns) const {
  if (always_open) return true;
  const std::int64_t local_minutes = unix_ns / kNanosPerMinute + utc_offset_minutes;
  const std::int64_t days = local_minutes >= 0
                                ? local_minutes / kMinutesPerDay
                                : (local_minutes - kMinutesPerDay + 1) / kMinutesPerDay;
  const int minute = static_cast<int>(local_minutes - days * kMinutesPerDay);
  // 1970-01-01 was a Thursday (index 3 with Monday = 0).
  const auto weekday = static_cast<std::size_t>(((days % 7) + 7 + 3) % 7);
  const std::optional<OpeningSpan>& span = hours[weekday];
  return span && minute >= span->open_minute && minute < span->close_minute;
}

Result<SiteRegistry> SiteRegistry::Parse(std::string_view toml_text,
                                         const std::string& source_name) {
  Result<toml::table> parsed = platform::ParseTomlDocument(toml_text, source_name);
  if (!parsed) return parsed.error();
  const toml::table& root = *parsed;
  SiteRegistry registry;
  for (auto&& [key, node] : root) {
    if (key.str() != "site") {
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("{}:{}: {}: unknown key (a sites file holds [[site]] tables only)",
                               source_name, key.source().begin.line, key.str()));
    }
    const auto* sites = node.as_array();
    if (sites == nullptr) {
      return Error(ErrorCode::kInvalidArgument, fmt::format("{}:{}: site: expected [[site]] tables",
                                                            source_name, key.source().begin.line));
    }
    const SiteReader reader(source_name);
    for (std::size_t i = 0; i < sites->size(); ++i) {
      const auto* table = (*sites)[i].as_table();
      if (table == nullptr) {
        return Error(ErrorCode::kInvalidArgument,
                     fmt::format("{}:{}: site[{}]: expected a table", source_name,
                                 (*sites)[i].source().begin.line, i));
      }
      Result<Site> site = reader.Read(*table, i);
      if (!site) return site.error();
      if (const Site* earlier = registry.Find(site->id)) {
        return Error(ErrorCode::kInvalidArgument,
                     fmt::format("{}:{}: site[{}].id: \"{}\" is already the id of the site on "
                                 "line {}",
                                 source_name, site->line, i, site->id, earlier->line));
      }
      registry.index_.emplace(site->id, registry.sites_.size());
      registry.sites_.push_back(std::move(*site));
    }
  }
  return registry;
}

Result<SiteRegistry> SiteRegistry::Load(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return Error(ErrorCode::kNotFound,
                 fmt::format("{}: cannot read the sites file", path.string()));
  }
  std::ostringstream text;
  text << file.rdbuf();
  return Parse(text.str(), path.string());
}

const Site* SiteRegistry::Find(std::string_view id) const {
  const auto found = index_.find(id);
  return found == index_.end() ? nullptr : &sites_[found->second];
}

double GreatCircleMeters(double latitude_a, double longitude_a, double latitude_b,
                         double longitude_b) {
  constexpr double kRadiansPerDegree = M_PI / 180.0;
  const double phi_a = latitude_a * kRadiansPerDegree;
  const double phi_b = latitude_b * kRadiansPerDegree;
  const double delta_phi = phi_b - phi_a;
  const double delta_lambda = (longitude_b - longitude_a) * kRadiansPerDegree;
  const double h =
      std::sin(delta_phi / 2) * std::sin(delta_phi / 2) +
      std::cos(phi_a) * std::cos(phi_b) * std::sin(delta_lambda / 2) * std::sin(delta_lambda / 2);
  return 2 * kEarthMeanRadiusMeters * std::asin(std::sqrt(std::min(1.0, h)));
}

}  // namespace atmhealth::collector::fleet
