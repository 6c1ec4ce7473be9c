// Values as people write them in config files and on the command line:
// durations ("30s"), byte sizes ("64MiB") and endpoints ("host:port").
// An error quotes the text and says what is wrong with it; the caller puts the
// place in front: `atmhealthd.toml:14: store.max_bytes: "64MB": unknown unit
// "MB" (...)`.
#ifndef ATMHEALTH_PLATFORM_CONFIG_VALUES_H_
#define ATMHEALTH_PLATFORM_CONFIG_VALUES_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "platform/status.h"

namespace atmhealth::platform {

// "250ms", "30s", "5m", "2h": a whole number and a unit.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);
// The other way: "2h", "5m", "30s" or "250ms", the largest whole unit.
std::string FormatDuration(std::chrono::milliseconds duration);

// "64MiB", "512KiB", "1GiB", "1000B" or "1000" → bytes. Units are powers of
// 1024; "MB" is refused rather than guessed.
Result<std::uint64_t> ParseByteSize(std::string_view text);
// For people rather than config files: "1.9 GiB", "512.0 KiB", "12 B".
std::string FormatBytes(std::uint64_t bytes);

struct HostPort {
  std::string host;  // a name or an IP address; IPv6 without its brackets
  std::uint16_t port = 0;
  friend bool operator==(const HostPort&, const HostPort&) = default;
};

// Port 0 means "any free port" to a listener and nothing to a peer.
enum class PortZero { kRefused, kAllowed };

// Which part of a "host:port" text is wrong, for a caller that words the
// error its own way (the collector's --listen).
enum class HostPortFault { kNoPort, kBadHost, kBadPort };

// "host:port" with a name or an IPv4 address (letters, digits, '.', '-',
// '_'), or "[IPv6 address]:port". On an error, `fault` (when given) is set.
Result<HostPort> ParseHostPort(std::string_view text, PortZero zero = PortZero::kRefused,
                               HostPortFault* fault = nullptr);

}  // namespace atmhealth::platform

#endif  // ATMHEALTH_PLATFORM_CONFIG_VALUES_H_
