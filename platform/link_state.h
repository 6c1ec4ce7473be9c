// Whether network interfaces are up, from /sys/class/net/<if>/operstate and
// carrier: facts only, the link-group rules decide what they mean.
#ifndef ATMHEALTH_PLATFORM_LINK_STATE_H_
#define ATMHEALTH_PLATFORM_LINK_STATE_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/status.h"

namespace atmhealth::platform {

// RFC 2863 operational state, as the kernel writes it to operstate.
enum class OperState {
  kUnknown,  // "unknown": the driver does not report it (loopback, tun, some virtual NICs)
  kNotPresent,
  kDown,
  kLowerLayerDown,
  kTesting,
  kDormant,
  kUp,
};

const char* OperStateName(OperState state);

struct LinkState {
  std::string interface;  // "eth0"
  bool present = false;   // the interface exists
  OperState oper_state = OperState::kNotPresent;
  // Physical link ("carrier" 1/0); absent when the kernel refuses to say,
  // as it does for an interface that is administratively down.
  std::optional<bool> carrier;
  // Why the interface counts as down, for the alert's context: "no such
  // interface", "operstate down", "no carrier", a read error. Empty when up.
  std::string reason;

  // Carries traffic: operstate "up", or "unknown" with carrier (drivers that
  // do not report an operstate, as iproute2 shows them UNKNOWN but working).
  bool Up() const;
};

// The text of an operstate file ("up\n"). `source` names it in errors.
Result<OperState> ParseOperState(std::string_view text, std::string_view source);
// The text of a carrier file ("1\n" or "0\n").
Result<bool> ParseCarrier(std::string_view text, std::string_view source);

// The state of each interface in `interfaces`, in that order, read under
// `<sys_root>/class/net/<if>/`. Never fails as a whole: an interface that is
// missing or unreadable is down, and `reason` says why.
std::vector<LinkState> ReadLinkStates(const std::vector<std::string>& interfaces,
                                      const std::string& sys_root = "/sys");

}  // namespace atmhealth::platform

#endif  // ATMHEALTH_PLATFORM_LINK_STATE_H_
