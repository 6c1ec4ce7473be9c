#include "collector/collector_config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

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

[http]
address = "::1"
port = 9100

[store]
path = "/var/lib/atmhealth/collector.db"

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
  EXPECT_EQ(config->http.address, "::1");
  EXPECT_EQ(config->http.port, 9100);
  EXPECT_EQ(config->store.path, "/var/lib/atmhealth/collector.db");
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
  EXPECT_TRUE(config->listen.plaintext);
}

TEST(CollectorConfig, ErrorsNameFileLineAndKey) {
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\nprot = 7411\n"),
            "collector.toml:3: listen.prot: unknown key (known: address, hello_timeout, "
            "idle_timeout, max_frame_bytes, max_sessions, plaintext, port)");
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\n[htpp]\nport = 1\n"),
            "collector.toml:3: htpp: unknown key (known tables: listen, http, store, log)");
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\n\nport = \"7411\"\n"),
            "collector.toml:4: listen.port: expected a port number");
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\nport = 70000\n"),
            "collector.toml:3: listen.port: 70000 is not a port (0..65535)");
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\naddress = \"atm-gw.example\"\n"),
            "collector.toml:3: listen.address: \"atm-gw.example\" is not an IP address");
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\nmax_sessions = 0\n"),
            "collector.toml:3: listen.max_sessions: 0 is out of range (1..100000)");
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\n[store]\npath = \"\"\n"),
            "collector.toml:4: store.path: is empty");
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\n[log]\nlevel = \"loud\"\n"),
            "collector.toml:4: log.level: \"loud\" is not a level (trace, debug, info, warn, "
            "error, critical, off)");
  EXPECT_EQ(ErrorOf("port = 1\n"),
            "collector.toml:1: port: unknown key (known tables: listen, http, store, log)");
}

TEST(CollectorConfig, DurationsAreStringsWithAUnit) {
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\nidle_timeout = 60\n"),
            "collector.toml:3: listen.idle_timeout: expected a duration string such as \"30s\"");
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\nidle_timeout = \"30 s\"\n"),
            "collector.toml:3: listen.idle_timeout: \"30 s\" is not a duration: write a whole "
            "number followed by ms, s, m or h, such as \"250ms\" or \"30s\"");
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = true\nidle_timeout = \"500ms\"\n"),
            "collector.toml:3: listen.idle_timeout: \"500ms\" is out of range "
            "(1000ms..86400000ms)");
}

TEST(CollectorConfig, PlaintextMustBeStatedBecauseTlsIsNotAvailable) {
  EXPECT_EQ(ErrorOf("[listen]\nport = 7411\n"),
            "collector.toml:1: listen.plaintext: is missing; set plaintext = true in [listen]: "
            "TLS is not available in this build yet, so agents connect over plain TCP only");
  EXPECT_EQ(ErrorOf("[listen]\nplaintext = false\n"),
            "collector.toml:2: listen.plaintext: must be true: TLS is not available in this "
            "build yet, so agents connect over plain TCP only");
  EXPECT_EQ(ErrorOf("[store]\npath = \"x.db\"\n").rfind("collector.toml:1: listen.plaintext: ", 0),
            0u);
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

}  // namespace
}  // namespace atmhealth::collector
