// What the fleet integration tests share: tokens and a collector config for
// them, simulated agents (many, cheaply, on the real protocol), JSON over
// HTTP and the events of a server-sent event stream.
#ifndef ATMHEALTH_TESTS_INTEGRATION_FLEET_SUPPORT_H_
#define ATMHEALTH_TESTS_INTEGRATION_FLEET_SUPPORT_H_

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/agent_client.h"

namespace atmhealth::testing {

inline constexpr char kReadToken[] = "read-token-for-tests";
inline constexpr char kAdminToken[] = "admin-token-for-tests";

// [[api.token]] tables: "noc" with kReadToken (read), "ops-admin" with
// kAdminToken (admin).
std::string FleetConfigToml();
// "Authorization: Bearer ...\r\n"
std::string ReadAuth();
std::string AdminAuth();

// GET with the read token; the parsed body of a 200, else null.
nlohmann::json GetJson(std::uint16_t port, const std::string& target);

// The data of every `event: <name>` in server-sent event text, in order.
std::vector<nlohmann::json> StreamEvents(const std::string& text, const std::string& name);

// Four registered sites around Tokyo Station: "central", "closed-mall" 200 m
// north (never open), "near-1km" 1 km north and "far-5km" 5 km north.
std::string NearbySitesToml();

// One device on the real protocol: Hello at construction, then heartbeats
// and events on demand, each waiting for the collector's Ack.
class SimulatedAgent {
 public:
  SimulatedAgent(std::uint16_t port, const std::string& device_id, const std::string& site_id);
  bool ok() const { return client_ != nullptr; }

  // Services as (short name, state short name); `reason` is the alert key
  // of every service not in service. The next heartbeat is announced
  // `interval_ms` ahead.
  bool Heartbeat(const std::vector<std::pair<std::string, std::string>>& services,
                 const std::string& reason = "", std::uint32_t interval_ms = 60'000);
  // Every later heartbeat carries `feed` as the agent's transaction feed.
  void set_feed(v1::FeedHealth feed) { feed_ = std::move(feed); }
  // A critical storage alert firing with sequence `seq`, taking `unavailable`.
  bool FireCritical(std::uint64_t seq, const std::string& alert_key,
                    const std::vector<std::string>& unavailable);
  // That alert resolved, with sequence `seq`.
  bool Resolve(std::uint64_t seq, const std::string& alert_key);

 private:
  bool SendEvent(const v1::Event& event);

  std::unique_ptr<AgentClient> client_;
  std::optional<v1::FeedHealth> feed_;
};

}  // namespace atmhealth::testing

#endif  // ATMHEALTH_TESTS_INTEGRATION_FLEET_SUPPORT_H_
