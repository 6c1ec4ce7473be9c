// What SIGHUP does with the configuration file read again (Daemon::Reload).
// A file with any problem is refused whole: the running configuration stays,
// one log line names the problem with file:line, and the refusal is counted
// (status "config_reload") and recorded as an agent notice.
//
// Applied live, from a valid file:
//   - every watcher section ([storage], [raid], [throughput], ...): the
//     watcher set is rebuilt through the watcher registry and each watcher's
//     rules declared again, so an alert whose rule stays keeps its state
//     under the new thresholds and an alert whose watcher or subject went
//     away resolves ("no longer watched");
//   - [diagnostics]: snapshots queued from then on use it;
//   - [uplink]: the collector session ends as at shutdown (acknowledgements
//     awaited up to 2 s) and the next starts at once with the new
//     collectors, limits and TLS files; what was not acknowledged is sent
//     again from the buffer;
//   - [log] level.
// Needing a restart (logged as "needs a restart", not applied):
//   - [device]: the identity the collector knows the device by (and its
//     certificate's name), and its customer services;
//   - [store]: the buffer file and its bounds are opened once;
//   - [control]: the socket and its permissions are bound once;
//   - [log] file, max_file_bytes, max_files: the destination is chosen once;
//   - the account the agent runs as (the unit's User=), which no file sets.
#ifndef ATMHEALTH_AGENT_CONFIG_RELOAD_H_
#define ATMHEALTH_AGENT_CONFIG_RELOAD_H_

#include <string>
#include <vector>

#include "agent/config.h"

namespace atmhealth::agent {

// The sections (and for [log], the keys) that differ between the running
// configuration and a newly read one but apply only at the next start, e.g.
// "[store]", "[log] file, max_file_bytes, max_files".
std::vector<std::string> SettingsNeedingRestart(const AgentConfig& running,
                                                const AgentConfig& loaded);

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_CONFIG_RELOAD_H_
