#include "platform/log_text.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <memory>
#include <optional>

namespace atmhealth::platform {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void AppendByteEscape(unsigned char byte, std::string& out) {
  out += "\\x";
  out += kHex[byte >> 4];
  out += kHex[byte & 0xf];
}

// The code point of the well-formed UTF-8 sequence at the start of `text`
// and its length, or nullopt (overlong forms, surrogates and values above
// U+10FFFF are not well-formed).
std::optional<std::pair<std::uint32_t, std::size_t>> DecodeUtf8(std::string_view text) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  std::size_t length = 0;
  std::uint32_t code = 0;
  std::uint32_t min = 0;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2, code = lead & 0x1f, min = 0x80;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3, code = lead & 0x0f, min = 0x800;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4, code = lead & 0x07, min = 0x10000;
  } else {
    return std::nullopt;
  }
  if (text.size() < length) return std::nullopt;
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xc0) != 0x80) return std::nullopt;
    code = (code << 6) | (byte(i) & 0x3f);
  }
  if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return std::nullopt;
  return std::pair{code, length};
}

// Code points that end a line or reorder what follows on some terminal or
// log viewer.
bool IsUnicodeControl(std::uint32_t code) {
  return (code >= 0x80 && code <= 0x9f) ||      // C1 controls (NEL is one)
         code == 0x2028 || code == 0x2029 ||    // line and paragraph separators
         (code >= 0x202a && code <= 0x202e) ||  // bidirectional embeddings and overrides
         (code >= 0x2066 && code <= 0x2069);    // bidirectional isolates
}

class EscapedMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string escaped =
        EscapeControlCharacters(std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(escaped.data(), escaped.data() + escaped.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<EscapedMessage>();
  }
};

}  // namespace

std::string EscapeControlCharacters(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte >= 0x20 && byte < 0x7f) {
      if (byte == '\\') out += '\\';
      out += static_cast<char>(byte);
      ++i;
      continue;
    }
    if (byte < 0x80) {
      switch (byte) {
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          AppendByteEscape(byte, out);
      }
      ++i;
      continue;
    }
    const auto decoded = DecodeUtf8(text.substr(i));
    if (!decoded) {
      AppendByteEscape(byte, out);
      ++i;
      continue;
    }
    const auto [code, length] = *decoded;
    if (IsUnicodeControl(code)) {
      out += "\\u";
      for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(code >> shift) & 0xf];
    } else {
      out.append(text.substr(i, length));
    }
    i += length;
  }
  return out;
}

std::unique_ptr<spdlog::formatter> EscapingFormatter(const std::string& pattern) {
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<EscapedMessage>('*').set_pattern(pattern);
  return formatter;
}

void EscapeEveryLogMessage() {
  auto logger = spdlog::default_logger();
  const std::string pattern =
      logger->name().empty() ? kEscapedDefaultPattern : "[%Y-%m-%d %H:%M:%S.%e] [%n] [%^%l%$] %*";
  logger->set_formatter(EscapingFormatter(pattern));
}

}  // namespace atmhealth::platform
