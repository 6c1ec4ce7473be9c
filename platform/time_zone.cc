#include "platform/time_zone.h"

#include <absl/time/time.h>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>

namespace atmhealth::platform {

struct TimeZone::Zone {
  absl::TimeZone zone;
};

Result<TimeZone> TimeZone::Locate(std::string_view name) {
  // Names of the database only: abseil also takes "localtime" (TZ or
  // /etc/localtime), "file:" and absolute paths, which a configured zone is not.
  const bool database_name = !name.empty() && name.front() != '/' && name != "localtime" &&
                             name.substr(0, 5) != "file:" &&
                             name.find("..") == std::string_view::npos;
  absl::TimeZone zone;
  if (!database_name || !absl::LoadTimeZone(std::string(name), &zone)) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("\"{}\" is not a time zone of this system's time zone database "
                             "(an IANA name such as \"Asia/Tokyo\")",
                             name));
  }
  TimeZone located;
  located.zone_ = std::make_shared<const Zone>(Zone{zone});
  located.name_ = std::string(name);
  return located;
}

std::chrono::seconds TimeZone::LocalSinceEpoch(std::chrono::system_clock::time_point at) const {
  const auto utc = std::chrono::floor<std::chrono::seconds>(at.time_since_epoch());
  const absl::TimeZone::CivilInfo local =
      zone_->zone.At(absl::FromUnixSeconds(static_cast<std::int64_t>(utc.count())));
  return utc + std::chrono::seconds(local.offset);
}

std::string SystemTimeZoneName() {
  // /etc/localtime links to .../zoneinfo/Area/City on Debian and systemd.
  std::error_code error;
  const std::filesystem::path target = std::filesystem::read_symlink("/etc/localtime", error);
  if (!error) {
    const std::string text = target.string();
    constexpr std::string_view kZoneinfo = "zoneinfo/";
    if (const auto at = text.rfind(kZoneinfo); at != std::string::npos) {
      std::string name = text.substr(at + kZoneinfo.size());
      if (TimeZone::Locate(name).ok()) return name;
    }
  }
  std::ifstream timezone("/etc/timezone");
  std::string name;
  if (std::getline(timezone, name) && TimeZone::Locate(name).ok()) return name;
  return "UTC";
}

}  // namespace atmhealth::platform
