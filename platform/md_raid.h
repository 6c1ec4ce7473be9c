// Linux software RAID (md) arrays as /proc/mdstat shows them: facts only,
// the redundancy rules decide what they mean.
#ifndef ATMHEALTH_PLATFORM_MD_RAID_H_
#define ATMHEALTH_PLATFORM_MD_RAID_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/status.h"

namespace atmhealth::platform {

// What a member device is to its array; the "(F)", "(S)", "(J)", "(R)"
// after "sda1[2]" in /proc/mdstat.
enum class MdMemberRole {
  kActive,       // no mark: holds data (or is being rebuilt into the array)
  kFaulty,       // (F): failed, no longer used
  kSpare,        // (S): waits to replace a failed member
  kJournal,      // (J): write journal of a raid4/5/6 array
  kReplacement,  // (R): being copied in to replace an active member
};

const char* MdMemberRoleName(MdMemberRole role);

struct MdMember {
  std::string device;  // "sda1"
  int descriptor = 0;  // the number in brackets: md's descriptor number, not the slot
  MdMemberRole role = MdMemberRole::kActive;
  bool write_mostly = false;  // (W)
};

// A resync, recovery, check or reshape in progress or waiting.
struct MdSync {
  std::string action;  // "recovery", "resync", "check" or "reshape", as md names it
  // A running action has progress; a waiting one ("resync=DELAYED",
  // "resync=PENDING") has only `waiting` set to that word.
  std::string waiting;                         // "DELAYED", "PENDING", ...; empty while running
  double percent = 0;                          // 0..100
  std::uint64_t done = 0;                      // blocks (1 KiB) done, as md counts them
  std::uint64_t total = 0;                     // blocks (1 KiB) to do
  std::optional<std::chrono::seconds> finish;  // md's estimate of the time left
  std::optional<std::uint64_t> speed_kib_per_second;  // KiB/s
};

struct MdArray {
  std::string name;             // "md0"
  bool active = false;          // "active"; false for "inactive" (assembled but not running)
  bool read_only = false;       // "(read-only)"
  bool auto_read_only = false;  // "(auto-read-only)": read-only until the first write
  std::string level;            // "raid1", "raid5", "linear", ...; empty when md does not say
  std::vector<MdMember> members;
  std::uint64_t blocks = 0;  // size in 1 KiB blocks
  // "[n/m]": devices the array should have and devices working. Absent for
  // levels without redundancy (raid0, linear).
  std::optional<int> expected_devices;
  std::optional<int> working_devices;
  // "[UU_U]": per slot 'U' (up) or '_' (missing); empty when absent.
  std::string slot_status;
  std::optional<MdSync> sync;

  // Fewer working devices than the array should have.
  bool Degraded() const;
  // Slots (0-based) marked '_' in the slot status.
  std::vector<int> MissingSlots() const;
  // Members with the given role, e.g. the failed ones.
  std::vector<std::string> MembersWithRole(MdMemberRole role) const;
};

struct MdStat {
  std::vector<MdArray> arrays;
};

// The text of /proc/mdstat. `source` names it in errors
// ("/proc/mdstat:7: ..."). Lines md may add in future kernels are ignored;
// a line that looks like one md writes but is not well formed is an error.
Result<MdStat> ParseMdStat(std::string_view text, std::string_view source);

// ParseMdStat of `<proc_root>/mdstat`. A missing file means "no md driver":
// kNotFound.
Result<MdStat> ReadMdStat(const std::string& proc_root = "/proc");

}  // namespace atmhealth::platform

#endif  // ATMHEALTH_PLATFORM_MD_RAID_H_
