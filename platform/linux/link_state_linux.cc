#include "platform/link_state.h"
#include "platform/text_input.h"

namespace atmhealth::platform {
namespace {

constexpr std::size_t kMaxSysfsBytes = 4096;   // bytes; a sysfs attribute is one page at most
constexpr std::size_t kMaxInterfaceName = 15;  // IFNAMSIZ - 1

bool IsInterfaceName(const std::string& name) {
  return !name.empty() && name.size() <= kMaxInterfaceName && name != "." && name != ".." &&
         name.find('/') == std::string::npos && name.find('\0') == std::string::npos;
}

LinkState ReadOne(const std::string& interface, const std::string& sys_root) {
  LinkState state;
  state.interface = interface;
  if (!IsInterfaceName(interface)) {
    state.reason = "not an interface name";
    return state;
  }
  const std::string directory = sys_root + "/class/net/" + interface;
  auto oper_text = ReadTextFile(directory + "/operstate", kMaxSysfsBytes);
  if (!oper_text.ok()) {
    state.reason = oper_text.error().code() == ErrorCode::kNotFound ? "no such interface"
                                                                    : oper_text.error().message();
    return state;
  }
  state.present = true;
  auto oper = ParseOperState(*oper_text, directory + "/operstate");
  if (!oper.ok()) {
    state.oper_state = OperState::kUnknown;
    state.reason = oper.error().message();
    return state;
  }
  state.oper_state = *oper;
  // Reading carrier of an interface that is administratively down fails
  // with EINVAL: the kernel does not know, which is not "no carrier".
  if (auto carrier_text = ReadTextFile(directory + "/carrier", kMaxSysfsBytes); carrier_text.ok()) {
    if (auto carrier = ParseCarrier(*carrier_text, directory + "/carrier"); carrier.ok()) {
      state.carrier = *carrier;
    }
  }
  if (!state.Up()) {
    if (state.carrier == false) {
      state.reason = std::string("no carrier (operstate ") + OperStateName(state.oper_state) + ")";
    } else {
      state.reason = std::string("operstate ") + OperStateName(state.oper_state);
    }
  }
  return state;
}

}  // namespace

std::vector<LinkState> ReadLinkStates(const std::vector<std::string>& interfaces,
                                      const std::string& sys_root) {
  std::vector<LinkState> states;
  states.reserve(interfaces.size());
  for (const auto& interface : interfaces) states.push_back(ReadOne(interface, sys_root));
  return states;
}

}  // namespace atmhealth::platform
