// atmhealth-collector-slow-store: the real collector (config, listeners,
// SQLite store) with every store call slowed by --store-delay, as if its disk
// synced that slowly. For the back-pressure test and the agent swarm; never
// installed.
//
//   atmhealth-collector-slow-store --config collector.toml --store-delay-us 5000
//       --ready-file ready.json
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <string>

#include "collector/collector.h"
#include "collector/collector_config.h"
#include "tests/support/slow_collector_store.h"

int main(int argc, char** argv) {
  namespace collector = atmhealth::collector;
  CLI::App app{"atmhealth-collector-slow-store: the collector with a store slowed on purpose",
               "atmhealth-collector-slow-store"};
  std::string config_path;
  std::string ready_file;
  long delay_us = 0;
  app.add_option("--config", config_path, "collector TOML config file")->required();
  app.add_option("--ready-file", ready_file, "written once both ports are bound");
  app.add_option("--store-delay-us", delay_us, "added to every store call, microseconds")
      ->check(CLI::Range(0L, 10'000'000L));
  CLI11_PARSE(app, argc, argv);

  atmhealth::Result<collector::CollectorConfig> config =
      collector::LoadCollectorConfig(config_path);
  if (!config) {
    std::fprintf(stderr, "atmhealth-collector-slow-store: %s\n", config.error().message().c_str());
    return 2;
  }
  collector::ConfigureLogging(config->log.level);
  auto store =
      collector::CollectorStore::OpenSqlite(config->store.path, config->store.heartbeat_history);
  if (!store) {
    spdlog::critical("cannot start: {}", store.error().message());
    return 1;
  }
  spdlog::warn("every store call is slowed by {} us on purpose", delay_us);
  auto opened = collector::Collector::Open(
      *config, std::make_unique<atmhealth::testing::SlowCollectorStore>(
                   std::move(*store), std::chrono::microseconds(delay_us)));
  if (!opened) {
    spdlog::critical("cannot start: {}", opened.error().message());
    return 1;
  }
  if (atmhealth::Status ran = opened.value()->Run(ready_file); !ran) {
    spdlog::critical("{}", ran.error().message());
    return 1;
  }
  return 0;
}
