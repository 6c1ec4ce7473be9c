// The bank's site registry: where each branch, store or station stands, when
// it is open and what kind of place it is. Loaded from a TOML file the bank
// maintains (docs/api.md describes it; the fields follow the UK Open Banking
// ATM locator). Devices reference a site by the site id their agents send.
//
//   [[site]]
//   id = "shinjuku-east"
//   name = "Shinjuku Station East Exit"
//   address = "3-38-1 Shinjuku, Shinjuku-ku, Tokyo"
//   latitude = 35.6909
//   longitude = 139.7003
//   category = "station"
//   utc_offset = "+09:00"
//   opening_hours = { mon = "07:00-23:00", sat = "09:00-18:00", sun = "closed" }
//   # or: opening_hours = "24/7"
//
// Every mistake is reported with the file and line:
// `sites.toml:12: site[2].latitude: 95.0 is not a latitude (-90..90)`.
#ifndef ATMHEALTH_COLLECTOR_FLEET_SITES_H_
#define ATMHEALTH_COLLECTOR_FLEET_SITES_H_

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/status.h"

namespace atmhealth::collector::fleet {

// Where a site is, as the Open Banking ATM locator's ATMLocationCategory
// words it, shortened.
inline constexpr std::array<std::string_view, 8> kSiteCategories = {
    "branch", "branch_lobby", "store", "station", "airport", "hospital", "office", "other"};

// The hours one day; minutes since local midnight, open <= t < close.
struct OpeningSpan {
  int open_minute = 0;
  int close_minute = 0;  // at most 24 * 60
};

struct Site {
  std::string id;
  std::string name;
  std::string address;
  double latitude = 0;         // degrees, WGS 84, -90..90
  double longitude = 0;        // degrees, WGS 84, -180..180
  std::string category;        // one of kSiteCategories
  int utc_offset_minutes = 0;  // local time = UTC + this
  bool always_open = false;    // "24/7"
  // Monday = 0 .. Sunday = 6; nullopt: closed that day.
  std::array<std::optional<OpeningSpan>, 7> hours;
  std::size_t line = 0;  // where it was defined, for messages

  // Whether customers can reach the site at `unix_ns` (UTC).
  bool OpenAt(std::int64_t unix_ns) const;
};

class SiteRegistry {
 public:
  // Parses the TOML text; `source_name` starts every error message.
  static Result<SiteRegistry> Parse(std::string_view toml_text, const std::string& source_name);
  static Result<SiteRegistry> Load(const std::filesystem::path& path);

  // nullptr when no site has this id.
  const Site* Find(std::string_view id) const;
  const std::vector<Site>& sites() const { return sites_; }

 private:
  std::vector<Site> sites_;  // in file order
  std::map<std::string, std::size_t, std::less<>> index_;
};

// Great-circle distance between two points on a sphere of the Earth's mean
// radius (haversine), in metres.
double GreatCircleMeters(double latitude_a, double longitude_a, double latitude_b,
                         double longitude_b);

}  // namespace atmhealth::collector::fleet

#endif  // ATMHEALTH_COLLECTOR_FLEET_SITES_H_
