#include "agent/watch/storage_config.h"

#include <filesystem>
#include <initializer_list>
#include <string_view>
#include <utility>

namespace atmhealth::agent {
namespace {

using platform::FormatDuration;

// Reads the threshold keys of [storage] or one [[storage.filesystem]] over
// `rule`, which holds the values inherited so far, then checks the levels
// together. `section` must have been checked for unknown keys.
Status ReadLevels(const ConfigSection& section, const std::vector<v1::CustomerService>& offered,
                  FilesystemRule& rule) {
  ATMHEALTH_RETURN_IF_ERROR(section.ReadPercent("warning", rule.warning_percent));
  ATMHEALTH_RETURN_IF_ERROR(section.ReadPercent("critical", rule.critical_percent));
  ATMHEALTH_RETURN_IF_ERROR(section.ReadPercent("hysteresis", rule.hysteresis_percent));
  ATMHEALTH_RETURN_IF_ERROR(
      section.ReadDuration("for", rule.for_duration, ConfigSection::Zero::kAllowed));
  ATMHEALTH_RETURN_IF_ERROR(section.ReadPercent("inodes_warning", rule.inodes_warning_percent));
  ATMHEALTH_RETURN_IF_ERROR(section.ReadPercent("inodes_critical", rule.inodes_critical_percent));
  ATMHEALTH_RETURN_IF_ERROR(section.ReadServices("unavailable", rule.impact_unavailable));
  ATMHEALTH_RETURN_IF_ERROR(section.ReadServices("degraded", rule.impact_degraded));
  ATMHEALTH_RETURN_IF_ERROR(section.ReadDuration("forecast_warning", rule.forecast_warning,
                                                 ConfigSection::Zero::kRefused));
  ATMHEALTH_RETURN_IF_ERROR(section.ReadDuration("forecast_critical", rule.forecast_critical,
                                                 ConfigSection::Zero::kRefused));

  // A combined check fails at the first of `keys` written in this table: the
  // values inherited from [storage] were checked there already.
  const auto fail = [&](std::initializer_list<std::string_view> keys, const std::string& what) {
    for (std::string_view key : keys) {
      if (section.Has(key)) return section.Fail(key, what);
    }
    return section.Fail(*keys.begin(), what);
  };
  const double h = rule.hysteresis_percent;
  if (rule.critical_percent <= rule.warning_percent) {
    return fail({"critical", "warning"}, fmt::format("critical ({}) must be above warning ({})",
                                                     FormatNumber(rule.critical_percent),
                                                     FormatNumber(rule.warning_percent)));
  }
  if (rule.inodes_critical_percent <= rule.inodes_warning_percent) {
    return fail({"inodes_critical", "inodes_warning"},
                fmt::format("inodes_critical ({}) must be above inodes_warning ({})",
                            FormatNumber(rule.inodes_critical_percent),
                            FormatNumber(rule.inodes_warning_percent)));
  }
  // Otherwise leaving critical would land beyond warning's threshold, and a
  // value at the bottom of the band could never leave it.
  if (h >= rule.critical_percent - rule.warning_percent) {
    return fail({"hysteresis", "critical", "warning"},
                fmt::format("hysteresis ({}) must be smaller than the gap between warning ({}) "
                            "and critical ({})",
                            FormatNumber(h), FormatNumber(rule.warning_percent),
                            FormatNumber(rule.critical_percent)));
  }
  if (h >= rule.inodes_critical_percent - rule.inodes_warning_percent) {
    return fail({"hysteresis", "inodes_critical", "inodes_warning"},
                fmt::format("hysteresis ({}) must be smaller than the gap between inodes_warning "
                            "({}) and inodes_critical ({})",
                            FormatNumber(h), FormatNumber(rule.inodes_warning_percent),
                            FormatNumber(rule.inodes_critical_percent)));
  }
  // A warning can only resolve when the value can fall below warning - hysteresis.
  if (h >= rule.warning_percent || h >= rule.inodes_warning_percent) {
    return fail({"hysteresis", "warning", "inodes_warning"},
                fmt::format("hysteresis ({}) must be below warning ({}) and inodes_warning ({}), "
                            "or the alert could never resolve",
                            FormatNumber(h), FormatNumber(rule.warning_percent),
                            FormatNumber(rule.inodes_warning_percent)));
  }
  if (rule.forecast_critical >= rule.forecast_warning) {
    return fail(
        {"forecast_critical", "forecast_warning"},
        fmt::format("forecast_critical ({}) must be shorter than forecast_warning ({}): "
                    "full sooner is worse",
                    FormatDuration(rule.forecast_critical), FormatDuration(rule.forecast_warning)));
  }
  for (std::string_view key : {"unavailable", "degraded"}) {
    const auto& listed = key == "unavailable" ? rule.impact_unavailable : rule.impact_degraded;
    for (v1::CustomerService service : listed) {
      if (std::find(offered.begin(), offered.end(), service) == offered.end()) {
        return fail({key}, fmt::format("\"{}\" is not among device.services ({})",
                                       wire::ShortName(service), ServiceNames(offered)));
      }
    }
  }
  for (v1::CustomerService service : rule.impact_unavailable) {
    if (std::find(rule.impact_degraded.begin(), rule.impact_degraded.end(), service) !=
        rule.impact_degraded.end()) {
      return fail({"degraded", "unavailable"},
                  fmt::format("\"{}\" is listed both as unavailable and as degraded",
                              wire::ShortName(service)));
    }
  }
  return OkStatus();
}

// "/var/" and "/var/./" watch the same place as "/var".
std::string NormalPath(const std::string& path) {
  std::string normal = std::filesystem::path(path).lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  return normal;
}

Status ReadStorage(const ConfigSection& storage, const std::vector<v1::CustomerService>& offered,
                   StorageConfig& out) {
  ATMHEALTH_RETURN_IF_ERROR(
      storage.CheckKeys({"interval", "probe_timeout", "all_mounts", "forecast", "forecast_window",
                         "forecast_min_samples", "filesystem", "warning", "critical", "hysteresis",
                         "for", "inodes_warning", "inodes_critical", "unavailable", "degraded",
                         "forecast_warning", "forecast_critical"},
                        false));
  using Zero = ConfigSection::Zero;
  ATMHEALTH_RETURN_IF_ERROR(storage.ReadSamplingTime("interval", out.interval));
  ATMHEALTH_RETURN_IF_ERROR(storage.ReadSamplingTime("probe_timeout", out.probe_timeout));
  if (out.probe_timeout > out.interval) {
    return storage.Fail(
        storage.Has("probe_timeout") ? "probe_timeout" : "interval",
        fmt::format("probe_timeout ({}) must not be longer than interval ({})",
                    FormatDuration(out.probe_timeout), FormatDuration(out.interval)));
  }
  ATMHEALTH_RETURN_IF_ERROR(storage.ReadBool("all_mounts", out.all_mounts));
  ATMHEALTH_RETURN_IF_ERROR(storage.ReadBool("forecast", out.forecast));
  ATMHEALTH_RETURN_IF_ERROR(
      storage.ReadDuration("forecast_window", out.forecast_window, Zero::kRefused));
  ATMHEALTH_RETURN_IF_ERROR(storage.ReadCount("forecast_min_samples", out.forecast_min_samples, 3,
                                              static_cast<std::int64_t>(kMaxForecastSamples)));
  // The window must be able to hold the samples the fit needs.
  if (out.forecast) {
    const std::chrono::milliseconds spacing = std::max(
        out.interval, out.forecast_window / static_cast<std::int64_t>(kMaxForecastSamples));
    const auto fits = static_cast<std::size_t>(out.forecast_window / spacing) + 1;
    if (fits < out.forecast_min_samples) {
      return storage.Fail(
          storage.Has("forecast_window") ? "forecast_window" : "forecast_min_samples",
          fmt::format("forecast_window ({}) holds {} samples at interval {}, fewer than "
                      "forecast_min_samples ({})",
                      FormatDuration(out.forecast_window), fits, FormatDuration(out.interval),
                      out.forecast_min_samples));
    }
  }
  ATMHEALTH_RETURN_IF_ERROR(ReadLevels(storage, offered, out.defaults));

  const toml::node* filesystems = storage.Get("filesystem");
  if (filesystems == nullptr) return OkStatus();
  if (filesystems->is_array() && filesystems->as_array()->empty()) return OkStatus();
  if (!filesystems->is_array_of_tables()) {
    return storage.Fail("filesystem",
                        fmt::format("must be a list of tables, written [[storage.filesystem]], "
                                    "not {}",
                                    TypeName(filesystems->type())));
  }
  const toml::array& array = *filesystems->as_array();
  std::vector<std::uint32_t> lines;
  for (std::size_t i = 0; i < array.size(); ++i) {
    const ConfigSection filesystem(storage.source(), *array.get(i)->as_table(),
                                   fmt::format("{}[{}]", storage.PathOf("filesystem"), i),
                                   storage.line());
    ATMHEALTH_RETURN_IF_ERROR(filesystem.CheckKeys(
        {"path", "warning", "critical", "hysteresis", "for", "inodes_warning", "inodes_critical",
         "unavailable", "degraded", "forecast_warning", "forecast_critical"},
        false));
    FilesystemRule rule = out.defaults;
    if (!filesystem.Has("path")) {
      return filesystem.Fail("path", "required: the directory or mount point to watch");
    }
    ATMHEALTH_RETURN_IF_ERROR(filesystem.ReadString("path", rule.path));
    if (rule.path.empty() || rule.path.front() != '/') {
      return filesystem.Fail("path",
                             fmt::format("must be an absolute path, not \"{}\"", rule.path));
    }
    rule.path = NormalPath(rule.path);
    for (std::size_t j = 0; j < out.filesystems.size(); ++j) {
      if (out.filesystems[j].path == rule.path) {
        return filesystem.Fail(
            "path", fmt::format("\"{}\" is already watched by {}[{}] (line {})", rule.path,
                                storage.PathOf("filesystem"), j, lines[j]));
      }
    }
    ATMHEALTH_RETURN_IF_ERROR(ReadLevels(filesystem, offered, rule));
    out.filesystems.push_back(std::move(rule));
    lines.push_back(filesystem.line());
  }
  return OkStatus();
}

}  // namespace

std::vector<std::string> StorageConfig::Describe() const {
  std::vector<std::string> lines;
  for (const FilesystemRule& fs : filesystems) {
    lines.push_back(fmt::format("storage {}: warning {}%, critical {}%{}", fs.path,
                                FormatNumber(fs.warning_percent), FormatNumber(fs.critical_percent),
                                forecast ? fmt::format(", full within {} warning, {} critical",
                                                       FormatDuration(fs.forecast_warning),
                                                       FormatDuration(fs.forecast_critical))
                                         : ""));
  }
  if (all_mounts) lines.push_back("storage: every data filesystem mounted, now or later");
  lines.push_back(fmt::format("storage: sampled every {}", FormatDuration(interval)));
  return lines;
}

Result<std::shared_ptr<const StorageConfig>> ReadStorageConfig(
    const ConfigSection& section, const std::vector<v1::CustomerService>& offered) {
  auto config = std::make_shared<StorageConfig>();
  ATMHEALTH_RETURN_IF_ERROR(ReadStorage(section, offered, *config));
  return std::shared_ptr<const StorageConfig>(std::move(config));
}

}  // namespace atmhealth::agent
