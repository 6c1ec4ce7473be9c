#include "collector/ingest/session_registry.h"

namespace atmhealth::collector {

SessionRegistry::Admission SessionRegistry::Admit(const std::shared_ptr<AgentSession>& session) {
  std::lock_guard lock(mutex_);
  if (closed_) return Admission::kShuttingDown;
  if (live_.size() >= max_sessions_) return Admission::kOverloaded;
  live_.emplace(session.get(), session);
  return Admission::kAdmitted;
}

SessionRegistry::ClaimResult SessionRegistry::Claim(const std::string& device_id,
                                                    const std::string& buffer_id,
                                                    const std::string& peer,
                                                    const std::shared_ptr<AgentSession>& session) {
  std::lock_guard lock(mutex_);
  DeviceSlot& slot = by_device_[device_id];
  std::shared_ptr<AgentSession> previous = slot.session.lock();
  ClaimResult result;
  if (previous != nullptr && previous != session && slot.buffer_id != buffer_id) {
    result.conflict = true;
    result.live_buffer_id = slot.buffer_id;
    result.live_peer = slot.peer;
    return result;
  }
  slot = DeviceSlot{session, buffer_id, peer};
  if (previous != session) result.replaced = std::move(previous);
  return result;
}

void SessionRegistry::Remove(const AgentSession* session, const std::string& device_id) {
  std::lock_guard lock(mutex_);
  live_.erase(session);
  if (device_id.empty()) return;
  const auto it = by_device_.find(device_id);
  if (it == by_device_.end()) return;
  // Only the device's current session owns the slot; a replaced one leaves
  // its successor in place.
  const std::shared_ptr<AgentSession> current = it->second.session.lock();
  if (current == nullptr || current.get() == session) by_device_.erase(it);
}

std::vector<std::shared_ptr<AgentSession>> SessionRegistry::Close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  return Live();
}

std::vector<std::shared_ptr<AgentSession>> SessionRegistry::Live() const {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<AgentSession>> sessions;
  sessions.reserve(live_.size());
  for (const auto& [key, weak] : live_) {
    if (auto session = weak.lock()) sessions.push_back(std::move(session));
  }
  return sessions;
}

std::size_t SessionRegistry::size() const {
  std::lock_guard lock(mutex_);
  return live_.size();
}

}  // namespace atmhealth::collector
