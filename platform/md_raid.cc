#include "platform/md_raid.h"

#include <cmath>

#include "platform/text_input.h"

namespace atmhealth::platform {

const char* MdMemberRoleName(MdMemberRole role) {
  switch (role) {
    case MdMemberRole::kActive:
      return "active";
    case MdMemberRole::kFaulty:
      return "faulty";
    case MdMemberRole::kSpare:
      return "spare";
    case MdMemberRole::kJournal:
      return "journal";
    case MdMemberRole::kReplacement:
      return "replacement";
  }
  return "unknown";
}

bool MdArray::Degraded() const {
  return expected_devices && working_devices && *working_devices < *expected_devices;
}

std::vector<int> MdArray::MissingSlots() const {
  std::vector<int> missing;
  for (std::size_t i = 0; i < slot_status.size(); ++i) {
    if (slot_status[i] == '_') missing.push_back(static_cast<int>(i));
  }
  return missing;
}

std::vector<std::string> MdArray::MembersWithRole(MdMemberRole role) const {
  std::vector<std::string> devices;
  for (const auto& member : members) {
    if (member.role == role) devices.push_back(member.device);
  }
  return devices;
}

namespace {

// A device count that fits an int; md arrays have at most a few thousand.
constexpr std::uint64_t kMaxCount = 1u << 20;

std::vector<std::string_view> Words(std::string_view text) {
  std::vector<std::string_view> words;
  std::size_t at = 0;
  while (true) {
    at = text.find_first_not_of(" \t", at);
    if (at == std::string_view::npos) break;
    const auto end = std::min(text.find_first_of(" \t", at), text.size());
    words.push_back(text.substr(at, end - at));
    at = end;
  }
  return words;
}

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// "sdb2[2](F)", "sda1[0](W)", "sdc[1](S)".
std::optional<MdMember> ParseMember(std::string_view word) {
  const auto open = word.find('[');
  const auto close = word.find(']');
  if (open == 0 || open == std::string_view::npos || close == std::string_view::npos ||
      close < open) {
    return std::nullopt;
  }
  const auto descriptor = ParseUnsigned(word.substr(open + 1, close - open - 1));
  if (!descriptor || *descriptor > kMaxCount) return std::nullopt;
  MdMember member;
  member.device = std::string(word.substr(0, open));
  member.descriptor = static_cast<int>(*descriptor);
  std::string_view flags = word.substr(close + 1);
  while (!flags.empty()) {
    if (flags.size() < 3 || flags[0] != '(' || flags[2] != ')') return std::nullopt;
    switch (flags[1]) {
      case 'F':
        member.role = MdMemberRole::kFaulty;
        break;
      case 'S':
        member.role = MdMemberRole::kSpare;
        break;
      case 'J':
        member.role = MdMemberRole::kJournal;
        break;
      case 'R':
        member.role = MdMemberRole::kReplacement;
        break;
      case 'W':
        member.write_mostly = true;
        break;
      default:
        return std::nullopt;
    }
    flags.remove_prefix(3);
  }
  return member;
}

// "md6 : active raid1 sdb2[2](F) sdc[1](S) sda2[0]"
Result<MdArray> ParseHeader(std::string_view line, std::string_view source, int number) {
  const auto words = Words(line);
  if (words.size() < 3 || words[1] != ":") {
    return BadLine(source, number, "not \"<array> : <state> ...\": " + QuoteForError(line));
  }
  MdArray array;
  array.name = std::string(words[0]);
  if (words[2] == "active") {
    array.active = true;
  } else if (words[2] != "inactive") {
    return BadLine(source, number,
                   "array " + array.name + ": state " + QuoteForError(words[2]) +
                       " is neither \"active\" nor \"inactive\"");
  }
  std::size_t at = 3;
  for (; at < words.size() && words[at].front() == '('; ++at) {
    if (words[at] == "(read-only)") {
      array.read_only = true;
    } else if (words[at] == "(auto-read-only)") {
      array.auto_read_only = true;
    }
  }
  if (at < words.size() && words[at].find('[') == std::string_view::npos) {
    array.level = std::string(words[at++]);
  }
  for (; at < words.size(); ++at) {
    auto member = ParseMember(words[at]);
    if (!member) {
      return BadLine(source, number,
                     "array " + array.name + ": member " + QuoteForError(words[at]) +
                         " is not \"<device>[<number>]\" with optional (F), (S), (W), (J), (R)");
    }
    array.members.push_back(std::move(*member));
  }
  return array;
}

// "312319552 blocks super 1.2 [2/1] [U_]"
Status ParseSizeLine(std::string_view line, MdArray& array, std::string_view source, int number) {
  const auto words = Words(line);
  const auto blocks = ParseUnsigned(words.at(0));
  if (!blocks) {
    return BadLine(
        source, number,
        "array " + array.name + ": size " + QuoteForError(words[0]) + " is not a number");
  }
  array.blocks = *blocks;
  for (const auto word : words) {
    if (word.size() < 3 || word.front() != '[' || word.back() != ']') continue;
    const auto inner = word.substr(1, word.size() - 2);
    if (const auto slash = inner.find('/'); slash != std::string_view::npos) {
      const auto expected = ParseUnsigned(inner.substr(0, slash));
      const auto working = ParseUnsigned(inner.substr(slash + 1));
      if (!expected || !working || *expected > kMaxCount || *working > kMaxCount) {
        return BadLine(source, number,
                       "array " + array.name + ": device counts " + QuoteForError(word) +
                           " are not \"[<expected>/<working>]\"");
      }
      array.expected_devices = static_cast<int>(*expected);
      array.working_devices = static_cast<int>(*working);
    } else if (inner.find_first_not_of("U_") == std::string_view::npos) {
      array.slot_status = std::string(inner);
    }
  }
  return OkStatus();
}

// "[=>....]  recovery =  8.5% (16775552/195310144) finish=17.0min speed=259783K/sec"
// or "resync=DELAYED".
Status ParseSyncLine(std::string_view line, MdArray& array, std::string_view source, int number) {
  auto bad = [&](std::string_view what) {
    return BadLine(
        source, number,
        "array " + array.name + ": " + std::string(what) + " in " + QuoteForError(Trim(line)));
  };
  std::string_view text = Trim(line);
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return bad("progress bar without ']'");
    text = Trim(text.substr(close + 1));
  }
  const auto equals = text.find('=');
  if (equals == std::string_view::npos) return bad("no '='");
  MdSync sync;
  sync.action = std::string(Trim(text.substr(0, equals)));
  if (sync.action.empty() ||
      sync.action.find_first_not_of("abcdefghijklmnopqrstuvwxyz-") != std::string::npos) {
    return bad("no action (recovery, resync, check, reshape) before '='");
  }
  const auto words = Words(text.substr(equals + 1));
  if (words.empty()) return bad("nothing after '='");
  if (words[0].find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") == std::string_view::npos) {
    sync.waiting = std::string(words[0]);
    array.sync = std::move(sync);
    return OkStatus();
  }
  if (words[0].back() != '%') return bad("no percentage");
  const auto percent = ParseDecimal(words[0].substr(0, words[0].size() - 1));
  if (!percent || *percent > 100) return bad("percentage is not 0..100");
  sync.percent = *percent;
  for (std::size_t i = 1; i < words.size(); ++i) {
    const auto word = words[i];
    if (word.front() == '(' && word.back() == ')') {
      const auto inner = word.substr(1, word.size() - 2);
      const auto slash = inner.find('/');
      const auto done = ParseUnsigned(inner.substr(0, slash));
      const auto total =
          slash == std::string_view::npos ? std::nullopt : ParseUnsigned(inner.substr(slash + 1));
      if (!done || !total) return bad("progress is not \"(<done>/<total>)\"");
      sync.done = *done;
      sync.total = *total;
    } else if (word.rfind("finish=", 0) == 0) {
      auto value = word.substr(7);
      if (value.size() < 4 || value.substr(value.size() - 3) != "min") {
        return bad("finish is not \"<minutes>min\"");
      }
      const auto minutes = ParseDecimal(value.substr(0, value.size() - 3));
      if (!minutes || *minutes > 1e9) return bad("finish is not \"<minutes>min\"");
      sync.finish = std::chrono::seconds(std::llround(*minutes * 60));
    } else if (word.rfind("speed=", 0) == 0) {
      auto value = word.substr(6);
      if (value.size() < 6 || value.substr(value.size() - 5) != "K/sec") {
        return bad("speed is not \"<KiB>K/sec\"");
      }
      const auto speed = ParseUnsigned(value.substr(0, value.size() - 5));
      if (!speed) return bad("speed is not \"<KiB>K/sec\"");
      sync.speed_kib_per_second = *speed;
    }
  }
  array.sync = std::move(sync);
  return OkStatus();
}

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

}  // namespace

Result<MdStat> ParseMdStat(std::string_view text, std::string_view source) {
  MdStat stat;
  MdArray* current = nullptr;
  TextLines lines(text);
  while (const auto line = lines.Next()) {
    const auto trimmed = Trim(*line);
    if (trimmed.empty()) continue;
    if (!IsBlank(line->front())) {
      current = nullptr;
      if (StartsWith(trimmed, "Personalities") || StartsWith(trimmed, "unused devices") ||
          StartsWith(trimmed, "read_ahead")) {
        continue;
      }
      auto array = ParseHeader(trimmed, source, lines.number());
      if (!array.ok()) return array.error();
      stat.arrays.push_back(std::move(*array));
      current = &stat.arrays.back();
      continue;
    }
    if (current == nullptr) {
      return BadLine(source, lines.number(),
                     "indented line outside any array: " + QuoteForError(trimmed));
    }
    const auto words = Words(trimmed);
    if (words.size() >= 2 && words[1] == "blocks") {
      if (auto status = ParseSizeLine(trimmed, *current, source, lines.number()); !status.ok()) {
        return status.error();
      }
    } else if (trimmed.front() == '[' ||
               (trimmed.find('=') != std::string_view::npos && !StartsWith(trimmed, "bitmap"))) {
      if (auto status = ParseSyncLine(trimmed, *current, source, lines.number()); !status.ok()) {
        return status.error();
      }
    }
    // Anything else ("bitmap: 0/30 pages ...") is detail the rules do not use.
  }
  return stat;
}

}  // namespace atmhealth::platform
