// atmhealthd: the health agent. Only wiring lives here; see agent/daemon.h.
#include <openssl/crypto.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <optional>

#include "agent/config.h"
#include "agent/config_check.h"
#include "agent/daemon.h"
#include "platform/config_values.h"
#include "platform/log_output.h"
#include "platform/log_text.h"
#include "proto/names.h"
#include "proto/tls_context.h"

int main(int argc, char** argv) {
  using namespace atmhealth;
  platform::EscapeEveryLogMessage();
  CLI::App app{
      "atmhealthd " ATMHEALTH_VERSION
      " - health agent for ATMs and branch servers.\n"
      "Watches storage, keeps every event in a local SQLite buffer and streams alerts to\n"
      "atmhealth-collector. Without --config it runs on the embedded defaults: every data\n"
      "filesystem of this machine, buffer in /var/lib/atmhealth, collector on 127.0.0.1:7411."};
  std::string config_path;
  std::string collector;
  std::string store_path;
  std::string log_level;
  bool check_config = false;
  bool version = false;
  app.name("atmhealthd");
  app.add_option("-c,--config", config_path,
                 "TOML config file (see /etc/atmhealth/atmhealthd.toml); without it the embedded "
                 "defaults apply")
      ->option_text("PATH");
  app.add_option("--collector", collector,
                 "collector HOST:PORT to stream to, replacing [uplink] collectors")
      ->option_text("HOST:PORT");
  app.add_option("--store", store_path, "event buffer (SQLite file), replacing [store] path")
      ->option_text("PATH");
  app.add_option("--log-level", log_level,
                 "trace, debug, info, warn, error, critical or off, replacing [log] level")
      ->option_text("LEVEL");
  app.add_flag("--check-config", check_config,
               "validate the configuration (file and flags), print what would be watched and exit: "
               "0 when valid, 2 when not");
  app.add_flag("--version", version,
               "print the version, and those of the OpenSSL and SQLite it carries, and exit");
  CLI11_PARSE(app, argc, argv);

  if (version) {
    // atmhealthd carries OpenSSL and SQLite (cmake/AtmhealthDependencies.cmake):
    // their versions say whether a security update has reached it.
    std::cout << "atmhealthd " ATMHEALTH_VERSION "\n"
              << OpenSSL_version(OPENSSL_VERSION) << "\nSQLite " << sqlite3_libversion() << "\n";
    return 0;
  }

  constexpr int kExitConfigError = agent::kConfigInvalid;
  // --check-config reports every problem; a start stops at the first.
  std::vector<Error> problems;
  Result<agent::AgentConfig> loaded =
      config_path.empty() ? Result<agent::AgentConfig>(agent::DefaultAgentConfig())
                          : agent::LoadAgentConfig(config_path, check_config ? &problems : nullptr);
  if (!loaded.ok()) {
    if (problems.empty()) problems.push_back(loaded.error());
    for (const Error& problem : problems) std::cerr << "atmhealthd: " << problem.message() << "\n";
    return kExitConfigError;
  }
  agent::AgentConfig config = std::move(loaded).value();
  std::optional<platform::HostPort> collector_endpoint;
  if (!collector.empty()) {
    auto endpoint = platform::ParseHostPort(collector);
    if (!endpoint.ok()) {
      std::cerr << "atmhealthd: --collector: " << endpoint.error().message() << "\n";
      return kExitConfigError;
    }
    collector_endpoint = *endpoint;
  }
  // The flags replace the file's values at start and at every reload.
  auto apply_flags = [collector_endpoint, store_path, log_level](agent::AgentConfig& c) {
    if (collector_endpoint) c.uplink.collectors = {*collector_endpoint};
    if (!store_path.empty()) c.store.path = store_path;
    if (!log_level.empty()) c.log.level = log_level;
  };
  apply_flags(config);

  const auto level = spdlog::level::from_str(config.log.level);
  if (level == spdlog::level::off && config.log.level != "off") {
    std::cerr << "atmhealthd: --log-level: unknown level \"" << config.log.level << "\"\n";
    return kExitConfigError;
  }
  spdlog::set_level(level);

  if (check_config) {
    const agent::ConfigCheck check = agent::CheckAgentConfig(config);
    for (const std::string& line : check.description) std::cout << line << "\n";
    for (const Error& problem : check.problems) {
      std::cerr << "atmhealthd: " << problem.message() << "\n";
    }
    return check.ok() ? agent::kConfigValid : kExitConfigError;
  }

  // The journal under systemd, else [log] file (rotated) or stderr.
  platform::SetProcessLogField("ATMHEALTH_DEVICE", config.device.id);
  if (Status logging = platform::ConfigureLogging(platform::LogOutput{
          "atmhealthd", config.log.file, config.log.max_file_bytes, config.log.max_files});
      !logging.ok()) {
    std::cerr << "atmhealthd: cannot start: [log] " << logging.error().message() << "\n";
    return 1;
  }
  // SIGHUP reads the file again; on the built-in defaults there is none.
  agent::Daemon::ConfigLoader reload;
  if (!config_path.empty()) {
    reload = [config_path, apply_flags]() -> Result<agent::AgentConfig> {
      Result<agent::AgentConfig> reloaded = agent::LoadAgentConfig(config_path);
      if (reloaded.ok()) apply_flags(*reloaded);
      return reloaded;
    };
  }
  auto daemon = agent::Daemon::Create(std::move(config), std::move(reload));
  if (!daemon.ok()) {
    spdlog::critical("cannot start: {}", daemon.error().message());
    return 1;
  }
  return (*daemon)->Run();
}
