// keepalived's view of its VRRP instances: the lines its notify FIFO carries,
// the state file a notify script writes, and the data file it dumps on
// SIGUSR1. Facts only; the redundancy rules decide what they mean.
#ifndef ATMHEALTH_PLATFORM_KEEPALIVED_H_
#define ATMHEALTH_PLATFORM_KEEPALIVED_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/status.h"

namespace atmhealth::platform {

enum class VrrpState { kInit, kBackup, kMaster, kFault, kStop, kDeleted };

// "MASTER", "BACKUP", ... as keepalived writes them.
const char* VrrpStateName(VrrpState state);

// One state change of a VRRP instance or sync group.
struct VrrpNotice {
  bool group = false;  // a sync group ("GROUP"), not an instance ("INSTANCE")
  std::string name;    // "VI_1"
  VrrpState state = VrrpState::kInit;
  std::optional<int> priority;  // 0..255 when keepalived gives it
};

// One line of the notify FIFO (`INSTANCE "VI_1" MASTER 100`) or the arguments
// keepalived passes a notify script (`INSTANCE VI_1 MASTER 100`). A
// well-formed line about something else (`VS "..." UP`, `RS ...`,
// `INSTANCE "VI_1" MASTER_RX_LOWER_PRI 100`) is nullopt; a malformed one an
// error naming `<source>:<line_number>`.
Result<std::optional<VrrpNotice>> ParseVrrpNoticeLine(std::string_view line,
                                                      std::string_view source, int line_number);

// keepalived's notify FIFO (vrrp_notify_fifo) as its bytes arrive: lines
// are put together across reads and parsed with ParseVrrpNoticeLine, and the
// latest state of each instance is kept (sync groups and LVS lines are
// skipped). A malformed line is counted and kept as the latest error, naming
// `<source>:<line>` (lines are counted from the first byte fed); it never
// stops the stream. Bounded: a line longer than kMaxLineBytes is malformed
// (the rest of it is skipped), and a notice about an instance beyond the
// kMaxInstances first ones is malformed. Not thread-safe.
class VrrpNoticeStream {
 public:
  static constexpr std::size_t kMaxLineBytes = 1024;
  static constexpr std::size_t kMaxInstances = 256;

  explicit VrrpNoticeStream(std::string source) : source_(std::move(source)) {}

  // Takes the next bytes read from the FIFO.
  void Feed(std::string_view bytes);
  // The writer closed its end: an unfinished last line is malformed.
  void WriterGone();

  // The latest notice of each instance, by name.
  const std::map<std::string, VrrpNotice>& instances() const { return instances_; }
  std::uint64_t lines() const { return lines_; }          // complete lines so far
  std::uint64_t malformed() const { return malformed_; }  // of which malformed
  // The latest malformed line's error ("<source>:<line>: ..."), if any.
  const std::optional<Error>& last_error() const { return last_error_; }

 private:
  void TakeLine(std::string_view line);
  void Malformed(Error error);

  std::string source_;
  std::string partial_;         // bytes of the line not yet ended
  bool skipping_long_ = false;  // inside a line already refused as too long
  std::map<std::string, VrrpNotice> instances_;
  std::uint64_t lines_ = 0;
  std::uint64_t malformed_ = 0;
  std::optional<Error> last_error_;
};

// A state file written by a notify script: its last line that is neither
// blank nor a '#' comment, either a notice line as above or a lone state word
// ("MASTER"), which is then the state of `instance`.
Result<VrrpNotice> ParseVrrpStateFile(std::string_view text, std::string_view instance,
                                      std::string_view source);
// ParseVrrpStateFile of the file at `path`.
Result<VrrpNotice> ReadVrrpStateFile(const std::string& path, std::string_view instance);

// One VRRP instance of keepalived's data dump (/tmp/keepalived.data).
struct VrrpInstanceData {
  std::string name;
  VrrpState state = VrrpState::kInit;
  std::optional<VrrpState> wanted_state;
  std::string interface;
  std::optional<int> virtual_router_id;
  std::optional<int> priority;            // configured
  std::optional<int> effective_priority;  // after tracked scripts and interfaces
};

// The "VRRP Topology" section of a keepalived data dump.
Result<std::vector<VrrpInstanceData>> ParseKeepalivedData(std::string_view text,
                                                          std::string_view source);

}  // namespace atmhealth::platform

#endif  // ATMHEALTH_PLATFORM_KEEPALIVED_H_
