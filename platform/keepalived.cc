#include "platform/keepalived.h"

#include "platform/text_input.h"

namespace atmhealth::platform {

const char* VrrpStateName(VrrpState state) {
  switch (state) {
    case VrrpState::kInit:
      return "INIT";
    case VrrpState::kBackup:
      return "BACKUP";
    case VrrpState::kMaster:
      return "MASTER";
    case VrrpState::kFault:
      return "FAULT";
    case VrrpState::kStop:
      return "STOP";
    case VrrpState::kDeleted:
      return "DELETED";
  }
  return "UNKNOWN";
}

namespace {

std::optional<VrrpState> StateFromWord(std::string_view word) {
  static constexpr VrrpState kStates[] = {VrrpState::kInit,   VrrpState::kBackup,
                                          VrrpState::kMaster, VrrpState::kFault,
                                          VrrpState::kStop,   VrrpState::kDeleted};
  for (const auto state : kStates) {
    if (word == VrrpStateName(state)) return state;
  }
  return std::nullopt;
}

std::optional<int> ParsePriority(std::string_view text) {
  const auto value = ParseUnsigned(text);
  if (!value || *value > 255) return std::nullopt;
  return static_cast<int>(*value);
}

// Splits on blanks; a word in double quotes may hold blanks. nullopt when a
// quote is not closed.
std::optional<std::vector<std::string>> SplitWords(std::string_view line) {
  std::vector<std::string> words;
  std::size_t at = 0;
  while (true) {
    at = line.find_first_not_of(" \t", at);
    if (at == std::string_view::npos) break;
    if (line[at] == '"') {
      const auto close = line.find('"', at + 1);
      if (close == std::string_view::npos) return std::nullopt;
      words.emplace_back(line.substr(at + 1, close - at - 1));
      at = close + 1;
      continue;
    }
    const auto end = std::min(line.find_first_of(" \t", at), line.size());
    words.emplace_back(line.substr(at, end - at));
    at = end;
  }
  return words;
}

}  // namespace

Result<std::optional<VrrpNotice>> ParseVrrpNoticeLine(std::string_view line,
                                                      std::string_view source, int line_number) {
  const auto words = SplitWords(Trim(line));
  if (!words) return BadLine(source, line_number, "unclosed quote in " + QuoteForError(line));
  if (words->empty()) return BadLine(source, line_number, "empty line");
  const auto& type = (*words)[0];
  if (type == "VS" || type == "RS") return std::optional<VrrpNotice>();  // LVS, not VRRP
  if (type != "INSTANCE" && type != "GROUP") {
    return BadLine(source, line_number,
                   "not \"INSTANCE|GROUP <name> <state> [priority]\": " + QuoteForError(line));
  }
  if (words->size() < 3 || words->size() > 4 || (*words)[1].empty()) {
    return BadLine(source, line_number,
                   "not \"" + type + " <name> <state> [priority]\": " + QuoteForError(line));
  }
  VrrpNotice notice;
  notice.group = type == "GROUP";
  notice.name = (*words)[1];
  const auto state = StateFromWord((*words)[2]);
  if (!state) {
    // keepalived 2.x also reports MASTER_RX_LOWER_PRI and the like: events,
    // not states.
    const auto& word = (*words)[2];
    if (!word.empty() &&
        word.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ_") == std::string::npos) {
      return std::optional<VrrpNotice>();
    }
    return BadLine(source, line_number, "state " + QuoteForError(word) + " is not a VRRP state");
  }
  notice.state = *state;
  if (words->size() == 4) {
    notice.priority = ParsePriority((*words)[3]);
    if (!notice.priority) {
      return BadLine(source, line_number,
                     "priority " + QuoteForError((*words)[3]) + " is not 0..255");
    }
  }
  return std::optional<VrrpNotice>(std::move(notice));
}

void VrrpNoticeStream::Feed(std::string_view bytes) {
  while (!bytes.empty()) {
    const std::size_t newline = bytes.find('\n');
    const std::string_view piece = bytes.substr(0, newline);
    if (!skipping_long_) {
      if (partial_.size() + piece.size() > kMaxLineBytes) {
        skipping_long_ = true;
        partial_.clear();
      } else {
        partial_.append(piece);
      }
    }
    if (newline == std::string_view::npos) return;
    bytes.remove_prefix(newline + 1);
    ++lines_;
    if (skipping_long_) {
      skipping_long_ = false;
      Malformed(BadLine(source_, static_cast<int>(lines_),
                        "line longer than " + std::to_string(kMaxLineBytes) + " bytes"));
      continue;
    }
    TakeLine(partial_);
    partial_.clear();
  }
}

void VrrpNoticeStream::WriterGone() {
  if (partial_.empty() && !skipping_long_) return;
  ++lines_;
  Malformed(BadLine(source_, static_cast<int>(lines_),
                    "the writer went away in the middle of the line " + QuoteForError(partial_)));
  partial_.clear();
  skipping_long_ = false;
}

void VrrpNoticeStream::TakeLine(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  auto notice = ParseVrrpNoticeLine(line, source_, static_cast<int>(lines_));
  if (!notice.ok()) {
    Malformed(notice.error());
    return;
  }
  if (!notice->has_value() || (*notice)->group) return;  // not an instance's state
  VrrpNotice& latest = **notice;
  const auto known = instances_.find(latest.name);
  if (known == instances_.end() && instances_.size() >= kMaxInstances) {
    Malformed(BadLine(source_, static_cast<int>(lines_),
                      "instance " + QuoteForError(latest.name) + " is one more than the " +
                          std::to_string(kMaxInstances) + " kept"));
    return;
  }
  if (known == instances_.end()) {
    instances_.emplace(latest.name, std::move(latest));
  } else {
    known->second = std::move(latest);
  }
}

void VrrpNoticeStream::Malformed(Error error) {
  ++malformed_;
  last_error_ = std::move(error);
}

Result<VrrpNotice> ParseVrrpStateFile(std::string_view text, std::string_view instance,
                                      std::string_view source) {
  std::optional<std::string_view> last;
  int last_number = 0;
  TextLines lines(text);
  while (const auto line = lines.Next()) {
    const auto trimmed = Trim(*line);
    if (trimmed.empty() || trimmed.front() == '#') continue;
    last = trimmed;
    last_number = lines.number();
  }
  if (!last) {
    return Error(ErrorCode::kInvalidArgument, std::string(source) + ": no state in the file");
  }
  if (const auto state = StateFromWord(*last)) {
    VrrpNotice notice;
    notice.name = std::string(instance);
    notice.state = *state;
    return notice;
  }
  auto notice = ParseVrrpNoticeLine(*last, source, last_number);
  if (!notice.ok()) return notice.error();
  if (!notice->has_value()) {
    return BadLine(source, last_number, "not a VRRP state: " + QuoteForError(*last));
  }
  return std::move(**notice);
}

Result<VrrpNotice> ReadVrrpStateFile(const std::string& path, std::string_view instance) {
  auto text = ReadTextFile(path, 64 << 10);  // bytes; a state file is one line
  if (!text.ok()) return text.error();
  return ParseVrrpStateFile(*text, instance, path);
}

Result<std::vector<VrrpInstanceData>> ParseKeepalivedData(std::string_view text,
                                                          std::string_view source) {
  std::vector<VrrpInstanceData> instances;
  bool in_topology = false;
  TextLines lines(text);
  while (const auto line = lines.Next()) {
    const auto trimmed = Trim(*line);
    if (trimmed.rfind("------<", 0) == 0) {
      in_topology = trimmed.find("VRRP Topology") != std::string_view::npos;
      continue;
    }
    if (!in_topology) continue;
    const auto equals = trimmed.find(" = ");
    if (equals == std::string_view::npos) continue;
    const auto key = Trim(trimmed.substr(0, equals));
    const auto value = Trim(trimmed.substr(equals + 3));
    if (key == "VRRP Instance") {
      if (value.empty()) return BadLine(source, lines.number(), "VRRP Instance without a name");
      instances.emplace_back().name = std::string(value);
      continue;
    }
    if (instances.empty()) continue;
    auto& instance = instances.back();
    auto bad = [&](std::string_view expected) {
      return BadLine(source, lines.number(),
                     "instance " + instance.name + ": " + std::string(key) + " " +
                         QuoteForError(value) + " is not " + std::string(expected));
    };
    if (key == "State" || key == "Wantstate") {
      const auto state = StateFromWord(value);
      if (!state) return bad("a VRRP state");
      (key == "State" ? instance.state : instance.wanted_state.emplace()) = *state;
    } else if (key == "Interface") {
      instance.interface = std::string(value);
    } else if (key == "Virtual Router ID" || key == "Priority" || key == "Effective priority") {
      const auto number = ParsePriority(value);
      if (!number) return bad("0..255");
      if (key == "Virtual Router ID") instance.virtual_router_id = *number;
      if (key == "Priority") instance.priority = *number;
      if (key == "Effective priority") instance.effective_priority = *number;
    }
  }
  return instances;
}

}  // namespace atmhealth::platform
