#include "tests/integration/fleet_support.h"

#include <fmt/format.h>

#include "collector/http/access_control.h"
#include "proto/names.h"
#include "tests/support/http_client.h"

namespace atmhealth::testing {

using nlohmann::json;

std::string FleetConfigToml() {
  return fmt::format(
      "[[api.token]]\nname = \"noc\"\nrole = \"read\"\nsha256 = \"{}\"\n\n"
      "[[api.token]]\nname = \"ops-admin\"\nrole = \"admin\"\nsha256 = \"{}\"\n\n",
      collector::Sha256Hex(kReadToken), collector::Sha256Hex(kAdminToken));
}

std::string ReadAuth() { return fmt::format("Authorization: Bearer {}\r\n", kReadToken); }
std::string AdminAuth() { return fmt::format("Authorization: Bearer {}\r\n", kAdminToken); }

json GetJson(std::uint16_t port, const std::string& target) {
  Result<HttpReply> reply = HttpGetWith(port, target, ReadAuth());
  if (!reply || reply->status != 200) return nullptr;
  try {
    return json::parse(reply->body);
  } catch (const json::exception&) {
    return nullptr;
  }
}

std::vector<json> StreamEvents(const std::string& text, const std::string& name) {
  std::vector<json> events;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find("\n\n", start);
    if (end == std::string::npos) break;  // an incomplete frame
    const std::string block = text.substr(start, end - start);
    start = end + 2;
    if (block.find("event: " + name + "\n") == std::string::npos) continue;
    const std::size_t data = block.find("data: ");
    if (data == std::string::npos) continue;
    try {
      events.push_back(json::parse(block.substr(data + 6, block.find('\n', data) - data - 6)));
    } catch (const json::exception&) {
      events.push_back(nullptr);
    }
  }
  return events;
}

std::string NearbySitesToml() {
  // 1 degree of latitude is 111 195 m on the mean Earth sphere.
  constexpr double kLatitude = 35.6812;
  constexpr double kLongitude = 139.7671;
  constexpr double kDegreesPerMeter = 1.0 / 111'195.08;
  std::string toml;
  const auto site = [&](const char* id, const char* name, double meters_north, const char* hours) {
    toml += fmt::format(
        "[[site]]\nid = \"{}\"\nname = \"{}\"\naddress = \"{} (test)\"\nlatitude = {:.7f}\n"
        "longitude = {}\ncategory = \"station\"\nutc_offset = \"+09:00\"\nopening_hours = {}\n\n",
        id, name, name, kLatitude + meters_north * kDegreesPerMeter, kLongitude, hours);
  };
  site("central", "Central Station", 0, "\"24/7\"");
  site("closed-mall", "Closed Mall", 200, "{ mon = \"closed\" }");
  site("near-1km", "Near Branch", 1000, "\"24/7\"");
  site("far-5km", "Far Branch", 5000, "\"24/7\"");
  return toml;
}

SimulatedAgent::SimulatedAgent(std::uint16_t port, const std::string& device_id,
                               const std::string& site_id) {
  Result<std::unique_ptr<AgentClient>> client = AgentClient::Connect(port);
  if (!client) return;
  const AgentClient::Received welcome = (*client)->Handshake(SampleHello(device_id, site_id));
  if (!welcome.ok() || !welcome.message.has_welcome()) return;
  client_ = std::move(*client);
}

bool SimulatedAgent::Heartbeat(const std::vector<std::pair<std::string, std::string>>& services,
                               const std::string& reason, std::uint32_t interval_ms) {
  if (!client_) return false;
  v1::AgentMessage message;
  v1::Heartbeat& heartbeat = *message.mutable_heartbeat();
  for (const auto& [name, state] : services) {
    v1::ServiceStatus& status = *heartbeat.add_services();
    status.set_service(wire::ParseCustomerService(name).value_or(v1::CUSTOMER_SERVICE_UNSPECIFIED));
    status.set_state(state == "in_service" ? v1::SERVICE_STATE_IN_SERVICE
                     : state == "degraded" ? v1::SERVICE_STATE_DEGRADED
                                           : v1::SERVICE_STATE_OUT_OF_SERVICE);
    if (state != "in_service") status.set_reason(reason);
  }
  heartbeat.set_interval_ms(interval_ms);
  if (feed_) *heartbeat.mutable_health()->mutable_feed() = *feed_;
  if (!client_->Send(message).ok()) return false;
  const AgentClient::Received ack = client_->Read();
  return ack.ok() && ack.message.has_ack();
}

bool SimulatedAgent::FireCritical(std::uint64_t seq, const std::string& alert_key,
                                  const std::vector<std::string>& unavailable) {
  v1::Event event = SampleEvent(seq);
  event.set_severity(v1::SEVERITY_CRITICAL);
  event.set_alert_key(alert_key);
  event.mutable_impact()->Clear();
  for (const std::string& name : unavailable) {
    event.mutable_impact()->add_unavailable(
        wire::ParseCustomerService(name).value_or(v1::CUSTOMER_SERVICE_UNSPECIFIED));
  }
  event.set_summary(alert_key + " is full");
  return SendEvent(event);
}

bool SimulatedAgent::Resolve(std::uint64_t seq, const std::string& alert_key) {
  v1::Event event = SampleEvent(seq);
  event.set_state(v1::ALERT_STATE_RESOLVED);
  event.set_alert_key(alert_key);
  event.set_summary(alert_key + " has room again");
  return SendEvent(event);
}

bool SimulatedAgent::SendEvent(const v1::Event& event) {
  if (!client_) return false;
  v1::AgentMessage message;
  *message.mutable_batch()->add_events() = event;
  if (!client_->Send(message).ok()) return false;
  const AgentClient::Received ack = client_->Read();
  return ack.ok() && ack.message.has_ack();
}

}  // namespace atmhealth::testing
