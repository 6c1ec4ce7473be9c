#include "proto/schema_limits.h"

#include <fmt/format.h>

#include <random>

namespace atmhealth::wire {
namespace {

// Length of the valid UTF-8 sequence at the start of `text`, 0 if invalid
// (overlong forms and surrogates included, as protobuf checks them).
std::size_t Utf8SequenceLength(std::string_view text) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const auto continuation = [&](std::size_t i, unsigned char low = 0x80,
                                unsigned char high = 0xBF) {
    return i < text.size() && byte(i) >= low && byte(i) <= high;
  };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return continuation(1) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    const unsigned char low = lead == 0xE0 ? 0xA0 : 0x80;
    const unsigned char high = lead == 0xED ? 0x9F : 0xBF;
    return continuation(1, low, high) && continuation(2) ? 3 : 0;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    const unsigned char low = lead == 0xF0 ? 0x90 : 0x80;
    const unsigned char high = lead == 0xF4 ? 0x8F : 0xBF;
    return continuation(1, low, high) && continuation(2) && continuation(3) ? 4 : 0;
  }
  return 0;
}

// Whether SchemaText(text, max_bytes) is `text` itself: short enough and
// valid UTF-8 throughout. The common case, checked without a copy.
bool IsSchemaText(std::string_view text, std::size_t max_bytes) {
  if (text.size() > max_bytes) return false;
  for (std::size_t i = 0; i < text.size();) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    const std::size_t length = Utf8SequenceLength(text.substr(i));
    if (length == 0) return false;
    i += length;
  }
  return true;
}

// Sets `*field` to SchemaText of itself; true if that changed it.
bool Clamp(std::string* field, std::size_t max_bytes) {
  if (IsSchemaText(*field, max_bytes)) return false;
  *field = SchemaText(*field, max_bytes);  // differs: too long, or not UTF-8
  return true;
}

bool ClampList(google::protobuf::RepeatedField<int>* list) {
  if (static_cast<std::size_t>(list->size()) <= kMaxImpactEntries) return false;
  list->Truncate(static_cast<int>(kMaxImpactEntries));
  return true;
}

}  // namespace

std::string SchemaText(std::string_view text, std::size_t max_bytes) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::string out;
  std::size_t i = 0;
  // Where `out` may be cut so that the marker still fits.
  std::size_t cut_at = 0;
  while (i < text.size()) {
    const std::size_t length = Utf8SequenceLength(text.substr(i));
    const std::string_view piece = length == 0 ? kReplacement : text.substr(i, length);
    if (out.size() + piece.size() > max_bytes) {
      if (max_bytes >= kCutMarker.size()) {
        out.resize(cut_at);
        out.append(kCutMarker);
      }
      return out;
    }
    out.append(piece);
    if (out.size() + kCutMarker.size() <= max_bytes) cut_at = out.size();
    i += length == 0 ? 1 : length;
  }
  return out;
}

bool ClampEventToSchema(v1::Event& event) {
  bool changed = Clamp(event.mutable_boot_id(), kMaxBootIdBytes);
  changed |= Clamp(event.mutable_subject(), kMaxSubjectBytes);
  changed |= Clamp(event.mutable_alert_key(), kMaxAlertKeyBytes);
  changed |= Clamp(event.mutable_summary(), kMaxSummaryBytes);
  if (static_cast<std::size_t>(event.context_size()) > kMaxContextEntries) {
    event.mutable_context()->DeleteSubrange(
        static_cast<int>(kMaxContextEntries),
        event.context_size() - static_cast<int>(kMaxContextEntries));
    changed = true;
  }
  for (v1::ContextEntry& entry : *event.mutable_context()) {
    changed |= Clamp(entry.mutable_key(), kMaxContextKeyBytes);
    changed |= Clamp(entry.mutable_value(), kMaxContextValueBytes);
  }
  changed |= ClampList(event.mutable_impact()->mutable_unavailable());
  changed |= ClampList(event.mutable_impact()->mutable_degraded());
  return changed;
}

bool FitEventInBytes(v1::Event& event, std::size_t max_bytes) {
  if (event.ByteSizeLong() <= max_bytes) return true;
  const int entries = event.context_size();
  while (event.context_size() > 0 && event.ByteSizeLong() > max_bytes) {
    event.mutable_context()->RemoveLast();
  }
  const std::string note = fmt::format(" [{} of {} context entries left out: frame limit]",
                                       entries - event.context_size(), entries);
  if (entries > event.context_size()) {
    std::string summary = SchemaText(event.summary(), kMaxSummaryBytes - note.size()) + note;
    event.set_summary(std::move(summary));
  }
  while (event.ByteSizeLong() > max_bytes && !event.summary().empty()) {
    const std::size_t over = event.ByteSizeLong() - max_bytes;
    const std::size_t keep = event.summary().size() > over + kCutMarker.size()
                                 ? event.summary().size() - over - kCutMarker.size()
                                 : 0;
    event.set_summary(SchemaText(event.summary(), keep));
  }
  return event.ByteSizeLong() <= max_bytes;
}

std::string NewBufferId() {
  std::random_device random;
  std::string id;
  for (int i = 0; i < 4; ++i) id += fmt::format("{:08x}", static_cast<std::uint32_t>(random()));
  return id;
}

bool IsValidBufferId(std::string_view id) {
  if (id.empty()) return true;
  if (id.size() != kBufferIdHexDigits) return false;
  for (const char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace atmhealth::wire
