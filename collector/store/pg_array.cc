#include "collector/store/pg_array.h"

#include <fmt/format.h>

#include <cmath>

namespace atmhealth::collector {

std::string PgText(std::string_view text) {
  std::string stored;
  stored.reserve(text.size());
  for (const char c : text) {
    if (c == '\0') {
      stored += "\xEF\xBF\xBD";
    } else {
      stored += c;
    }
  }
  return stored;
}

void PgArray::Separate() {
  if (size_++ > 0) literal_ += ',';
}

PgArray& PgArray::Add(std::int64_t value) {
  Separate();
  fmt::format_to(std::back_inserter(literal_), "{}", value);
  return *this;
}

PgArray& PgArray::Add(double value) {
  Separate();
  if (std::isnan(value)) {
    literal_ += "NaN";
  } else if (std::isinf(value)) {
    literal_ += value > 0 ? "Infinity" : "-Infinity";
  } else {
    // fmt's shortest round-trip form ("0.1", "1e-300").
    fmt::format_to(std::back_inserter(literal_), "{}", value);
  }
  return *this;
}

PgArray& PgArray::Add(bool value) {
  Separate();
  literal_ += value ? "t" : "f";
  return *this;
}

PgArray& PgArray::Add(std::string_view text) {
  Separate();
  literal_.reserve(literal_.size() + text.size() + 2);
  literal_ += '"';
  for (const char c : text) {
    if (c == '\0') {
      literal_ += "\xEF\xBF\xBD";
      continue;
    }
    if (c == '"' || c == '\\') literal_ += '\\';
    literal_ += c;
  }
  literal_ += '"';
  return *this;
}

PgArray& PgArray::AddBytes(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  Separate();
  // "\\x0a1b": the element's text is \x0a1b, bytea's hex form; the
  // backslash is escaped inside the quoted element.
  literal_.reserve(literal_.size() + 2 * bytes.size() + 5);
  literal_ += "\"\\\\x";
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    literal_ += kHex[byte >> 4];
    literal_ += kHex[byte & 0xf];
  }
  literal_ += '"';
  return *this;
}

}  // namespace atmhealth::collector
