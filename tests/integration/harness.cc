#include "tests/integration/harness.h"

#include <gtest/gtest.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

#include "platform/asio.h"
#include "tests/support/sqlite_reader.h"
#include "tests/support/test_paths.h"

namespace atmhealth::testing {

namespace http = boost::beast::http;

CollectorProcess::CollectorProcess(const std::filesystem::path& dir,
                                   const std::filesystem::path& db, std::uint16_t agent_port,
                                   const std::string& config_toml)
    : db_(db) {
  std::vector<std::string> args = {"--listen",      "127.0.0.1:" + std::to_string(agent_port),
                                   "--http-listen", "127.0.0.1:0",
                                   "--db",          db.string(),
                                   "--log-level",   "debug"};
  if (!config_toml.empty()) {
    std::filesystem::create_directories(dir);
    WriteFile(dir / "collector.toml", config_toml);
    args.insert(args.end(), {"--config", (dir / "collector.toml").string()});
  }
  Launch(Binary("collector/atmhealth-collector"), std::move(args), dir);
}

std::unique_ptr<CollectorProcess> CollectorProcess::SlowStore(const std::filesystem::path& dir,
                                                              const std::filesystem::path& db,
                                                              std::chrono::microseconds store_delay,
                                                              const std::string& store_toml) {
  std::filesystem::create_directories(dir);
  const auto config = dir / "collector.toml";
  WriteFile(config,
            "[listen]\nport = 0\nplaintext = true\n\n[http]\nport = 0\n\n[store]\npath = \"" +
                db.string() + "\"\n" + store_toml + "\n\n[log]\nlevel = \"debug\"\n");
  std::unique_ptr<CollectorProcess> collector(new CollectorProcess());
  collector->db_ = db;
  collector->Launch(
      Binary("tests/atmhealth-collector-slow-store"),
      {"--config", config.string(), "--store-delay-us", std::to_string(store_delay.count())}, dir);
  return collector;
}

void CollectorProcess::Launch(const std::filesystem::path& binary, std::vector<std::string> args,
                              const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  const auto ready = dir / "collector.ready.json";
  std::filesystem::remove(ready);
  args.push_back("--ready-file");
  args.push_back(ready.string());
  process_ = std::make_unique<Process>(binary, args, dir / "collector.log");
  const bool up = WaitFor([&] { return std::filesystem::exists(ready) || !process_->running(); },
                          std::chrono::seconds(20));
  if (!up || !std::filesystem::exists(ready)) {
    ADD_FAILURE() << "collector did not come up; its log:\n" << process_->Log();
    return;
  }
  const auto json = nlohmann::json::parse(ReadFile(ready));
  agent_port_ = json.at("agent_port").get<std::uint16_t>();
  http_port_ = json.at("http_port").get<std::uint16_t>();
}

std::string CollectorProcess::HttpGet(const std::string& target) const {
  try {
    asio::io_context io;
    boost::beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(5));
    stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), http_port_));
    http::request<http::empty_body> request(http::verb::get, target, 11);
    request.set(http::field::host, "127.0.0.1");
    http::write(stream, request);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(stream, buffer, response);
    return response.body();
  } catch (const std::exception& e) {
    return "";
  }
}

double CollectorProcess::Metric(const std::string& sample) const {
  std::istringstream lines(HttpGet("/metrics"));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(sample + " ", 0) == 0) return std::stod(line.substr(sample.size() + 1));
  }
  return -1;
}

std::string AgentConfigToml(const AgentOptions& o) {
  std::ostringstream toml;
  toml << "[device]\n"
       << "id = \"" << o.device_id << "\"\n"
       << "site = \"" << o.site_id << "\"\n"
       << "kind = \"atm\"\n"
       << "services = [\"withdrawal\", \"deposit\", \"inquiry\"]\n\n"
       << "[store]\n"
       << "path = \"" << o.store.string() << "\"\n"
       << "commit_interval = \"50ms\"\n\n"
       << "[uplink]\n"
       << "collectors = [\"127.0.0.1:" << o.collector_port << "\"";
  for (const std::uint16_t port : o.more_collector_ports) toml << ", \"127.0.0.1:" << port << "\"";
  toml << "]\n"
       << o.transport << "heartbeat_interval = \"" << o.heartbeat_interval << "\"\n"
       << "backoff_initial = \"100ms\"\n"
       << "backoff_max = \"500ms\"\n"
       << "io_timeout = \"5s\"\n\n"
       << "[storage]\n"
       << "interval = \"" << o.sample_interval << "\"\n"
       << "probe_timeout = \"" << o.sample_interval << "\"\n"
       << "all_mounts = " << (o.all_mounts ? "true" : "false") << "\n"
       << o.storage_keys << "\n"
       << "[[storage.filesystem]]\n"
       << "path = \"" << o.watched.string() << "\"\n"
       << "warning = 70\n"
       << "critical = 90\n"
       << "hysteresis = 5\n"
       << "unavailable = [\"withdrawal\", \"deposit\"]\n\n"
       << o.extra;
  return toml.str();
}

AgentProcess::AgentProcess(const std::filesystem::path& dir, const AgentOptions& options) {
  std::filesystem::create_directories(dir);
  config_ = dir / "atmhealthd.toml";
  WriteFile(config_, AgentConfigToml(options));
  process_ = std::make_unique<Process>(
      Binary("agent/atmhealthd"),
      std::vector<std::string>{"--config", config_.string(), "--log-level", "debug"},
      dir / "agent.log");
}

std::vector<Row> CollectorEvents(const std::filesystem::path& db, const std::string& device_id,
                                 const std::string& where) {
  return Query(db, "SELECT * FROM events WHERE device_id = '" + device_id + "' AND (" + where +
                       ") ORDER BY seq");
}

std::optional<Row> AwaitCollectorEvent(const std::filesystem::path& db,
                                       const std::string& device_id, const std::string& where,
                                       std::chrono::milliseconds timeout) {
  std::optional<Row> found;
  WaitFor(
      [&] {
        auto rows = CollectorEvents(db, device_id, where);
        if (!rows.empty()) found = rows.front();
        return found.has_value();
      },
      timeout);
  return found;
}

std::uint16_t FreePort() {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::address_v4::loopback(), 0});
  return acceptor.local_endpoint().port();
}

}  // namespace atmhealth::testing
