// atmhealth-collector: receives events and heartbeats from atmhealthd agents,
// stores them, and serves /metrics and /healthz.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include "collector/collector.h"
#include "collector/collector_config.h"
#include "collector/report_command.h"
#include "proto/tls_context.h"

int main(int argc, char** argv) {
  using atmhealth::collector::CollectorConfig;

  CLI::App app{
      "atmhealth-collector: receives alerts and heartbeats from atmhealthd agents, "
      "stores them, and serves Prometheus metrics.\nWithout --config it runs on "
      "embedded defaults: agents on 127.0.0.1:7411 over plaintext TCP, HTTP on "
      "127.0.0.1:7412, database ./atmhealth-collector.db.",
      "atmhealth-collector"};
  std::string config_path;
  atmhealth::collector::CollectorOverrides overrides;
  std::string ready_file;
  bool check_config = false;
  app.add_option("--config", config_path,
                 "TOML config file (see /etc/atmhealth/atmhealth-collector.toml); without it the "
                 "embedded defaults apply")
      ->type_name("PATH");
  app.add_option("--listen", overrides.listen,
                 "HOST:PORT for agent connections, replacing [listen] address and port; port 0 "
                 "picks a free one")
      ->type_name("HOST:PORT");
  app.add_option("--http-listen", overrides.http_listen,
                 "HOST:PORT for the HTTP server (/metrics, /healthz), replacing [http] address "
                 "and port; port 0 picks a free one")
      ->type_name("HOST:PORT");
  app.add_option("--db", overrides.db, "SQLite database file, replacing [store] path")
      ->type_name("PATH");
  app.add_option("--ready-file", ready_file,
                 "once both ports are bound, write {\"agent_port\": N, \"http_port\": M, "
                 "\"pid\": P} to this file (atomically, by rename)")
      ->type_name("PATH");
  app.add_option("--log-level", overrides.log_level,
                 "trace, debug, info, warn, error, critical or off, replacing [log] level")
      ->type_name("LEVEL");
  app.add_flag("--check-config", check_config,
               "validate the configuration (file and flags), print the result and exit: 0 when "
               "valid, 2 when not");
  atmhealth::collector::ReportRequest report;
  CLI::App* report_command = app.add_subcommand(
      "report",
      "print the FSA-category report of a period (incidents by FSA trigger category, with "
      "durations, devices, customer services and tolerance breaches) from the database of "
      "--db or the configuration, read-only, and exit: 0 when printed, 1 when the database "
      "cannot be read, 2 when the arguments are wrong");
  report_command
      ->add_option("--from", report.from,
                   "start of the period: \"2026-11-01\", \"2026-11-01T00:00+09:00\" or a "
                   "duration ago such as \"30d\" (default: 30 days before --to)")
      ->type_name("TIME");
  report_command->add_option("--to", report.to, "end of the period, excluded (default: now)")
      ->type_name("TIME");
  report_command->add_option("--format", report.format, "json (default) or csv")
      ->check(CLI::IsMember({"json", "csv"}));
  app.fallthrough();
  app.set_version_flag(
      "--version", std::string("atmhealth-collector ") + atmhealth::collector::CollectorVersion(),
      "print the version and exit");
  CLI11_PARSE(app, argc, argv);

  atmhealth::Result<CollectorConfig> config =
      config_path.empty()
          ? atmhealth::Result<CollectorConfig>(atmhealth::collector::DefaultCollectorConfig())
          : atmhealth::collector::LoadCollectorConfig(config_path);
  if (config) {
    if (atmhealth::Status applied = atmhealth::collector::ApplyOverrides(overrides, *config);
        !applied) {
      config = applied.error();
    }
  }
  if (!config) {
    std::fprintf(stderr, "atmhealth-collector: %s\n", config.error().message().c_str());
    return 2;
  }
  if (!config->listen.plaintext) {
    // Loading the files is part of checking them: a key that does not match
    // its certificate is found now, not at the first agent.
    auto tls = atmhealth::wire::MakeServerTlsContext(atmhealth::wire::TlsFiles{
        config->tls.certificate, config->tls.private_key, config->tls.ca, config->tls.crls});
    if (!tls) {
      std::fprintf(stderr, "atmhealth-collector: %s: [tls] %s\n",
                   config_path.empty() ? "embedded defaults" : config_path.c_str(),
                   tls.error().message().c_str());
      return 2;
    }
  }
  if (report_command->parsed()) {
    report.database = config->store.path;
    return atmhealth::collector::RunReport(report, std::cout, std::cerr);
  }
  if (check_config) {
    std::printf("%s: configuration is valid\n%s",
                config_path.empty() ? "embedded defaults" : config_path.c_str(),
                atmhealth::collector::DescribeTransport(*config).c_str());
    return 0;
  }

  atmhealth::collector::ConfigureLogging(config->log.level);
  auto collector = atmhealth::collector::Collector::Open(*config);
  if (!collector) {
    spdlog::critical("cannot start: {}", collector.error().message());
    return 1;
  }
  if (atmhealth::Status ran = collector.value()->Run(ready_file); !ran) {
    spdlog::critical("{}", ran.error().message());
    return 1;
  }
  return 0;
}
