// Arbitrary text as the peer watcher's role file: a role, or an error naming
// the file (and the line, when one is wrong). Never a crash.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "agent/watch/peer_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto role = atmhealth::agent::ParsePeerRole(text, "role");
  if (role.ok()) {
    const std::string_view word =
        *role == atmhealth::platform::PeerRole::kActive ? "active" : "standby";
    if (text.find(word) == std::string_view::npos) std::abort();
  } else if (role.error().message().rfind("role:", 0) != 0) {
    std::abort();
  }
  return 0;
}
