#include "platform/link_state.h"

#include "platform/text_input.h"

namespace atmhealth::platform {

const char* OperStateName(OperState state) {
  switch (state) {
    case OperState::kUnknown:
      return "unknown";
    case OperState::kNotPresent:
      return "notpresent";
    case OperState::kDown:
      return "down";
    case OperState::kLowerLayerDown:
      return "lowerlayerdown";
    case OperState::kTesting:
      return "testing";
    case OperState::kDormant:
      return "dormant";
    case OperState::kUp:
      return "up";
  }
  return "unknown";
}

bool LinkState::Up() const {
  if (!present) return false;
  if (oper_state == OperState::kUp) return carrier.value_or(true);
  return oper_state == OperState::kUnknown && carrier.value_or(false);
}

Result<OperState> ParseOperState(std::string_view text, std::string_view source) {
  const auto word = Trim(text);
  static constexpr OperState kStates[] = {
      OperState::kUnknown, OperState::kNotPresent, OperState::kDown, OperState::kLowerLayerDown,
      OperState::kTesting, OperState::kDormant,    OperState::kUp};
  for (const auto state : kStates) {
    if (word == OperStateName(state)) return state;
  }
  return BadLine(source, 1,
                 "operstate " + QuoteForError(word) +
                     " is not one of unknown, notpresent, down, lowerlayerdown, "
                     "testing, dormant, up");
}

Result<bool> ParseCarrier(std::string_view text, std::string_view source) {
  const auto word = Trim(text);
  if (word == "1") return true;
  if (word == "0") return false;
  return BadLine(source, 1, "carrier " + QuoteForError(word) + " is not 0 or 1");
}

}  // namespace atmhealth::platform
