#include "collector/collector_config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "tests/support/test_paths.h"

namespace atmhealth::collector {
namespace {

using namespace std::chrono_literals;

// A minimal valid file: TLS is not available, so plaintext must be stated.
constexpr const char* kMinimal = "[listen]\nplaintext = true\n";

std::string ErrorOf(const std::string& text) {
  Result<CollectorConfig> config = ParseCollectorConfig(text, "collector.toml");
  return config.ok() ? "(parsed)" : config.error().message();
}

TEST(CollectorConfig, EmbeddedDefaults) {
  const CollectorConfig config = DefaultCollectorConfig();
  EXPECT_EQ(config.listen.address, "127.0.0.1");
  EXPECT_EQ(config.listen.port, 7411);
  EXPECT_TRUE(config.listen.plaintext);
  EXPECT_EQ(config.listen.idle_timeout, 60s);
  EXPECT_EQ(config.http.address, "127.0.0.1");
  EXPECT_EQ(config.http.port, 7412);
  EXPECT_EQ(config.store.path, "./atmhealth-collector.db");
  EXPECT_EQ(config.log.level, "info");
}

TEST(CollectorConfig, ReadsEveryKey) {
  Result<CollectorConfig> config = ParseCollectorConfig(R"(
[listen]
address = "0.0.0.0"
port = 0
plaintext = true
max_sessions = 20
max_frame_bytes = 65536
hello_timeout = "250ms"
idle_timeout = "5m"
max_handshakes = 8
max_frames_in_store = 16

[http]
address = "::1"
port = 9100

[store]
path = "/var/lib/atmhealth/collector.db"
timeout = "2s"
max_queued_calls = 50
max_group_events = 500
heartbeat_history = "1m"

[log]
level = "debug"
)",
                                                        "collector.toml");
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->listen.address, "0.0.0.0");
  EXPECT_EQ(config->listen.port, 0);
  EXPECT_EQ(config->listen.max_sessions, 20u);
  EXPECT_EQ(config->listen.max_frame_bytes, 65536u);
  EXPECT_EQ(config->listen.hello_timeout, 250ms);
  EXPECT_EQ(config->listen.idle_timeout, 5min);
  EXPECT_EQ(config->listen.max_handshakes, 8u);
  EXPECT_EQ(config->listen.max_frames_in_store, 16u);
  EXPECT_EQ(config->http.address, "::1");
  EXPECT_EQ(config->http.port, 9100);
  EXPECT_EQ(config->store.path, "/var/lib/atmhealth/collector.db");
  EXPECT_EQ(config->store.timeout, 2s);
  EXPECT_EQ(config->store.max_queued_calls, 50u);
  EXPECT_EQ(config->store.max_group_events, 500u);
  EXPECT_EQ(config->store.heartbeat_history, 1min);
  EXPECT_EQ(config->log.level, "debug");
}

TEST(CollectorConfig, OmittedKeysKeepTheirDefaults) {
  Result<CollectorConfig> config = ParseCollectorConfig(kMinimal, "collector.toml");
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->listen.port, 7411);
  EXPECT_EQ(config->http.port, 7412);
}

TEST(CollectorConfig, PackagedExampleIsValid) {
  const std::string path =
      std::string(ATMHEALTH_SOURCE_DIR) + "/packaging/atmhealth-collector.toml";
  Result<CollectorConfig> config = LoadCollectorConfig(path);
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_FALSE(config->listen.plaintext);
  EXPECT_EQ(config->tls.certificate, "/etc/atmhealth/tls/collector.crt");
  EXPECT_EQ(config->tls.private_key, "/etc/atmhealth/tls/collector.key");
  EXPECT_EQ(config->tls.ca, "/etc/atmhealth/tls/ca.crt");
  EXPECT_EQ(config->tls.crls, std::vector<std::string>{"/etc/atmhealth/tls/crl.pem"});
  EXPECT_EQ(config->tls.reload_interval, std::chrono::seconds(30));
}

TEST(CollectorConfig, ErrorsNameFileLineAndKey) {
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\nprot = 7411\n"),
            "collector.toml:3: listen.prot: unknown key (known: address, hello_timeout, "
            "idle_timeout, max_batch_events, max_frame_bytes, max_frames_in_store, "
            "max_handshakes, max_sessions, plaintext, port)");
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\n[htpp]\nport = 1\n"),
            "collector.toml:3: htpp: unknown key (known tables: listen, http, store, log, tls, "
            "fleet, api, alertmanager, retention)");
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\n\nport = \"7411\"\n"),
            "collector.toml:4: listen.port: expected a port number");
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\nport = 70000\n"),
            "collector.toml:3: listen.port: 70000 is not a port (0..65535)");
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\naddress = \"atm-gw.example\"\n"),
            "collector.toml:3: listen.address: \"atm-gw.example\" is not an IP address");
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\nmax_sessions = 0\n"),
            "collector.toml:3: listen.max_sessions: 0 is out of range (1..100000)");
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\nmax_handshakes = 0\n"),
            "collector.toml:3: listen.max_handshakes: 0 is out of range (1..10000)");
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\nmax_frames_in_store = 65\n"),
            "collector.toml:3: listen.max_frames_in_store: 65 is out of range (1..64)");
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\n[store]\npath = \"\"\n"),
            "collector.toml:4: store.path: is empty");
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\n[store]\ntimeout = \"10ms\"\n"),
            "collector.toml:4: store.timeout: \"10ms\" is out of range (100ms..60000ms)");
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\n[store]\nmax_queued_calls = 1\n"),
            "collector.toml:4: store.max_queued_calls: 1 is out of range (2..1000000)");
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\n[log]\nlevel = \"loud\"\n"),
            "collector.toml:4: log.level: \"loud\" is not a level (trace, debug, info, warn, "
            "error, critical, off)");
  EXPECT_EQ(ErrorOf("port = 1\n"),
            "collector.toml:1: port: unknown key (known tables: listen, http, store, log, tls, "
            "fleet, api, alertmanager, retention)");
}

TEST(CollectorConfig, DurationsAreStringsWithAUnit) {
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\nidle_timeout = 60\n"),
            "collector.toml:3: listen.idle_timeout: expected a duration string such as \"30s\"");
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\nidle_timeout = \"30 s\"\n"),
            "collector.toml:3: listen.idle_timeout: \"30 s\": unknown unit \" s\" (units ms, s, "
            "m, h, d)");
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\nidle_timeout = \"500ms\"\n"),
            "collector.toml:3: listen.idle_timeout: \"500ms\" is out of range "
            "(1000ms..86400000ms)");
}

TEST(CollectorConfig, AgentsConnectOverTlsUnlessPlaintextIsStated) {
  const std::string need_tls =
      "listen.plaintext: agents connect over TLS unless plaintext = true is said explicitly; add "
      "a [tls] table (certificate, private_key, ca, crl; see docs/tls.md) or set plaintext = "
      "true in [listen]";
  EXPECT_EQ(ErrorOf("[listen]\nport = 7411\n"), "collector.toml:1: " + need_tls);
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = false\n"), "collector.toml:2: " + need_tls);
  EXPECT_EQ(ErrorOf("[store]\npath = \"x.db\"\n"), "collector.toml:1: " + need_tls);
}

TEST(CollectorConfig, TlsTableGivesTheFilesAndTheReloadInterval) {
  Result<CollectorConfig> config = ParseCollectorConfig(
      "[listen]\nport = 7411\n\n[tls]\ncertificate = \"c.crt\"\nprivate_key = \"c.key\"\n"
      "ca = \"ca.crt\"\ncrl = [\"a.crl\", \"b.crl\"]\nreload_interval = \"5s\"\n",
      "collector.toml");
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_FALSE(config->listen.plaintext);
  EXPECT_EQ(config->tls.certificate, "c.crt");
  EXPECT_EQ(config->tls.private_key, "c.key");
  EXPECT_EQ(config->tls.ca, "ca.crt");
  EXPECT_EQ(config->tls.crls, (std::vector<std::string>{"a.crl", "b.crl"}));
  EXPECT_EQ(config->tls.reload_interval, std::chrono::seconds(5));
  EXPECT_NE(DescribeTransport(*config).find("tls.crl: a.crl, b.crl"), std::string::npos);

  Result<CollectorConfig> one_crl = ParseCollectorConfig(
      "[tls]\ncertificate = \"c.crt\"\nprivate_key = \"c.key\"\nca = \"ca.crt\"\ncrl = "
      "\"a.crl\"\n",
      "collector.toml");
  ASSERT_TRUE(one_crl.ok()) << one_crl.error().message();
  EXPECT_EQ(one_crl->tls.crls, (std::vector<std::string>{"a.crl"}));
  EXPECT_EQ(one_crl->tls.reload_interval, std::chrono::seconds(30));
}

TEST(CollectorConfig, TlsMistakesNameTheLine) {
  EXPECT_EQ(ErrorOf("[tls]\ncertificate = \"c.crt\"\nprivate_key = \"c.key\"\nca = \"ca.crt\"\n"),
            "collector.toml:1: tls.crl: is missing; [tls] needs certificate, private_key, ca and "
            "crl");
  EXPECT_EQ(ErrorOf("[tls]\ncertificate = \"c.crt\"\nca = \"ca.crt\"\ncrl = \"a.crl\"\n"),
            "collector.toml:1: tls.private_key: is missing; [tls] needs certificate, private_key, "
            "ca and crl");
  EXPECT_EQ(ErrorOf("[tls]\ncertificate = \"\"\n"), "collector.toml:2: tls.certificate: is empty");
  EXPECT_EQ(ErrorOf("[tls]\ncrl = 3\n"),
            "collector.toml:2: tls.crl: expected a file name or a list of file names");
  EXPECT_EQ(ErrorOf("[tls]\ncrl = []\n"),
            "collector.toml:2: tls.crl: is empty; revocation must be checked");
  EXPECT_EQ(ErrorOf("[tls]\nreload_interval = \"10ms\"\n"),
            "collector.toml:2: tls.reload_interval: \"10ms\" is out of range "
            "(100ms..86400000ms)");
  EXPECT_EQ(ErrorOf("[tls]\nkey = \"c.key\"\n"),
            "collector.toml:2: tls.key: unknown key (known: ca, certificate, crl, private_key, "
            "reload_interval)");
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\n\n[tls]\ncertificate = \"c.crt\"\n"
                    "private_key = \"c.key\"\nca = \"ca.crt\"\ncrl = \"a.crl\"\n"),
            "collector.toml:2: listen.plaintext: is true and there is a [tls] table (line 4); "
            "choose one");
}

TEST(CollectorConfig, SyntaxErrorsNameTheLine) {
  const std::string error = ErrorOf("[listen]\nplaintext = true\nport = = 3\n");
  EXPECT_EQ(error.rfind("collector.toml:3: ", 0), 0u) << error;
}

TEST(CollectorConfig, BothListenersCannotShareAPort) {
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\nport = 9000\n[http]\nport = 9000\n"),
            "collector.toml:5: http.port: 9000 is also listen.port on 127.0.0.1");
}

TEST(CollectorConfig, MissingFileIsNamed) {
  testing::ScratchDir dir;
  Result<CollectorConfig> config = LoadCollectorConfig(dir / "absent.toml");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(config.error().message(),
            (dir / "absent.toml").string() + ": cannot read the config file: no such file");
}

TEST(CollectorConfig, FileErrorsStartWithItsPath) {
  testing::ScratchDir dir;
  const auto path = dir / "collector.toml";
  std::ofstream(path) << "[listen]\nplaintext = true\nmax_frame_bytes = 10\n";
  Result<CollectorConfig> config = LoadCollectorConfig(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().message(),
            path.string() + ":3: listen.max_frame_bytes: 10 is out of range (4096..67108864)");
}

TEST(CollectorConfig, CommandLineOverridesReplaceTheFile) {
  CollectorConfig config = DefaultCollectorConfig();
  CollectorOverrides overrides;
  overrides.listen = "0.0.0.0:0";
  overrides.http_listen = "[::1]:9100";
  overrides.db = "other.db";
  overrides.log_level = "warn";
  ASSERT_TRUE(ApplyOverrides(overrides, config).ok());
  EXPECT_EQ(config.listen.address, "0.0.0.0");
  EXPECT_EQ(config.listen.port, 0);
  EXPECT_EQ(config.http.address, "::1");
  EXPECT_EQ(config.http.port, 9100);
  EXPECT_EQ(config.store.path, "other.db");
  EXPECT_EQ(config.log.level, "warn");
}

TEST(CollectorConfig, BadOverridesNameTheFlag) {
  CollectorConfig config = DefaultCollectorConfig();
  CollectorOverrides overrides;
  overrides.listen = "localhost";
  EXPECT_EQ(ApplyOverrides(overrides, config).error().message(),
            "--listen: \"localhost\" is not HOST:PORT (no port)");
  overrides.listen = "127.0.0.1:99999";
  EXPECT_EQ(ApplyOverrides(overrides, config).error().message(),
            "--listen: \"127.0.0.1:99999\" is not HOST:PORT (the port must be 0..65535)");
  overrides = {};
  overrides.http_listen = "example.com:80";
  EXPECT_EQ(ApplyOverrides(overrides, config).error().message(),
            "--http-listen: \"example.com:80\" is not HOST:PORT (the host must be an IP address)");
  overrides = {};
  overrides.log_level = "verbose";
  EXPECT_EQ(ApplyOverrides(overrides, config).error().message(),
            "--log-level: \"verbose\" is not a level (trace, debug, info, warn, error, critical, "
            "off)");
  overrides = {};
  overrides.http_listen = "127.0.0.1:7411";
  EXPECT_EQ(ApplyOverrides(overrides, config).error().message(),
            "--listen, --http-listen: both on 127.0.0.1:7411; the agent listener and the HTTP "
            "server need a port each");
}

TEST(CollectorConfig, ReadsFleetToleranceAndApiTokens) {
  const std::string hash(64, 'a');
  Result<CollectorConfig> config = ParseCollectorConfig(
      "[listen]\nplaintext = true\n\n[fleet]\nmissed_heartbeats = 4\nevaluate_interval = "
      "\"250ms\"\ncorrelation_window = \"5m\"\ncorrelation_min_devices = 20\nsites_file = "
      "\"/etc/atmhealth/sites.toml\"\n\n[fleet.tolerance]\nwithdrawal = \"15m\"\n\n[api]\n"
      "max_streams = 4\nfeed_max_age = \"30s\"\nfeed_nearest = 5\n\n[[api.token]]\nname = "
      "\"noc\"\nrole = \"read\"\nsha256 = \"" +
          hash + "\"\n",
      "collector.toml");
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->fleet.missed_heartbeats, 4);
  EXPECT_EQ(config->fleet.evaluate_interval, std::chrono::milliseconds(250));
  EXPECT_EQ(config->fleet.correlation_window, std::chrono::minutes(5));
  EXPECT_EQ(config->fleet.correlation_min_devices, 20u);
  EXPECT_EQ(config->fleet.sites_file, "/etc/atmhealth/sites.toml");
  EXPECT_EQ(config->fleet.tolerance.at("withdrawal"), std::chrono::minutes(15));
  EXPECT_EQ(config->fleet.tolerance.at("deposit"), std::chrono::minutes(60));  // default kept
  EXPECT_EQ(config->api.max_streams, 4u);
  EXPECT_EQ(config->api.feed_max_age, std::chrono::seconds(30));
  EXPECT_EQ(config->api.feed_nearest, 5u);
  ASSERT_EQ(config->api.tokens.size(), 1u);
  EXPECT_EQ(config->api.tokens[0].name, "noc");
  EXPECT_EQ(config->api.tokens[0].role, "read");
  EXPECT_EQ(config->api.tokens[0].sha256, hash);
}

TEST(CollectorConfig, ReadsAlertmanagerForwarding) {
  Result<CollectorConfig> config = ParseCollectorConfig(
      "[listen]\nplaintext = true\n\n[alertmanager]\nurls = [\"http://am-1:9093\", "
      "\"http://10.0.0.2:9093/alertmanager\"]\ntimeout = \"2s\"\nresend_interval = \"30s\"\n"
      "retry_initial_delay = \"200ms\"\nretry_max_delay = \"10s\"\nmax_queued = 500\n"
      "max_batch = 10\n",
      "collector.toml");
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->alertmanager.urls,
            (std::vector<std::string>{"http://am-1:9093", "http://10.0.0.2:9093/alertmanager"}));
  EXPECT_EQ(config->alertmanager.timeout, std::chrono::seconds(2));
  EXPECT_EQ(config->alertmanager.resend_interval, std::chrono::seconds(30));
  EXPECT_EQ(config->alertmanager.retry_initial_delay, std::chrono::milliseconds(200));
  EXPECT_EQ(config->alertmanager.retry_max_delay, std::chrono::seconds(10));
  EXPECT_EQ(config->alertmanager.max_queued, 500u);
  EXPECT_EQ(config->alertmanager.max_batch, 10u);
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\n[alertmanager]\nurls = [\"https://am:9093\"]\n"),
            "collector.toml:4: alertmanager.urls: \"https://am:9093\" is not "
            "http://HOST:PORT[/PATH]");
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\n[alertmanager]\nmax_queued = 1\n"),
            "collector.toml:4: alertmanager.max_queued: 1 is out of range (16..1000000)");
}

TEST(CollectorConfig, ReadsRetention) {
  EXPECT_EQ(DefaultCollectorConfig().retention.events, std::chrono::hours(24 * 400));
  Result<CollectorConfig> config = ParseCollectorConfig(
      "[listen]\nplaintext = true\n\n[retention]\nevents = \"90d\"\ninterval = \"5m\"\n"
      "batch_rows = 200\n",
      "collector.toml");
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->retention.events, std::chrono::hours(24 * 90));
  EXPECT_EQ(config->retention.interval, std::chrono::minutes(5));
  EXPECT_EQ(config->retention.batch_rows, 200);
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\n[retention]\nbatch_rows = 0\n"),
            "collector.toml:4: retention.batch_rows: 0 is out of range (1..100000)");
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\n[retention]\nevents = \"ever\"\n"),
            "collector.toml:4: retention.events: \"ever\" is not a duration: write a whole "
            "number and a unit (ms, s, m, h, d), e.g. \"30s\"");
}

TEST(CollectorConfig, FleetAndApiMistakesNameTheLine) {
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\n[fleet.tolerance]\ncash = \"30m\"\n"),
            "collector.toml:4: fleet.tolerance.cash: not a customer service (withdrawal, deposit, "
            "transfer, inquiry, passbook, bill_payment)");
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\n[fleet]\nmissed_heartbeats = 0\n"),
            "collector.toml:4: fleet.missed_heartbeats: 0 is out of range (1..100)");
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\n[[api.token]]\nname = \"x\"\nrole = \"root\"\n"),
            "collector.toml:5: api.token[0].role: \"root\" is not read or admin");
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\n[[api.token]]\nname = \"x\"\nrole = \"read\"\n"
                    "sha256 = \"secret\"\n"),
            "collector.toml:6: api.token[0].sha256: expected 64 lower-case hex digits, the "
            "SHA-256 of the token (printf %s TOKEN | sha256sum)");
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\n[[api.token]]\nname = \"x\"\nrole = \"read\"\n"),
            "collector.toml:3: api.token[0].sha256: is missing");
}

TEST(CollectorConfig, StoreOnPostgresqlNeedsItsUrlAndBoundsItsConnection) {
  Result<CollectorConfig> config = ParseCollectorConfig(
      "[listen]\nplaintext = true\n[store]\nbackend = \"postgresql\"\n"
      "url = \"postgresql://atmhealth@db.example/atmhealth\"\nconnect_timeout = \"3s\"\n"
      "reconnect_interval = \"500ms\"\n",
      "collector.toml");
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->store.backend, "postgresql");
  EXPECT_EQ(config->store.url, "postgresql://atmhealth@db.example/atmhealth");
  EXPECT_EQ(config->store.connect_timeout, 3s);
  EXPECT_EQ(config->store.reconnect_interval, 500ms);
  EXPECT_EQ(DefaultCollectorConfig().store.backend, "sqlite");

  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\n[store]\nbackend = \"mysql\"\n"),
            "collector.toml:4: store.backend: \"mysql\" is not \"sqlite\" or \"postgresql\"");
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\n\n[store]\nbackend = \"postgresql\"\n"),
            "collector.toml:4: store.url: backend = \"postgresql\" needs the database's "
            "connection string, e.g. url = \"postgresql://atmhealth@db.example/atmhealth\"");
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\n[store]\nurl = \"host=db\"\n"),
            "collector.toml:4: store.url: is for backend = \"postgresql\"; this [store] uses the "
            "SQLite file at path");
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\n[store]\nbackend = \"postgresql\"\nurl = \"\"\n"),
            "collector.toml:5: store.url: is empty");
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\n[store]\nconnect_timeout = \"10ms\"\n"),
            "collector.toml:4: store.connect_timeout: \"10ms\" is out of range (1000ms..60000ms)");
}

}  // namespace
}  // namespace atmhealth::collector
