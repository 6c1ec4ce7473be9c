// The live agent sessions of one listener: admission against max_sessions,
// at most one session per device (and so per buffer of it), and the list to
// stop at shutdown.
//
// Thread-safe: sessions on different strands call it; one mutex guards it,
// held only for map updates, never across I/O or a call into a session.
#ifndef ATMHEALTH_COLLECTOR_INGEST_SESSION_REGISTRY_H_
#define ATMHEALTH_COLLECTOR_INGEST_SESSION_REGISTRY_H_

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace atmhealth::collector {

class AgentSession;

class SessionRegistry {
 public:
  enum class Admission { kAdmitted, kOverloaded, kShuttingDown };

  explicit SessionRegistry(std::size_t max_sessions) : max_sessions_(max_sessions) {}

  // Counts `session` as live unless max_sessions are live already or Close()
  // was called.
  Admission Admit(const std::shared_ptr<AgentSession>& session);

  // What Claim() found.
  struct ClaimResult {
    // The session replaced (same device and buffer), if it is still live,
    // for the caller to stop: a device that reconnects after a network cut
    // must not be locked out by its half-open old connection.
    std::shared_ptr<AgentSession> replaced;
    // Set when the claim was refused: a live session of the device speaks
    // for another buffer. Two devices configured with one id, or a buffer
    // recreated while the old connection is half-open (it ends at the idle
    // timeout); either way not merged.
    bool conflict = false;
    std::string live_buffer_id;  // the buffer of the live session, on conflict
    std::string live_peer;       // its peer address, on conflict
  };

  // Makes `session` (of `buffer_id`, from `peer`) the one session of
  // `device_id`, unless a live session of the device speaks for another
  // buffer.
  ClaimResult Claim(const std::string& device_id, const std::string& buffer_id,
                    const std::string& peer, const std::shared_ptr<AgentSession>& session);

  // Forgets a session that ended. `device_id` is empty when it ended before
  // its Hello.
  void Remove(const AgentSession* session, const std::string& device_id);

  // Admits nobody from now on; returns the sessions live now.
  std::vector<std::shared_ptr<AgentSession>> Close();

  // The sessions live now.
  std::vector<std::shared_ptr<AgentSession>> Live() const;
  std::size_t size() const;

 private:
  const std::size_t max_sessions_;
  mutable std::mutex mutex_;
  bool closed_ = false;
  std::map<const AgentSession*, std::weak_ptr<AgentSession>> live_;
  struct DeviceSlot {
    std::weak_ptr<AgentSession> session;
    std::string buffer_id;
    std::string peer;
  };
  std::map<std::string, DeviceSlot> by_device_;
};

}  // namespace atmhealth::collector

#endif  // ATMHEALTH_COLLECTOR_INGEST_SESSION_REGISTRY_H_
