#include "agent/watch/raid_watcher.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "platform/config_values.h"
#include "platform/text_input.h"

namespace atmhealth::agent {
namespace {

// bytes; a real mdstat is a few KiB
constexpr std::size_t kMaxMdStatBytes = 1 << 20;

std::string Join(const std::vector<std::string>& items) {
  return fmt::format("{}", fmt::join(items, ","));
}

bool StartsWord(std::string_view line, std::string_view word) {
  return line.size() > word.size() && line.compare(0, word.size(), word) == 0 &&
         (line[word.size()] == ' ' || line[word.size()] == '\t');
}

// The lines of `name` in mdstat: its "mdN : ..." line and the indented lines
// after it, up to a blank line or the next array.
std::string ArrayBlock(std::string_view text, std::string_view name) {
  std::string block;
  bool inside = false;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(at, end - at);
    at = end + 1;
    if (!inside) {
      inside = StartsWord(line, name);
      if (inside) block.append(line);
      continue;
    }
    if (line.empty() || (line.front() != ' ' && line.front() != '\t')) break;
    block.append("\n").append(line);
  }
  return block;
}

bool Rebuilding(const platform::MdSync& sync) {
  return sync.waiting.empty() &&
         (sync.action == "recovery" || sync.action == "resync" || sync.action == "reshape");
}

bool IsContainer(const platform::MdArray& array) {
  return !array.members.empty() &&
         std::all_of(array.members.begin(), array.members.end(), [](const platform::MdMember& m) {
           return m.role == platform::MdMemberRole::kSpare;
         });
}

}  // namespace

RaidWatcher::RaidWatcher(const RaidConfig& config)
    : config_(config), source_("raid", config.proc_root + "/mdstat") {
  subjects_ = config_.arrays;
}

WatcherKind RaidWatcher::Kind() {
  WatcherKind kind;
  kind.section = "raid";
  kind.parse = [](const ConfigSection& section,
                  const DeviceConfig& device) -> Result<std::shared_ptr<const WatcherSettings>> {
    auto config = ReadRaidConfig(section, device.services);
    if (!config.ok()) return config.error();
    return std::shared_ptr<const WatcherSettings>(std::move(config).value());
  };
  kind.create = [](const WatcherSettings& settings,
                   const WatcherContext&) -> Result<std::unique_ptr<Watcher>> {
    const auto& config = dynamic_cast<const RaidConfig&>(settings);
    spdlog::info("watching md RAID arrays in {}/mdstat", config.proc_root);
    return std::unique_ptr<Watcher>(new RaidWatcher(config));
  };
  return kind;
}

RedundancyState RaidWatcher::StateOf(const platform::MdArray& array) {
  if (!array.active) return RedundancyState::kDown;
  const bool rebuilding = array.sync && Rebuilding(*array.sync);
  if (array.Degraded())
    return rebuilding ? RedundancyState::kRecovering : RedundancyState::kDegraded;
  // A resync after an unclean stop or a reshape: the copies are not all
  // known to agree yet. A check (scrub) changes nothing.
  return rebuilding ? RedundancyState::kRecovering : RedundancyState::kRedundant;
}

Measurement RaidWatcher::Measure(const platform::MdArray& array, std::string_view block) {
  int members = 0;
  for (const auto& member : array.members) {
    if (member.role == platform::MdMemberRole::kActive) ++members;
  }
  // An inactive array serves nothing, whatever its counts say.
  double working = array.working_devices ? *array.working_devices : members;
  if (!array.active) working = 0;
  Measurement m(v1::ALERT_KIND_RAID, array.name, working, v1::UNIT_COUNT);
  m.state = StateOf(array);
  m.expected = array.expected_devices ? *array.expected_devices : members;
  auto& context = m.context;
  context.emplace_back("level", array.level.empty() ? "unknown" : array.level);
  context.emplace_back(
      "activity", array.active ? (array.read_only ? "active, read-only" : "active") : "inactive");
  if (!array.slot_status.empty()) context.emplace_back("slots", "[" + array.slot_status + "]");
  std::vector<std::string> all;
  for (const auto& member : array.members) all.push_back(member.device);
  context.emplace_back("members", Join(all));
  const auto failed = array.MembersWithRole(platform::MdMemberRole::kFaulty);
  if (!failed.empty()) context.emplace_back("failed", Join(failed));
  std::vector<std::string> missing;
  for (int slot : array.MissingSlots()) missing.push_back(std::to_string(slot));
  if (!missing.empty()) context.emplace_back("missing_slots", Join(missing));
  context.emplace_back(
      "spares", std::to_string(array.MembersWithRole(platform::MdMemberRole::kSpare).size()));
  if (array.sync) {
    const platform::MdSync& sync = *array.sync;
    context.emplace_back("sync_action", sync.action);
    if (!sync.waiting.empty()) {
      context.emplace_back("sync_waiting", sync.waiting);
    } else {
      context.emplace_back("sync_progress", fmt::format("{:.1f}%", sync.percent));
      context.emplace_back("sync_blocks", fmt::format("{}/{}", sync.done, sync.total));
      if (sync.finish) {
        context.emplace_back(
            "sync_eta", platform::FormatDuration(
                            std::chrono::duration_cast<std::chrono::milliseconds>(*sync.finish)));
      }
      if (sync.speed_kib_per_second) {
        context.emplace_back("sync_speed", fmt::format("{} KiB/s", *sync.speed_kib_per_second));
      }
    }
  }
  if (!block.empty()) context.emplace_back("mdstat", std::string(block));
  return m;
}

void RaidWatcher::Sample(std::vector<Measurement>& out) {
  const std::string path = config_.proc_root + "/mdstat";
  auto text = platform::ReadTextFile(path, kMaxMdStatBytes);
  // No mdstat: no md driver, so no arrays (a listed one is down).
  if (!text.ok() && text.error().code() == ErrorCode::kNotFound) text = std::string();
  Result<platform::MdStat> mdstat =
      text.ok() ? platform::ParseMdStat(*text, path) : Result<platform::MdStat>(text.error());
  if (!mdstat.ok()) {
    // The arrays keep their state: nothing is known about them now.
    out.push_back(source_.Failed(mdstat.error()));
    return;
  }
  out.push_back(source_.Worked());

  std::vector<std::string> subjects = config_.arrays;
  for (const platform::MdArray& array : mdstat->arrays) {
    const bool listed =
        std::find(config_.arrays.begin(), config_.arrays.end(), array.name) != config_.arrays.end();
    // raid0 and linear have no redundancy to lose; an inactive array made
    // only of spares is the container of external (IMSM, DDF) metadata,
    // inactive by design.
    if (!listed && array.active && !array.expected_devices) continue;
    if (!listed && !array.active && IsContainer(array)) continue;
    if (!listed) subjects.push_back(array.name);
    out.push_back(Measure(array, ArrayBlock(*text, array.name)));
  }
  for (const std::string& name : config_.arrays) {
    const bool present =
        std::any_of(mdstat->arrays.begin(), mdstat->arrays.end(),
                    [&](const platform::MdArray& array) { return array.name == name; });
    if (present) continue;
    Measurement gone(v1::ALERT_KIND_RAID, name, 0, v1::UNIT_COUNT,
                     {{"condition", fmt::format("not in {}", path)}});
    gone.state = RedundancyState::kDown;
    out.push_back(std::move(gone));
  }
  subjects_ = std::move(subjects);
}

std::vector<RuleDefinition> RaidWatcher::Rules() const {
  std::vector<RuleDefinition> rules;
  rules.reserve(subjects_.size() + 1);
  for (const std::string& subject : subjects_) {
    rules.push_back(RedundancyRule(v1::ALERT_KIND_RAID, subject, config_.states));
  }
  rules.push_back(source_.Rule());
  return rules;
}

}  // namespace atmhealth::agent
