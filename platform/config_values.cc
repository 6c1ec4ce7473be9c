#include "platform/config_values.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <limits>

namespace atmhealth::platform {
namespace {

// Splits "<digits><unit>" into its number and unit; false when it does not
// start with a digit or the number does not fit.
bool SplitQuantity(std::string_view text, std::uint64_t& number, std::string_view& unit) {
  std::size_t i = 0;
  number = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    const std::uint64_t digit = static_cast<std::uint64_t>(text[i] - '0');
    if (number > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return false;
    number = number * 10 + digit;
    ++i;
  }
  if (i == 0) return false;
  unit = text.substr(i);
  return true;
}

}  // namespace

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  std::uint64_t number = 0;
  std::string_view unit;
  if (!SplitQuantity(text, number, unit)) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("\"{}\" is not a duration: write a whole number and a unit (ms, s, "
                             "m, h, d), e.g. \"30s\"",
                             text));
  }
  std::uint64_t factor = 0;
  if (unit == "ms") {
    factor = 1;
  } else if (unit == "s") {
    factor = 1000;
  } else if (unit == "m") {
    factor = 60'000;
  } else if (unit == "h") {
    factor = 3'600'000;
  } else if (unit == "d") {
    factor = 86'400'000;
  } else if (unit.empty()) {
    return Error(
        ErrorCode::kInvalidArgument,
        fmt::format("\"{}\" has no unit: write e.g. \"{}s\" (units ms, s, m, h, d)", text, number));
  } else {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("\"{}\": unknown unit \"{}\" (units ms, s, m, h, d)", text, unit));
  }
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (number > kMax / factor) {
    return Error(ErrorCode::kInvalidArgument, fmt::format("\"{}\" is too long", text));
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(number * factor));
}

Result<std::uint64_t> ParseByteSize(std::string_view text) {
  std::uint64_t number = 0;
  std::string_view unit;
  if (!SplitQuantity(text, number, unit)) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("\"{}\" is not a size: write a whole number and a unit (B, KiB, MiB, "
                             "GiB, TiB), e.g. \"64MiB\"",
                             text));
  }
  int shift = -1;
  if (unit.empty() || unit == "B") {
    shift = 0;
  } else if (unit == "KiB") {
    shift = 10;
  } else if (unit == "MiB") {
    shift = 20;
  } else if (unit == "GiB") {
    shift = 30;
  } else if (unit == "TiB") {
    shift = 40;
  }
  if (shift < 0) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("\"{}\": unknown unit \"{}\" (units B, KiB, MiB, GiB, TiB; powers of "
                             "1024)",
                             text, unit));
  }
  if (number > (std::numeric_limits<std::uint64_t>::max() >> shift)) {
    return Error(ErrorCode::kInvalidArgument, fmt::format("\"{}\" is too large", text));
  }
  return number << shift;
}

Result<HostPort> ParseHostPort(std::string_view text, PortZero zero, HostPortFault* fault) {
  const auto bad = [&](HostPortFault what, std::string_view why) {
    if (fault != nullptr) *fault = what;
    return Error(
        ErrorCode::kInvalidArgument,
        fmt::format("\"{}\": {}; write \"host:port\", e.g. \"collector.example:7411\"", text, why));
  };
  HostPort endpoint;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return bad(HostPortFault::kNoPort, "an IPv6 address needs the form [address]:port");
    }
    endpoint.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
    const bool v6_chars = std::all_of(endpoint.host.begin(), endpoint.host.end(), [](char c) {
      return std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == ':' || c == '.';
    });
    if (endpoint.host.empty() || !v6_chars) {
      return bad(HostPortFault::kBadHost, "not an IPv6 address");
    }
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad(HostPortFault::kNoPort, "no port");
    endpoint.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
    const bool name_chars = std::all_of(endpoint.host.begin(), endpoint.host.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' || c == '_';
    });
    if (endpoint.host.empty()) return bad(HostPortFault::kBadHost, "no host");
    if (!name_chars) return bad(HostPortFault::kBadHost, "not a host name or IPv4 address");
  }
  const std::uint64_t min_port = zero == PortZero::kAllowed ? 0 : 1;
  std::uint64_t number = 0;
  std::string_view rest;
  if (!SplitQuantity(port, number, rest) || !rest.empty() || number < min_port || number > 65535) {
    return bad(HostPortFault::kBadPort,
               fmt::format("the port must be a number {}..65535", min_port));
  }
  endpoint.port = static_cast<std::uint16_t>(number);
  return endpoint;
}

std::string FormatDuration(std::chrono::milliseconds duration) {
  const auto ms = duration.count();
  if (ms != 0 && ms % 3'600'000 == 0) return fmt::format("{}h", ms / 3'600'000);
  if (ms != 0 && ms % 60'000 == 0) return fmt::format("{}m", ms / 60'000);
  if (ms != 0 && ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{}ms", ms);
}

std::string FormatBytes(std::uint64_t bytes) {
  constexpr double kKiB = 1024.0;
  if (bytes >= 1024ull * 1024 * 1024)
    return fmt::format("{:.1f} GiB", bytes / (kKiB * kKiB * kKiB));
  if (bytes >= 1024ull * 1024) return fmt::format("{:.1f} MiB", bytes / (kKiB * kKiB));
  if (bytes >= 1024) return fmt::format("{:.1f} KiB", bytes / kKiB);
  return fmt::format("{} B", bytes);
}

}  // namespace atmhealth::platform
