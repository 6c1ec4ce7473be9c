#include "agent/config_check.h"

#include <fmt/format.h>

#include "proto/names.h"
#include "proto/tls_context.h"

namespace atmhealth::agent {

ConfigCheck CheckAgentConfig(const AgentConfig& config) {
  ConfigCheck check;
  auto& out = check.description;
  out.push_back(fmt::format("{}: valid", config.source));
  out.push_back(fmt::format("device {} at site {} ({})", config.device.id, config.device.site,
                            wire::ShortName(config.device.kind)));
  out.push_back(
      fmt::format("buffer {}, at most {} bytes", config.store.path, config.store.max_bytes));
  for (const auto& endpoint : config.uplink.collectors) {
    out.push_back(fmt::format("collector {}:{}{}", endpoint.host, endpoint.port,
                              config.uplink.plaintext ? " (plaintext TCP)" : " (TLS 1.3)"));
  }
  if (config.uplink.plaintext) {
    out.push_back("uplink: PLAINTEXT: no encryption, the collector is not authenticated");
  } else {
    out.push_back("uplink.ca " + config.uplink.ca);
    out.push_back("uplink.certificate " + config.uplink.certificate);
    out.push_back("uplink.private_key " + config.uplink.private_key);
    out.push_back("uplink.server_name " + (config.uplink.server_name.empty()
                                               ? std::string("(the host of each collector)")
                                               : config.uplink.server_name));
    auto tls = wire::MakeClientTlsContext(
        wire::TlsFiles{config.uplink.certificate, config.uplink.private_key, config.uplink.ca, {}});
    if (!tls.ok()) {
      check.problems.emplace_back(
          tls.error().code(), fmt::format("{}: [uplink] {}", config.source, tls.error().message()));
    }
  }
  if (config.control.enabled) {
    out.push_back(fmt::format(
        "control socket {} (mode {:04o}{})", ControlSocketPath(config), config.control.socket_mode,
        config.control.socket_group.empty() ? "" : ", group " + config.control.socket_group));
  } else {
    out.push_back("control socket off: atmhealthctl status and drill cannot reach the daemon");
  }
  for (const auto& watcher : config.watchers) {
    for (const std::string& line : watcher.settings->Describe()) out.push_back(line);
  }
  for (const std::string& line : config.diagnostics.Describe()) out.push_back(line);
  if (!check.ok()) out.front() = fmt::format("{}: invalid", config.source);
  return check;
}

}  // namespace atmhealth::agent
