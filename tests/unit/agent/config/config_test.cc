#include "agent/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "agent/watch/bonding_config.h"
#include "agent/watch/cluster_config.h"
#include "agent/watch/file_change_config.h"
#include "agent/watch/link_group_config.h"
#include "agent/watch/raid_config.h"
#include "agent/watch/storage_config.h"
#include "platform/host.h"
#include "tests/support/test_paths.h"

namespace atmhealth::agent {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

constexpr char kSource[] = "atmhealthd.toml";
// The smallest valid config: every other key takes its default.
constexpr char kUplink[] = R"(
[uplink]
collectors = ["127.0.0.1:7411"]
plaintext = true
)";

const std::vector<v1::CustomerService> kAllServices = {
    v1::CUSTOMER_SERVICE_WITHDRAWAL, v1::CUSTOMER_SERVICE_DEPOSIT,
    v1::CUSTOMER_SERVICE_TRANSFER,   v1::CUSTOMER_SERVICE_INQUIRY,
    v1::CUSTOMER_SERVICE_PASSBOOK,   v1::CUSTOMER_SERVICE_BILL_PAYMENT};

// `text` starts on line 1 (a raw string's leading newline is dropped).
std::string Lines(std::string_view text) {
  if (!text.empty() && text.front() == '\n') text.remove_prefix(1);
  return std::string(text);
}

std::string ErrorOf(std::string_view text) {
  auto config = ParseAgentConfig(text, kSource);
  if (config.ok()) return "(parsed without error)";
  EXPECT_EQ(config.error().code(), ErrorCode::kInvalidArgument);
  return config.error().message();
}

// The packaged example names TLS files under /etc/atmhealth/tls/; the
// parser checks that they can be read, so they are given here, empty (their
// content is checked when they are loaded: tls_integration_test).
TEST(ParseAgentConfig, PackagedExampleIsValidAndSaysWhatItShows) {
  testing::ScratchDir scratch;
  for (const char* file : {"ca.crt", "device.crt", "device.key"}) std::ofstream(scratch / file);
  std::ifstream in(ATMHEALTH_EXAMPLE_CONFIG);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string packaged_dir = "/etc/atmhealth/tls/";
  for (auto at = text.find(packaged_dir); at != std::string::npos; at = text.find(packaged_dir)) {
    text.replace(at, packaged_dir.size(), scratch.path().string() + "/");
  }
  auto config = ParseAgentConfig(text, ATMHEALTH_EXAMPLE_CONFIG);
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->source, ATMHEALTH_EXAMPLE_CONFIG);
  // The example leaves the id to the host name, so it fits every machine.
  EXPECT_EQ(config->device.id, platform::HostName());
  EXPECT_EQ(config->device.site, "unassigned");
  EXPECT_EQ(config->device.kind, v1::DEVICE_KIND_BRANCH_SERVER);
  EXPECT_EQ(config->device.services, kAllServices);

  EXPECT_EQ(config->store.path, "/var/lib/atmhealth/events.db");
  EXPECT_EQ(config->store.max_bytes, 64u * 1024 * 1024);
  EXPECT_EQ(config->store.commit_interval, milliseconds(200));
  EXPECT_EQ(config->store.max_pending_events, 10000u);
  EXPECT_EQ(config->store.max_pending_bytes, 8u * 1024 * 1024);

  ASSERT_EQ(config->uplink.collectors.size(), 1u);
  EXPECT_EQ(config->uplink.collectors[0].host, "127.0.0.1");
  EXPECT_EQ(config->uplink.collectors[0].port, 7411);
  EXPECT_FALSE(config->uplink.plaintext);
  EXPECT_EQ(config->uplink.ca, (scratch / "ca.crt").string());
  EXPECT_EQ(config->uplink.certificate, (scratch / "device.crt").string());
  EXPECT_EQ(config->uplink.private_key, (scratch / "device.key").string());
  EXPECT_EQ(config->uplink.server_name, "");
  EXPECT_EQ(config->uplink.connect_timeout, milliseconds(5000));
  EXPECT_EQ(config->uplink.io_timeout, milliseconds(15000));
  EXPECT_EQ(config->uplink.heartbeat_interval, milliseconds(10000));
  EXPECT_EQ(config->uplink.backoff_initial, milliseconds(500));
  EXPECT_EQ(config->uplink.backoff_max, milliseconds(30000));
  EXPECT_EQ(config->uplink.batch_events, 256u);
  EXPECT_EQ(config->uplink.window_batches, 4u);
  EXPECT_EQ(config->uplink.max_frame_bytes, 1024u * 1024);

  const StorageConfig& storage = *config->Watcher<StorageConfig>("storage");
  EXPECT_EQ(storage.interval, milliseconds(10000));
  EXPECT_EQ(storage.probe_timeout, milliseconds(2000));
  EXPECT_TRUE(storage.all_mounts);
  EXPECT_EQ(storage.defaults.warning_percent, 80);
  EXPECT_EQ(storage.defaults.critical_percent, 90);
  EXPECT_TRUE(storage.forecast);
  EXPECT_EQ(storage.forecast_window, std::chrono::hours(1));
  EXPECT_EQ(storage.forecast_min_samples, 10u);
  EXPECT_EQ(storage.defaults.forecast_warning, std::chrono::hours(24));
  EXPECT_EQ(storage.defaults.forecast_critical, std::chrono::hours(2));
  ASSERT_EQ(storage.filesystems.size(), 2u);
  const FilesystemRule& var = storage.filesystems[0];
  EXPECT_EQ(var.path, "/var");
  EXPECT_EQ(var.warning_percent, 75);
  EXPECT_EQ(var.critical_percent, 90);
  EXPECT_EQ(var.hysteresis_percent, 3);
  EXPECT_EQ(var.for_duration, milliseconds(60'000));
  EXPECT_EQ(var.inodes_warning_percent, 70);
  EXPECT_EQ(var.inodes_critical_percent, 85);
  EXPECT_THAT(var.impact_unavailable,
              ElementsAre(v1::CUSTOMER_SERVICE_WITHDRAWAL, v1::CUSTOMER_SERVICE_DEPOSIT,
                          v1::CUSTOMER_SERVICE_TRANSFER, v1::CUSTOMER_SERVICE_PASSBOOK,
                          v1::CUSTOMER_SERVICE_BILL_PAYMENT));
  EXPECT_THAT(var.impact_degraded, ElementsAre(v1::CUSTOMER_SERVICE_INQUIRY));
  const FilesystemRule& root = storage.filesystems[1];
  EXPECT_EQ(root.path, "/");
  EXPECT_EQ(root.warning_percent, 80);  // from [storage]
  EXPECT_EQ(root.critical_percent, 95);
  EXPECT_THAT(root.impact_degraded,
              ElementsAre(v1::CUSTOMER_SERVICE_WITHDRAWAL, v1::CUSTOMER_SERVICE_DEPOSIT));

  const RaidConfig& raid = *config->Watcher<RaidConfig>("raid");
  EXPECT_EQ(raid.interval, milliseconds(10000));
  EXPECT_EQ(raid.proc_root, "/proc");
  EXPECT_THAT(raid.arrays, ElementsAre("md0"));
  EXPECT_EQ(raid.states.outcome(RedundancyState::kDegraded).severity, v1::SEVERITY_CRITICAL);
  EXPECT_TRUE(raid.states.outcome(RedundancyState::kDegraded).impact.unavailable.empty());
  EXPECT_EQ(raid.states.outcome(RedundancyState::kRecovering).severity, v1::SEVERITY_WARNING);
  EXPECT_EQ(raid.states.outcome(RedundancyState::kDown).impact.unavailable.size(), 5u);

  const BondingConfig& bonding = *config->Watcher<BondingConfig>("bonding");
  EXPECT_EQ(bonding.interval, milliseconds(5000));
  EXPECT_TRUE(bonding.bonds.empty());
  EXPECT_EQ(bonding.states.outcome(RedundancyState::kDown).impact.unavailable.size(), 6u);
  const LinkGroupConfig& links = *config->Watcher<LinkGroupConfig>("links");
  EXPECT_EQ(links.sys_root, "/sys");
  EXPECT_EQ(links.states.for_duration, milliseconds(2000));
  ASSERT_EQ(links.groups.size(), 1u);
  EXPECT_EQ(links.groups[0].name, "uplink");
  EXPECT_THAT(links.groups[0].interfaces, ElementsAre("eth0", "eth1"));
  EXPECT_EQ(links.groups[0].min_up, 1u);
  EXPECT_EQ(config->log.level, "info");
}

TEST(ParseAgentConfig, TlsTakesThreeReadableFilesAndAnOptionalServerName) {
  testing::ScratchDir scratch;
  for (const char* file : {"ca.crt", "device.crt", "device.key"}) std::ofstream(scratch / file);
  const std::string files = "ca = \"" + (scratch / "ca.crt").string() + "\"\ncertificate = \"" +
                            (scratch / "device.crt").string() + "\"\nprivate_key = \"" +
                            (scratch / "device.key").string() + "\"\n";
  auto config = ParseAgentConfig("[uplink]\ncollectors = [\"10.0.0.5:7411\"]\n" + files +
                                     "server_name = \"collector.bank.example\"\n",
                                 kSource);
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_FALSE(config->uplink.plaintext);
  EXPECT_EQ(config->uplink.ca, (scratch / "ca.crt").string());
  EXPECT_EQ(config->uplink.certificate, (scratch / "device.crt").string());
  EXPECT_EQ(config->uplink.private_key, (scratch / "device.key").string());
  EXPECT_EQ(config->uplink.server_name, "collector.bank.example");

  std::filesystem::remove(scratch / "device.key");
  EXPECT_EQ(ErrorOf("[uplink]\ncollectors = [\"10.0.0.5:7411\"]\n" + files),
            "atmhealthd.toml:5: uplink.private_key: \"" + (scratch / "device.key").string() +
                "\": no such file");
  EXPECT_EQ(ErrorOf("[uplink]\ncollectors = [\"10.0.0.5:7411\"]\nserver_name = \"a b\"\n" +
                    files.substr(0, files.rfind("private_key"))),
            "atmhealthd.toml:1: uplink.private_key: required for TLS (a PEM file; see "
            "docs/tls.md), or set plaintext = true explicitly");
}

TEST(ParseAgentConfig, AbsentKeysTakeTheDefaultsOfConfigH) {
  auto config = ParseAgentConfig(kUplink, kSource);
  ASSERT_TRUE(config.ok()) << config.error().message();
  const AgentConfig defaults;
  EXPECT_EQ(config->source, kSource);
  EXPECT_EQ(config->device.id, platform::HostName());
  EXPECT_EQ(config->device.site, "unassigned");
  EXPECT_EQ(config->device.kind, defaults.device.kind);
  EXPECT_EQ(config->device.services, kAllServices);
  EXPECT_EQ(config->store.path, "/var/lib/atmhealth/events.db");
  EXPECT_EQ(config->store.max_bytes, defaults.store.max_bytes);
  EXPECT_EQ(config->store.commit_interval, defaults.store.commit_interval);
  EXPECT_EQ(config->store.max_pending_events, defaults.store.max_pending_events);
  EXPECT_EQ(config->uplink.connect_timeout, defaults.uplink.connect_timeout);
  EXPECT_EQ(config->uplink.io_timeout, defaults.uplink.io_timeout);
  EXPECT_EQ(config->uplink.heartbeat_interval, defaults.uplink.heartbeat_interval);
  EXPECT_EQ(config->uplink.backoff_initial, defaults.uplink.backoff_initial);
  EXPECT_EQ(config->uplink.backoff_max, defaults.uplink.backoff_max);
  EXPECT_EQ(config->uplink.batch_events, defaults.uplink.batch_events);
  EXPECT_EQ(config->uplink.window_batches, defaults.uplink.window_batches);
  EXPECT_EQ(config->uplink.max_frame_bytes, defaults.uplink.max_frame_bytes);
  // [storage] absent: the storage watcher runs on the defaults of its config.
  const StorageConfig* storage = config->Watcher<StorageConfig>("storage");
  ASSERT_NE(storage, nullptr);
  const StorageConfig storage_defaults;
  EXPECT_EQ(storage->interval, storage_defaults.interval);
  EXPECT_EQ(storage->probe_timeout, storage_defaults.probe_timeout);
  EXPECT_EQ(storage->all_mounts, storage_defaults.all_mounts);
  EXPECT_EQ(storage->defaults.warning_percent, 80);
  EXPECT_EQ(storage->defaults.critical_percent, 90);
  EXPECT_EQ(storage->defaults.hysteresis_percent, 2);
  EXPECT_EQ(storage->defaults.for_duration, milliseconds(0));
  EXPECT_EQ(storage->defaults.inodes_warning_percent, 80);
  EXPECT_EQ(storage->defaults.inodes_critical_percent, 90);
  EXPECT_TRUE(storage->filesystems.empty());
  EXPECT_EQ(config->log.level, "info");
}

TEST(ParseAgentConfig, FilesystemsInheritTheStorageLevelsTheyDoNotSet) {
  auto config = ParseAgentConfig(Lines(R"(
[device]
id = "atm-tokyo-0412"
site = "tokyo-shibuya"
kind = "atm"
services = ["withdrawal", "deposit", "inquiry"]

[storage]
warning = 70
critical = 85.5
hysteresis = 3
for = "5m"
inodes_warning = 60
inodes_critical = 75
unavailable = ["withdrawal"]
degraded = ["inquiry"]

[[storage.filesystem]]
path = "/var/lib/atm/"

[[storage.filesystem]]
path = "/data"
critical = 95
unavailable = []
degraded = ["deposit"]
)") + kUplink,
                                 kSource);
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->device.id, "atm-tokyo-0412");
  EXPECT_EQ(config->device.site, "tokyo-shibuya");
  EXPECT_EQ(config->device.kind, v1::DEVICE_KIND_ATM);
  ASSERT_EQ(config->Watcher<StorageConfig>("storage")->filesystems.size(), 2u);

  const FilesystemRule& inherited = config->Watcher<StorageConfig>("storage")->filesystems[0];
  EXPECT_EQ(inherited.path, "/var/lib/atm");  // trailing slash dropped
  EXPECT_EQ(inherited.warning_percent, 70);
  EXPECT_EQ(inherited.critical_percent, 85.5);
  EXPECT_EQ(inherited.hysteresis_percent, 3);
  EXPECT_EQ(inherited.for_duration, milliseconds(300'000));
  EXPECT_EQ(inherited.inodes_warning_percent, 60);
  EXPECT_EQ(inherited.inodes_critical_percent, 75);
  EXPECT_THAT(inherited.impact_unavailable, ElementsAre(v1::CUSTOMER_SERVICE_WITHDRAWAL));
  EXPECT_THAT(inherited.impact_degraded, ElementsAre(v1::CUSTOMER_SERVICE_INQUIRY));

  const FilesystemRule& own = config->Watcher<StorageConfig>("storage")->filesystems[1];
  EXPECT_EQ(own.path, "/data");
  EXPECT_EQ(own.warning_percent, 70);
  EXPECT_EQ(own.critical_percent, 95);
  EXPECT_TRUE(own.impact_unavailable.empty());
  EXPECT_THAT(own.impact_degraded, ElementsAre(v1::CUSTOMER_SERVICE_DEPOSIT));
}

TEST(ParseAgentConfig, CollectorsTakeHostNamesIpv4AndBracketedIpv6) {
  auto config = ParseAgentConfig(R"(
[uplink]
collectors = ["collector-a.bank.example:7411", "10.20.0.2:1", "[2001:db8::7]:65535"]
plaintext = true
)",
                                 kSource);
  ASSERT_TRUE(config.ok()) << config.error().message();
  ASSERT_EQ(config->uplink.collectors.size(), 3u);
  EXPECT_EQ(config->uplink.collectors[0].host, "collector-a.bank.example");
  EXPECT_EQ(config->uplink.collectors[0].port, 7411);
  EXPECT_EQ(config->uplink.collectors[1].host, "10.20.0.2");
  EXPECT_EQ(config->uplink.collectors[1].port, 1);
  EXPECT_EQ(config->uplink.collectors[2].host, "2001:db8::7");
  EXPECT_EQ(config->uplink.collectors[2].port, 65535);
}

// The [cluster] section of the example is commented out (a device without
// keepalived or pacemaker must not alert about them); uncommented, it is
// valid and says what it shows.
// The example's commented-out section that starts with `marker` ("#[cluster]"),
// uncommented, after the smallest valid config.
std::string UncommentedExample(const std::string& marker) {
  std::ifstream in(ATMHEALTH_EXAMPLE_CONFIG);
  std::string example((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto begin = example.find("\n" + marker + "\n");
  EXPECT_NE(begin, std::string::npos) << marker;
  if (begin == std::string::npos) return {};
  const auto end = example.find("\n[", begin);
  std::string text = Lines(kUplink) + "[device]\nid = \"atm-01\"\nsite = \"s\"\n";
  std::istringstream block(example.substr(begin, end - begin));
  for (std::string line; std::getline(block, line);) {
    // Settings are "#key = ..." and "#[table]"; prose is "# ...".
    if (line.size() > 1 && line[0] == '#' && line[1] != ' ') line.erase(0, 1);
    text += line + "\n";
  }
  return text;
}

TEST(ParseAgentConfig, PackagedExampleClusterSectionIsValidOnceUncommented) {
  const std::string text = UncommentedExample("#[cluster]");
  auto config = ParseAgentConfig(text, kSource);
  ASSERT_TRUE(config.ok()) << config.error().message() << "\n" << text;
  const ClusterConfig& cluster = *config->Watcher<ClusterConfig>("cluster");
  EXPECT_EQ(cluster.interval, milliseconds(10000));
  EXPECT_EQ(cluster.states.outcome(RedundancyState::kSplitBrain).impact.unavailable.size(), 3u);
  ASSERT_EQ(cluster.vrrp.size(), 2u);
  EXPECT_EQ(cluster.vrrp[0].instance, "VI_1");
  EXPECT_EQ(cluster.vrrp[0].role, VrrpRole::kMaster);
  EXPECT_EQ(cluster.vrrp[0].state_file, "/run/keepalived/VI_1.state");
  EXPECT_EQ(cluster.vrrp[1].fifo, "/run/keepalived/vrrp_notify.fifo");
  ASSERT_TRUE(cluster.pacemaker);
  EXPECT_THAT(cluster.pacemaker->command.argv, ElementsAre("crm_mon", "--output-as=xml"));
  EXPECT_EQ(cluster.pacemaker->command.time_limit, milliseconds(10000));
  EXPECT_EQ(cluster.pacemaker->command.output_limit, 1024u * 1024);
  EXPECT_EQ(cluster.pacemaker->preferred_node, "atm-srv-a");
}

TEST(ParseAgentConfig, PackagedExampleFileChangesSectionIsValidOnceUncommented) {
  const std::string text = UncommentedExample("#[file_changes]");
  auto config = ParseAgentConfig(text, kSource);
  ASSERT_TRUE(config.ok()) << config.error().message() << "\n" << text;
  const FileChangeConfig& files = *config->Watcher<FileChangeConfig>("file_changes");
  EXPECT_EQ(files.interval, milliseconds(60000));
  EXPECT_THAT(files.paths, ElementsAre("/etc/atm/app.conf", "/opt/atm/bin/atmapp"));
  EXPECT_EQ(files.max_file_bytes, 64u * 1024 * 1024);
  EXPECT_EQ(files.change.severity, v1::SEVERITY_WARNING);
  EXPECT_EQ(files.change.category, v1::FAILURE_CATEGORY_PROGRAM_UPDATE);
  EXPECT_THAT(files.Describe(), ElementsAre(HasSubstr("2 file(s) every 1m, a change is a "
                                                      "warning notice (program update)")));
}

TEST(ParseAgentConfig, PackagedExampleDiagnosticsSectionIsValidOnceUncommented) {
  const std::string text = UncommentedExample("#[diagnostics]");
  auto config = ParseAgentConfig(text, kSource);
  ASSERT_TRUE(config.ok()) << config.error().message() << "\n" << text;
  const DiagnosticsConfig& diagnostics = config->diagnostics;
  EXPECT_EQ(diagnostics.max_pending, 4u);
  ASSERT_EQ(diagnostics.commands.size(), 1u);
  EXPECT_THAT(diagnostics.commands[0].command.argv, ElementsAre("dmesg", "--level=err,warn"));
  EXPECT_TRUE(diagnostics.commands[0].AppliesTo(v1::ALERT_KIND_LINK_GROUP));
  ASSERT_EQ(diagnostics.files.size(), 1u);
  EXPECT_EQ(diagnostics.files[0].path, "/var/log/atm/app.log");
}

// Bonds and link groups both raise alerts of kind link_group with their
// name as the subject: a group named like a bond shared one alert, whose
// state flipped between the bond's and the group's at every sample.
TEST(ParseAgentConfig, LinkGroupNamedLikeAListedBondIsRefusedAsOneAlertForTwoThings) {
  EXPECT_EQ(ErrorOf(Lines(R"(
[bonding]
bonds = ["bond0", "bond1"]
[links]
[[links.group]]
name = "bond1"
interfaces = ["eth0", "eth1"]
)") + kUplink),
            "atmhealthd.toml:5: links.group[0].name: \"bond1\" is named at atmhealthd.toml:2: "
            "bonding.bonds[1] too: both would raise the alert link_group:bond1; give them "
            "different names");
  // Distinct names keep their alerts, and their keys, as they were.
  auto config = ParseAgentConfig(Lines(R"(
[bonding]
bonds = ["bond0"]
[links]
[[links.group]]
name = "uplink"
interfaces = ["eth0", "eth1"]
)") + kUplink,
                                 kSource);
  ASSERT_TRUE(config.ok()) << config.error().message();
}

struct ErrorCase {
  const char* what;
  const char* toml;  // line 1 is the line after the opening R"(
  const char* expected;
  bool append_uplink = true;
};

TEST(ParseAgentConfig, EveryErrorNamesSourceLineAndKey) {
  const std::vector<ErrorCase> cases = {
      {"unknown section", R"(
[storge]
interval = "10s"
)",
       "atmhealthd.toml:1: storge: unknown section (valid sections: device, store, uplink, "
       "storage, throughput, raid, bonding, links, peer, cluster, command, file_changes, log, "
       "control, diagnostics)"},
      {"key outside any section", R"(
id = "atm-01"
)",
       "atmhealthd.toml:1: id: key outside any section (valid sections: device, store, uplink, "
       "storage, throughput, raid, bonding, links, peer, cluster, command, file_changes, log, "
       "control, diagnostics)"},
      {"section written as a key", R"(
device = "atm-01"
)",
       "atmhealthd.toml:1: device: must be a table ([device]), not a string"},
      {"unknown key in the second filesystem", R"(
[[storage.filesystem]]
path = "/var"

[[storage.filesystem]]
path = "/data"
critcal = 95
)",
       "atmhealthd.toml:6: storage.filesystem[1].critcal: unknown key (valid keys: path, warning, "
       "critical, hysteresis, for, inodes_warning, inodes_critical, unavailable, degraded, "
       "forecast_warning, forecast_critical)"},
      {"unknown key in [uplink]", R"(
[uplink]
collectors = ["127.0.0.1:7411"]
plaintext = true
tls = false
)",
       "atmhealthd.toml:4: uplink.tls: unknown key (valid keys: collectors, plaintext, "
       "connect_timeout, io_timeout, heartbeat_interval, backoff_initial, backoff_max, "
       "batch_events, window_batches, max_frame_bytes, ca, certificate, private_key, "
       "server_name)",
       false},
      {"wrong type for a size", R"(
[store]
max_bytes = true
)",
       "atmhealthd.toml:2: store.max_bytes: must be a size like \"64MiB\" or a number of bytes, "
       "not a boolean"},
      {"decimal size unit", R"(
[store]
max_bytes = "64MB"
)",
       "atmhealthd.toml:2: store.max_bytes: \"64MB\": unknown unit \"MB\" (units B, KiB, MiB, GiB, "
       "TiB; powers of 1024)"},
      {"store too small", R"(
[store]
max_bytes = 4096
)",
       "atmhealthd.toml:2: store.max_bytes: must be at least 1048576 bytes, not 4096"},
      {"relative store path", R"(
[store]
path = "events.db"
)",
       "atmhealthd.toml:2: store.path: must be an absolute file path, not \"events.db\""},
      {"count out of range", R"(
[store]
max_pending_events = 0
)",
       "atmhealthd.toml:2: store.max_pending_events: must be between 1 and 1000000, not 0"},
      {"forecast critical not shorter than warning", R"(
[storage]
forecast_warning = "2h"
forecast_critical = "2h"
)",
       "atmhealthd.toml:3: storage.forecast_critical: forecast_critical (2h) must be shorter than "
       "forecast_warning (2h): full sooner is worse"},
      {"forecast horizon of zero", R"(
[[storage.filesystem]]
path = "/var"
forecast_warning = "0s"
)",
       "atmhealthd.toml:3: storage.filesystem[0].forecast_warning: must be longer than zero"},
      {"forecast window too short for its samples", R"(
[storage]
interval = "10s"
probe_timeout = "1s"
forecast_window = "1m"
)",
       "atmhealthd.toml:4: storage.forecast_window: forecast_window (1m) holds 7 samples at "
       "interval 10s, fewer than forecast_min_samples (10)"},
      {"forecast min samples out of range", R"(
[storage]
forecast_min_samples = 2
)",
       "atmhealthd.toml:2: storage.forecast_min_samples: must be between 3 and 1024, not 2"},
      {"forecast not a boolean", R"(
[storage]
forecast = "yes"
)",
       "atmhealthd.toml:2: storage.forecast: must be true or false, not a string"},
      {"percent above 100", R"(
[storage]
warning = 120
)",
       "atmhealthd.toml:2: storage.warning: must be a percentage 0..100, not 120"},
      {"percent as a string", R"(
[storage]
critical = "90%"
)",
       "atmhealthd.toml:2: storage.critical: must be a percentage 0..100, not a string"},
      {"negative percent", R"(
[storage]
hysteresis = -1
)",
       "atmhealthd.toml:2: storage.hysteresis: must be a percentage 0..100, not -1"},
      {"not a number", R"(
[storage]
warning = nan
)",
       "atmhealthd.toml:2: storage.warning: must be a percentage 0..100, not nan"},
      {"critical below an inherited warning", R"(
[storage]
warning = 85

[[storage.filesystem]]
path = "/var"
critical = 80
)",
       "atmhealthd.toml:6: storage.filesystem[0].critical: critical (80) must be above warning "
       "(85)"},
      {"critical equal to warning", R"(
[storage]
warning = 90
)",
       "atmhealthd.toml:2: storage.warning: critical (90) must be above warning (90)"},
      {"inodes critical below inodes warning", R"(
[storage]
inodes_critical = 50
)",
       "atmhealthd.toml:2: storage.inodes_critical: inodes_critical (50) must be above "
       "inodes_warning (80)"},
      {"hysteresis as wide as the gap", R"(
[storage]
warning = 85
critical = 90
hysteresis = 5
)",
       "atmhealthd.toml:4: storage.hysteresis: hysteresis (5) must be smaller than the gap between "
       "warning (85) and critical (90)"},
      {"filesystem narrows the gap under an inherited hysteresis", R"(
[[storage.filesystem]]
path = "/var"
warning = 89
)",
       "atmhealthd.toml:3: storage.filesystem[0].warning: hysteresis (2) must be smaller than the "
       "gap between warning (89) and critical (90)"},
      {"hysteresis leaves no way to resolve", R"(
[storage]
warning = 1
critical = 50
hysteresis = 1
)",
       "atmhealthd.toml:4: storage.hysteresis: hysteresis (1) must be below warning (1) and "
       "inodes_warning (80), or the alert could never resolve"},
      {"zero interval", R"(
[storage]
interval = "0s"
)",
       "atmhealthd.toml:2: storage.interval: must be longer than zero"},
      {"sampling interval that would make the probe alert flap", R"(
[storage]
interval = "1ms"
probe_timeout = "1ms"
)",
       "atmhealthd.toml:2: storage.interval: must be at least 100ms, not 1ms: a shorter one makes "
       "a probe miss its deadline on a busy device and its alert flap"},
      {"probe timeout that would make the probe alert flap", R"(
[storage]
interval = "1s"
probe_timeout = "5ms"
)",
       "atmhealthd.toml:3: storage.probe_timeout: must be at least 100ms, not 5ms: a shorter one "
       "makes a probe miss its deadline on a busy device and its alert flap"},
      {"redundancy watcher sampled every millisecond", R"(
[raid]
interval = "1ms"
)",
       "atmhealthd.toml:2: raid.interval: must be at least 100ms, not 1ms: a shorter one makes a "
       "probe miss its deadline on a busy device and its alert flap"},
      {"negative duration", R"(
[storage]
for = "-5m"
)",
       "atmhealthd.toml:2: storage.for: \"-5m\" is not a duration: write a whole number and a unit "
       "(ms, s, m, h, d), e.g. \"30s\""},
      {"duration as an integer", R"(
[store]
commit_interval = 200
)",
       "atmhealthd.toml:2: store.commit_interval: must be a duration string like \"30s\" (units "
       "ms, s, m, h, d), not an integer"},
      {"probe timeout longer than the interval", R"(
[storage]
interval = "1s"
probe_timeout = "2s"
)",
       "atmhealthd.toml:3: storage.probe_timeout: probe_timeout (2s) must not be longer than "
       "interval (1s)"},
      {"pending memory too small for one large event", R"(
[store]
max_pending_bytes = "1KiB"
)",
       "atmhealthd.toml:2: store.max_pending_bytes: must be at least 65536 bytes, not 1024"},
      {"backoff shrinking", R"(
[uplink]
collectors = ["127.0.0.1:7411"]
plaintext = true
backoff_initial = "1m"
backoff_max = "30s"
)",
       "atmhealthd.toml:5: uplink.backoff_max: backoff_max (30s) must not be shorter than "
       "backoff_initial (1m)",
       false},
      {"frame too small for one event", R"(
[uplink]
collectors = ["127.0.0.1:7411"]
plaintext = true
max_frame_bytes = "1KiB"
)",
       "atmhealthd.toml:4: uplink.max_frame_bytes: must be at least 65536 bytes, not 1024", false},
      {"port out of range", R"(
[uplink]
collectors = ["collector-a:7411", "collector-b:70000"]
plaintext = true
)",
       "atmhealthd.toml:2: uplink.collectors[1]: \"collector-b:70000\": the port must be a number "
       "1..65535; write \"host:port\", e.g. \"collector.example:7411\"",
       false},
      {"port zero", R"(
[uplink]
collectors = ["collector-a:0"]
plaintext = true
)",
       "atmhealthd.toml:2: uplink.collectors[0]: \"collector-a:0\": the port must be a number "
       "1..65535; write \"host:port\", e.g. \"collector.example:7411\"",
       false},
      {"collector without a port", R"(
[uplink]
collectors = ["collector-a"]
plaintext = true
)",
       "atmhealthd.toml:2: uplink.collectors[0]: \"collector-a\": no port; write \"host:port\", "
       "e.g. \"collector.example:7411\"",
       false},
      {"collector not a string", R"(
[uplink]
collectors = [7411]
plaintext = true
)",
       "atmhealthd.toml:2: uplink.collectors[0]: must be a \"host:port\" string, not an integer",
       false},
      {"no collectors", R"(
[uplink]
collectors = []
plaintext = true
)",
       "atmhealthd.toml:2: uplink.collectors: no collectors: list at least one, e.g. "
       "[\"collector.example:7411\"]",
       false},
      {"collectors missing: the line of [uplink]", R"(
[log]
level = "info"

[uplink]
plaintext = true
)",
       "atmhealthd.toml:4: uplink.collectors: required: list at least one collector, e.g. "
       "[\"collector.example:7411\"]",
       false},
      {"no [uplink] at all", R"(
[log]
level = "info"
)",
       "atmhealthd.toml:1: uplink.collectors: required: list at least one collector, e.g. "
       "[\"collector.example:7411\"]",
       false},
      {"neither plaintext nor TLS files", R"(
[uplink]
collectors = ["127.0.0.1:7411"]
)",
       "atmhealthd.toml:1: uplink.ca: required for TLS (a PEM file; see docs/tls.md), or set "
       "plaintext = true explicitly",
       false},
      {"plaintext false without TLS files", R"(
[uplink]
collectors = ["127.0.0.1:7411"]
plaintext = false
ca = "/nonexistent/ca.crt"
)",
       "atmhealthd.toml:4: uplink.ca: \"/nonexistent/ca.crt\": no such file", false},
      {"plaintext and TLS files together", R"(
[uplink]
collectors = ["127.0.0.1:7411"]
plaintext = true
certificate = "device.crt"
)",
       "atmhealthd.toml:4: uplink.certificate: is set but plaintext = true: choose TLS (remove "
       "plaintext) or plaintext (remove ca, certificate and private_key)",
       false},
      {"server name with plaintext", R"(
[uplink]
collectors = ["127.0.0.1:7411"]
plaintext = true
server_name = "collector.example"
)",
       "atmhealthd.toml:4: uplink.server_name: is set but plaintext = true: there is no "
       "certificate to check it against",
       false},
      {"plaintext as a string", R"(
[uplink]
collectors = ["127.0.0.1:7411"]
plaintext = "yes"
)",
       "atmhealthd.toml:3: uplink.plaintext: must be true or false, not a string", false},
      {"device id with a space", R"(
[device]
id = "atm 01"
)",
       "atmhealthd.toml:2: device.id: \"atm 01\" is not a valid device id (1..64 characters of "
       "A-Z a-z 0-9 . _ -)"},
      {"device id too long", R"(
[device]
id = "a123456789b123456789c123456789d123456789e123456789f123456789g1234"
)",
       "atmhealthd.toml:2: device.id: "
       "\"a123456789b123456789c123456789d123456789e123456789f123456789"
       "g1234\" is not a valid device id (1..64 characters of A-Z a-z 0-9 . _ -)"},
      {"empty device id", R"(
[device]
id = ""
)",
       "atmhealthd.toml:2: device.id: \"\" is not a valid device id (1..64 characters of A-Z a-z "
       "0-9 . _ -)"},
      {"site with a slash", R"(
[device]
site = "tokyo/shibuya"
)",
       "atmhealthd.toml:2: device.site: \"tokyo/shibuya\" is not a valid site id (1..64 characters "
       "of A-Z a-z 0-9 . _ -)"},
      {"unknown device kind", R"(
[device]
kind = "kiosk"
)",
       "atmhealthd.toml:2: device.kind: unknown device kind \"kiosk\" (valid: atm, branch_server)"},
      {"unknown service", R"(
[device]
services = ["withdrawal", "teleport"]
)",
       "atmhealthd.toml:2: device.services[1]: unknown service \"teleport\" (valid: withdrawal, "
       "deposit, transfer, inquiry, passbook, bill_payment)"},
      {"service listed twice", R"(
[device]
services = [
  "withdrawal",
  "deposit",
  "withdrawal",
]
)",
       "atmhealthd.toml:5: device.services[2]: \"withdrawal\" is listed twice"},
      {"no services", R"(
[device]
services = []
)",
       "atmhealthd.toml:2: device.services: must list at least one service (valid: withdrawal, "
       "deposit, transfer, inquiry, passbook, bill_payment)"},
      {"unknown service in an impact", R"(
[[storage.filesystem]]
path = "/var"
unavailable = ["cash"]
)",
       "atmhealthd.toml:3: storage.filesystem[0].unavailable[0]: unknown service \"cash\" (valid: "
       "withdrawal, deposit, transfer, inquiry, passbook, bill_payment)"},
      {"impact on a service the device does not offer", R"(
[device]
services = ["withdrawal", "inquiry"]

[storage]
unavailable = ["deposit"]
)",
       "atmhealthd.toml:5: storage.unavailable: \"deposit\" is not among device.services "
       "(withdrawal, inquiry)"},
      {"service both unavailable and degraded", R"(
[[storage.filesystem]]
path = "/var"
unavailable = ["withdrawal"]
degraded = ["withdrawal"]
)",
       "atmhealthd.toml:4: storage.filesystem[0].degraded: \"withdrawal\" is listed both as "
       "unavailable and as degraded"},
      {"filesystem without a path: the line of its table", R"(
[storage]
all_mounts = true

[[storage.filesystem]]
warning = 70
)",
       "atmhealthd.toml:4: storage.filesystem[0].path: required: the directory or mount point to "
       "watch"},
      {"relative filesystem path", R"(
[[storage.filesystem]]
path = "var"
)",
       "atmhealthd.toml:2: storage.filesystem[0].path: must be an absolute path, not \"var\""},
      {"filesystem watched twice", R"(
[[storage.filesystem]]
path = "/var"
[[storage.filesystem]]
path = "/var/"
)",
       "atmhealthd.toml:4: storage.filesystem[1].path: \"/var\" is already watched by "
       "storage.filesystem[0] (line 1)"},
      {"filesystem as a single table", R"(
[storage.filesystem]
path = "/var"
)",
       "atmhealthd.toml:1: storage.filesystem: must be a list of tables, written "
       "[[storage.filesystem]], not a table"},
      {"all_mounts as a string", R"(
[storage]
all_mounts = "yes"
)",
       "atmhealthd.toml:2: storage.all_mounts: must be true or false, not a string"},
      {"unknown log level", R"(
[log]
level = "verbose"
)",
       "atmhealthd.toml:2: log.level: unknown level \"verbose\" (valid: trace, debug, info, warn, "
       "error)"},
      {"relative log file", R"(
[log]
file = "atmhealthd.log"
)",
       "atmhealthd.toml:2: log.file: must be an absolute path, not \"atmhealthd.log\""},
      {"log file too small to rotate", R"(
[log]
max_file_bytes = "1KiB"
)",
       "atmhealthd.toml:2: log.max_file_bytes: must be at least 65536 bytes, not 1024"},
      {"no rotated log files", R"(
[log]
max_files = 0
)",
       "atmhealthd.toml:2: log.max_files: must be between 1 and 100, not 0"},
      {"diagnostic command given as a shell line", R"(
[diagnostics]
[[diagnostics.command]]
name = "dmesg"
command = ["dmesg | tail"]
)",
       "atmhealthd.toml:4: diagnostics.command[0].command: \"dmesg | tail\" is one word of argv, "
       "not a shell line: write each argument as its own string"},
      {"diagnostic command for an unknown alert kind", R"(
[[diagnostics.command]]
name = "dmesg"
command = ["dmesg"]
kinds = ["disk"]
)",
       "atmhealthd.toml:4: diagnostics.command[0].kinds: unknown alert kind \"disk\" (valid: "
       "storage, inodes, storage_forecast, raid, link_group, peer, cluster, "
       "throughput_capacity, latency, error_ratio, stall, config_change, agent_health, drill, "
       "surge)"},
      {"two diagnostic files of one name", R"(
[[diagnostics.file]]
name = "app"
path = "/var/log/app.log"

[[diagnostics.file]]
name = "app"
path = "/var/log/app.1"
)",
       "atmhealthd.toml:6: diagnostics.file[1].name: \"app\" is the name of another "
       "[[diagnostics.file]]"},
      {"relative diagnostic file", R"(
[[diagnostics.file]]
name = "app"
path = "app.log"
)",
       "atmhealthd.toml:3: diagnostics.file[0].path: must be an absolute path, not \"app.log\""},
      {"relative watched file", R"(
[file_changes]
paths = ["/etc/atm/app.conf", "app.conf"]
)",
       "atmhealthd.toml:2: file_changes.paths: must be absolute paths, not \"app.conf\""},
      {"file change recorded as nothing", R"(
[file_changes]
paths = ["/etc/atm/app.conf"]
severity = "none"
)",
       "atmhealthd.toml:3: file_changes.severity: a change is always recorded: info, warning or "
       "critical, not none"},
      {"directory walk without a time limit", R"(
[diagnostics]
walk_time_limit = "0s"
)",
       "atmhealthd.toml:2: diagnostics.walk_time_limit: must be longer than zero"},
  };
  for (const ErrorCase& error_case : cases) {
    SCOPED_TRACE(error_case.what);
    std::string text = Lines(error_case.toml);
    if (error_case.append_uplink) text += kUplink;
    EXPECT_EQ(ErrorOf(text), error_case.expected);
  }
}

TEST(ParseAgentConfig, DiagnosticsAreOnByDefaultAndTakeCommandsAndFiles) {
  auto defaults = ParseAgentConfig(kUplink, kSource);
  ASSERT_TRUE(defaults.ok()) << defaults.error().message();
  EXPECT_TRUE(defaults->diagnostics.enabled);
  EXPECT_EQ(defaults->diagnostics.top_directories, 5u);
  EXPECT_TRUE(defaults->diagnostics.commands.empty());

  auto config = ParseAgentConfig(std::string(kUplink) + R"(
[diagnostics]
max_pending = 2
top_directories = 3
walk_time_limit = "2s"

[[diagnostics.command]]
name = "dmesg"
command = ["dmesg", "--level=err,warn"]
time_limit = "3s"
kinds = ["raid", "storage"]

[[diagnostics.file]]
name = "app"
path = "/var/log/atm/app.log"
)",
                                 kSource);
  ASSERT_TRUE(config.ok()) << config.error().message();
  const DiagnosticsConfig& diagnostics = config->diagnostics;
  EXPECT_EQ(diagnostics.max_pending, 2u);
  ASSERT_EQ(diagnostics.commands.size(), 1u);
  EXPECT_THAT(diagnostics.commands[0].command.argv, ElementsAre("dmesg", "--level=err,warn"));
  EXPECT_EQ(diagnostics.commands[0].command.time_limit, milliseconds(3000));
  EXPECT_TRUE(diagnostics.commands[0].AppliesTo(v1::ALERT_KIND_RAID));
  EXPECT_FALSE(diagnostics.commands[0].AppliesTo(v1::ALERT_KIND_PEER));
  ASSERT_EQ(diagnostics.files.size(), 1u);
  EXPECT_TRUE(diagnostics.files[0].AppliesTo(v1::ALERT_KIND_PEER));  // no kinds: every alert
  EXPECT_EQ(diagnostics.LongestSnapshot(), milliseconds(5000));      // the walk and the command
  EXPECT_THAT(
      diagnostics.Describe(),
      ElementsAre(HasSubstr("the 3 largest directories"),
                  "diagnostics: command dmesg: dmesg --level=err,warn (time limit 3s) for "
                  "raid, storage alerts",
                  "diagnostics: file app: the end of /var/log/atm/app.log for every alert"));
}

TEST(ParseAgentConfig, ControlSocketIsOnBesideTheBufferUnlessConfigured) {
  auto defaults =
      ParseAgentConfig(std::string(kUplink) + "[store]\npath = \"/srv/ah/events.db\"\n", kSource);
  ASSERT_TRUE(defaults.ok()) << defaults.error().message();
  EXPECT_TRUE(defaults->control.enabled);
  EXPECT_EQ(ControlSocketPath(*defaults), "/srv/ah/control.sock");
  EXPECT_EQ(defaults->control.socket_mode, 0660u);
  EXPECT_EQ(ControlSocketPath(DefaultAgentConfig()), "/var/lib/atmhealth/control.sock");

  auto set = ParseAgentConfig(std::string(kUplink) + R"(
[control]
enabled = false
socket = "/run/atmhealth/control.sock"
socket_mode = "0600"
max_clients = 2
)",
                              kSource);
  ASSERT_TRUE(set.ok()) << set.error().message();
  EXPECT_FALSE(set->control.enabled);
  EXPECT_EQ(ControlSocketPath(*set), "/run/atmhealth/control.sock");
  EXPECT_EQ(set->control.socket_mode, 0600u);
  EXPECT_EQ(set->control.max_clients, 2u);

  const std::string base = Lines(kUplink) + "[control]\n";  // [control] on line 4
  EXPECT_THAT(ErrorOf(base + "socket = \"control.sock\"\n"),
              HasSubstr("atmhealthd.toml:5: control.socket: must be an absolute path"));
  EXPECT_THAT(ErrorOf(base + "socket_mode = \"0666\"\n"),
              HasSubstr("atmhealthd.toml:5: control.socket_mode: \"0666\" lets every account"));
  EXPECT_THAT(ErrorOf(base + "socket_group = \"no-such-group-here\"\n"),
              HasSubstr("control.socket_group: no such group"));
  EXPECT_THAT(ErrorOf(base + "max_clients = 0\n"),
              HasSubstr("control.max_clients: must be between"));
  EXPECT_THAT(ErrorOf(base + "port = 7400\n"), HasSubstr("control.port: unknown key"));
}

TEST(ParseAgentConfig, SyntaxErrorNamesLineAndColumn) {
  const std::string message = ErrorOf("[store]\nmax_bytes = = 1\n");
  EXPECT_THAT(message, MatchesRegex(R"(atmhealthd\.toml:2:[0-9]+: .+)"));
}

TEST(ParseAgentConfig, GarbageIsAnErrorNotACrash) {
  std::string garbage;
  for (int i = 0; i < 4096; ++i) garbage.push_back(static_cast<char>((i * 131 + 7) % 256));
  EXPECT_THAT(ErrorOf(garbage), MatchesRegex(R"(atmhealthd\.toml:[0-9]+:[0-9]+: .+)"));
  EXPECT_THAT(ErrorOf(std::string("[device]\nid = \"\xff\"\n")),
              MatchesRegex(R"(atmhealthd\.toml:2:[0-9]+: .+)"));
  EXPECT_THAT(ErrorOf(""), HasSubstr("uplink.collectors: required"));
}

TEST(LoadAgentConfig, MissingFileIsNotFoundAndNamesThePath) {
  testing::ScratchDir scratch;
  const std::string path = (scratch / "atmhealthd.toml").string();
  auto config = LoadAgentConfig(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(config.error().message(), path + ": config file not found");
}

TEST(LoadAgentConfig, DirectoryIsRefused) {
  testing::ScratchDir scratch;
  auto config = LoadAgentConfig(scratch.path().string());
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().message(),
            scratch.path().string() + ": config file is not a regular file");
}

TEST(LoadAgentConfig, ErrorsNameTheFileAsGiven) {
  testing::ScratchDir scratch;
  const std::string path = (scratch / "atmhealthd.toml").string();
  std::ofstream(path) << "[uplink]\ncollectors = [\"127.0.0.1:7411\"]\nplaintext = true\n\n"
                         "[storage]\nwarning = 95\n";
  auto config = LoadAgentConfig(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().message(),
            path + ":6: storage.warning: critical (90) must be above warning (95)");
}

TEST(LoadAgentConfig, OversizedFileIsRefusedBeforeReading) {
  testing::ScratchDir scratch;
  const std::string path = (scratch / "atmhealthd.toml").string();
  {
    std::ofstream out(path);
    out << std::string(2 * 1024 * 1024, '#');
  }
  auto config = LoadAgentConfig(path);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.error().message(), HasSubstr(path + ": config file is 2097152 bytes"));
}

TEST(DefaultAgentConfig, WatchesEveryMountAndSendsToTheLocalCollector) {
  const AgentConfig config = DefaultAgentConfig();
  EXPECT_EQ(config.device.id, platform::HostName());
  EXPECT_EQ(config.device.site, "unassigned");
  EXPECT_EQ(config.device.kind, v1::DEVICE_KIND_BRANCH_SERVER);
  EXPECT_EQ(config.device.services, kAllServices);
  EXPECT_EQ(config.store.path, "/var/lib/atmhealth/events.db");
  ASSERT_EQ(config.uplink.collectors.size(), 1u);
  EXPECT_EQ(config.uplink.collectors[0].host, "127.0.0.1");
  EXPECT_EQ(config.uplink.collectors[0].port, 7411);
  EXPECT_TRUE(config.uplink.plaintext);
  const StorageConfig* storage = config.Watcher<StorageConfig>("storage");
  ASSERT_NE(storage, nullptr);
  EXPECT_TRUE(storage->all_mounts);
  EXPECT_TRUE(storage->filesystems.empty());
  EXPECT_EQ(storage->defaults.warning_percent, 80);
  EXPECT_EQ(storage->defaults.critical_percent, 90);
}

}  // namespace
}  // namespace atmhealth::agent

namespace atmhealth::agent {
namespace {

TEST(ParseAgentConfigProblems, EverySectionsFirstProblemIsReportedWithItsLine) {
  const std::string text =
      "[device]\n"              // 1
      "id = \"atm 0412\"\n"     // 2: a space
      "\n"                      // 3
      "[store]\n"               // 4
      "max_bytes = \"64MB\"\n"  // 5: MB is refused
      "\n"                      // 6
      "[uplink]\n"              // 7
      "collectors = [\"127.0.0.1:7411\"]\n"
      "plaintext = true\n"        // 9
      "\n"                        // 10
      "[[storage.filesystem]]\n"  // 11
      "path = \"/var\"\n"         // 12
      "warning = 95\n"            // 13
      "critical = 90\n"           // 14: below warning
      "\n"                        // 15
      "[log]\n"                   // 16
      "level = \"loud\"\n";       // 17
  std::vector<Error> problems;
  Result<AgentConfig> config = ParseAgentConfig(text, "atmhealthd.toml", &problems);
  ASSERT_FALSE(config.ok());
  std::vector<std::string> messages;
  for (const Error& problem : problems) messages.push_back(problem.message());
  EXPECT_THAT(messages, ElementsAre(HasSubstr("atmhealthd.toml:2: device.id"),
                                    HasSubstr("atmhealthd.toml:5: store.max_bytes"),
                                    HasSubstr("atmhealthd.toml:14: storage.filesystem[0].critical"),
                                    HasSubstr("atmhealthd.toml:17: log.level")));
  // Without the list, the first problem alone, as at start.
  Result<AgentConfig> first = ParseAgentConfig(text, "atmhealthd.toml");
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().message(), messages.front());
}

TEST(ParseAgentConfigProblems, ASyntaxErrorIsTheOneProblem) {
  std::vector<Error> problems;
  EXPECT_FALSE(ParseAgentConfig("[device\nid = 1\n", "bad.toml", &problems).ok());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0].message(), HasSubstr("bad.toml:1:"));
}

}  // namespace
}  // namespace atmhealth::agent
