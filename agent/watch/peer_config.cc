#include "agent/watch/peer_config.h"

#include <fmt/format.h>

#include <filesystem>
#include <system_error>

#include "agent/watch/redundancy_rule.h"
#include "platform/asio.h"
#include "platform/text_input.h"

namespace atmhealth::agent {
namespace {

using platform::PeerRole;

// "10.0.0.1:7412" or "[fd00::1]:7412" with an address literal and a port
// other than 0: a name could resolve to another machine than the one meant,
// and both ends must know the port.
Status ReadAddress(const ConfigSection& section, std::string_view key, platform::HostPort& out) {
  if (!section.Has(key)) {
    return section.Fail(key, "required: an \"address:port\" like \"10.0.0.1:7412\"");
  }
  std::string text;
  ATMHEALTH_RETURN_IF_ERROR(section.ReadString(key, text));
  auto address = platform::ParseHostPort(text, platform::PortZero::kRefused);
  if (!address.ok()) return section.Fail(key, address.error().message());
  boost::system::error_code error;
  asio::ip::make_address(address->host, error);
  if (error) {
    return section.Fail(key, fmt::format("\"{}\" is not an IP address; give the address itself, "
                                         "a name could resolve to another machine",
                                         address->host));
  }
  out = *address;
  return OkStatus();
}

Status ReadKeyFile(const ConfigSection& section, PeerConfig& config) {
  if (!section.Has("key_file")) {
    return section.Fail("key_file",
                        "required: the file holding the key both nodes share (never the key "
                        "itself in this file)");
  }
  ATMHEALTH_RETURN_IF_ERROR(section.ReadString("key_file", config.key_file));
  const std::string& path = config.key_file;
  if (path.empty() || path.front() != '/') {
    return section.Fail("key_file", fmt::format("must be an absolute path, not \"{}\"", path));
  }
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  if (status.type() == std::filesystem::file_type::not_found) {
    return section.Fail("key_file", fmt::format("no such file \"{}\"", path));
  }
  if (error) return section.Fail("key_file", fmt::format("\"{}\": {}", path, error.message()));
  if (!std::filesystem::is_regular_file(status)) {
    return section.Fail("key_file", fmt::format("\"{}\" is not a regular file", path));
  }
  using std::filesystem::perms;
  const perms others = status.permissions() & (perms::group_all | perms::others_all);
  if (others != perms::none) {
    return section.Fail(
        "key_file",
        fmt::format("\"{}\" has mode {:04o}: the key must be readable by the agent only (chmod "
                    "600)",
                    path, static_cast<unsigned>(status.permissions() & perms::mask)));
  }
  auto text = platform::ReadTextFile(path, kMaxPeerKeyFileBytes);
  if (!text.ok()) return section.Fail("key_file", text.error().message());
  config.key = std::string(platform::Trim(*text));
  if (auto checked = platform::CheckPeerKey(config.key); !checked.ok()) {
    return section.Fail("key_file", fmt::format("\"{}\": {}", path, checked.error().message()));
  }
  return OkStatus();
}

// A duration of at least `minimum`.
Status ReadAtLeast(const ConfigSection& section, std::string_view key,
                   std::chrono::milliseconds minimum, std::string_view why,
                   std::chrono::milliseconds& out) {
  std::chrono::milliseconds value = out;
  ATMHEALTH_RETURN_IF_ERROR(section.ReadDuration(key, value, ConfigSection::Zero::kRefused));
  if (value < minimum) {
    return section.Fail(
        key, fmt::format("must be at least {}, not {}: {}", platform::FormatDuration(minimum),
                         platform::FormatDuration(value), why));
  }
  out = value;
  return OkStatus();
}

bool IsDeviceId(std::string_view id) {
  if (id.empty() || id.size() > platform::kMaxPeerNodeIdBytes) return false;
  for (const char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string Endpoint(const platform::HostPort& address) {
  return address.host.find(':') != std::string::npos
             ? fmt::format("[{}]:{}", address.host, address.port)
             : fmt::format("{}:{}", address.host, address.port);
}

}  // namespace

std::vector<std::string> PeerConfig::Describe() const {
  return {
      fmt::format("peer {} at {}, heartbeats from {} every {}, lost after {}, clock skew up to {}",
                  peer_device, Endpoint(peer), Endpoint(listen),
                  platform::FormatDuration(send_interval), platform::FormatDuration(peer_timeout),
                  platform::FormatDuration(max_skew)),
      fmt::format("peer: this node {} by design{}, key from {}; judged every {}; {}",
                  platform::PeerRoleName(role),
                  role_file.empty() ? std::string() : ", its role now from " + role_file, key_file,
                  platform::FormatDuration(interval), DescribeStates(states))};
}

Result<platform::PeerRole> ParsePeerRole(std::string_view text, std::string_view source) {
  platform::TextLines lines(text);
  while (auto line = lines.Next()) {
    const std::string_view word = platform::Trim(*line);
    if (word.empty() || word.front() == '#') continue;
    if (word == "active") return PeerRole::kActive;
    if (word == "standby") return PeerRole::kStandby;
    return platform::BadLine(
        source, lines.number(),
        fmt::format("role {}: must be \"active\" or \"standby\"", platform::QuoteForError(word)));
  }
  return Error(ErrorCode::kInvalidArgument,
               fmt::format("{}: no role in it (\"active\" or \"standby\")", source));
}

Result<std::shared_ptr<const PeerConfig>> ReadPeerConfig(
    const ConfigSection& section, const std::string& device,
    const std::vector<v1::CustomerService>& offered) {
  if (!section.present()) return std::shared_ptr<const PeerConfig>();
  ATMHEALTH_RETURN_IF_ERROR(
      section.CheckKeys({"interval", "listen", "peer", "peer_device", "key_file", "role",
                         "role_file", "send_interval", "peer_timeout", "max_skew", "for", "states"},
                        false));
  auto config = std::make_shared<PeerConfig>();
  ATMHEALTH_RETURN_IF_ERROR(section.ReadSamplingTime("interval", config->interval));
  ATMHEALTH_RETURN_IF_ERROR(ReadAddress(section, "listen", config->listen));
  ATMHEALTH_RETURN_IF_ERROR(ReadAddress(section, "peer", config->peer));
  const bool listen_v6 = config->listen.host.find(':') != std::string::npos;
  const bool peer_v6 = config->peer.host.find(':') != std::string::npos;
  if (listen_v6 != peer_v6) {
    return section.Fail("peer",
                        fmt::format("is {} but listen is {}: both must be of one family",
                                    peer_v6 ? "IPv6" : "IPv4", listen_v6 ? "IPv6" : "IPv4"));
  }

  if (!section.Has("peer_device")) {
    return section.Fail("peer_device", "required: the [device] id of the peer");
  }
  ATMHEALTH_RETURN_IF_ERROR(section.ReadString("peer_device", config->peer_device));
  if (!IsDeviceId(config->peer_device)) {
    return section.Fail("peer_device",
                        fmt::format("\"{}\" is not a valid device id (1..64 characters of "
                                    "A-Z a-z 0-9 . _ -)",
                                    config->peer_device));
  }
  if (config->peer_device == device) {
    return section.Fail("peer_device",
                        fmt::format("\"{}\" is this device's own id; name the other node", device));
  }
  config->named_subjects.push_back(
      {v1::ALERT_KIND_PEER, config->peer_device,
       section.WhereAt(*section.Get("peer_device"), section.PathOf("peer_device"))});

  if (!section.Has("role")) {
    return section.Fail("role", "required: \"active\" or \"standby\", this node's role by design");
  }
  std::string role;
  ATMHEALTH_RETURN_IF_ERROR(section.ReadString("role", role));
  if (role == "active") {
    config->role = PeerRole::kActive;
  } else if (role == "standby") {
    config->role = PeerRole::kStandby;
  } else {
    return section.Fail("role", fmt::format("must be \"active\" or \"standby\", not \"{}\"", role));
  }
  if (section.Has("role_file")) {
    ATMHEALTH_RETURN_IF_ERROR(ReadRoot(section, "role_file", config->role_file));
  }

  ATMHEALTH_RETURN_IF_ERROR(section.ReadSamplingTime("send_interval", config->send_interval));
  ATMHEALTH_RETURN_IF_ERROR(ReadAtLeast(section, "peer_timeout", 2 * config->send_interval,
                                        "twice send_interval, so that one lost heartbeat is not "
                                        "a lost peer",
                                        config->peer_timeout));
  ATMHEALTH_RETURN_IF_ERROR(ReadAtLeast(section, "max_skew", ConfigSection::kMinimumSamplingTime,
                                        "a heartbeat takes that long on a busy network",
                                        config->max_skew));
  ATMHEALTH_RETURN_IF_ERROR(ReadRedundancyRule(section, offered, config->states));
  // Last: the only check that reads a file.
  ATMHEALTH_RETURN_IF_ERROR(ReadKeyFile(section, *config));
  return std::shared_ptr<const PeerConfig>(std::move(config));
}

}  // namespace atmhealth::agent
