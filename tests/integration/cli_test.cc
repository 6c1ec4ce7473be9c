// What an operator sees at the command line: --help names every flag, and a
// config with a mistake is refused with the file and line, exit code 2.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/opensslv.h>
#include <sqlite3.h>

#include <filesystem>
#include <utility>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/test_paths.h"
#include "tests/support/test_pki.h"

namespace atmhealth::testing {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;

struct ProgramRun {
  int exit_code = -1;
  std::string output;
};

ProgramRun RunProgram(const std::string& binary, const std::vector<std::string>& args) {
  ScratchDir scratch;
  Process process(Binary(binary), args, scratch / "output.log");
  ProgramRun run;
  run.exit_code = process.Wait(seconds(20)).value_or(-1);
  run.output = process.Log();
  return run;
}

TEST(CommandLine, AgentHelpDescribesEveryFlag) {
  const ProgramRun run = RunProgram("agent/atmhealthd", {"--help"});
  EXPECT_EQ(run.exit_code, 0);
  for (const char* flag : {"--config", "--collector", "--store", "--log-level", "--check-config",
                           "--version", "--help"}) {
    EXPECT_THAT(run.output, HasSubstr(flag));
  }
}

TEST(CommandLine, CollectorHelpDescribesEveryFlag) {
  const ProgramRun run = RunProgram("collector/atmhealth-collector", {"--help"});
  EXPECT_EQ(run.exit_code, 0);
  for (const char* flag : {"--config", "--listen", "--http-listen", "--db", "--ready-file",
                           "--log-level", "--check-config", "--version", "--help"}) {
    EXPECT_THAT(run.output, HasSubstr(flag));
  }
}

TEST(CommandLine, AgentRefusesAConfigMistakeNamingFileAndLine) {
  ScratchDir scratch;
  WriteFile(scratch / "atmhealthd.toml",
            "[device]\n"
            "id = \"atm-0412\"\n"
            "\n"
            "[uplink]\n"
            "collectors = [\"127.0.0.1:7411\"]\n"
            "plaintext = true\n"
            "\n"
            "[[storage.filesystem]]\n"
            "path = \"/var\"\n"
            "warning = 95\n"
            "critical = 90\n");
  const ProgramRun run = RunProgram(
      "agent/atmhealthd", {"--check-config", "--config", (scratch / "atmhealthd.toml").string()});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.output, HasSubstr("atmhealthd.toml:11: storage.filesystem[0].critical"));
}

// The packaged examples with the TLS files they name (under
// /etc/atmhealth/tls/) made by scripts/pki.sh and put in a scratch directory.
class PackagedExample {
 public:
  explicit PackagedExample(const std::string& name) : pki_(scratch_ / "pki") {
    std::string text = ReadFile(SourceFile("packaging/" + name));
    const std::string packaged_dir = "/etc/atmhealth/tls/";
    for (auto at = text.find(packaged_dir); at != std::string::npos; at = text.find(packaged_dir)) {
      text.replace(at, packaged_dir.size(), (scratch_ / "tls").string() + "/");
    }
    std::filesystem::create_directories(scratch_ / "tls");
    WriteFile(scratch_ / name, text);
    const auto device = pki_.Device("atm-0412");
    const auto collector = pki_.Collector("collector", {"127.0.0.1"});
    for (const auto& [from, to] : std::vector<std::pair<std::filesystem::path, std::string>>{
             {pki_.ca(), "ca.crt"},
             {pki_.crl(), "crl.pem"},
             {device.certificate, "device.crt"},
             {device.key, "device.key"},
             {collector.certificate, "collector.crt"},
             {collector.key, "collector.key"}}) {
      std::filesystem::copy_file(from, scratch_ / "tls" / to);
    }
    config_ = scratch_ / name;
  }
  std::string config() const { return config_.string(); }
  std::filesystem::path tls(const std::string& file) const { return scratch_ / "tls" / file; }

 private:
  ScratchDir scratch_;
  TestPki pki_;
  std::filesystem::path config_;
};

TEST(CommandLine, AgentAcceptsThePackagedExampleConfigAndShowsItsTlsSettings) {
  PackagedExample example("atmhealthd.toml");
  const ProgramRun run =
      RunProgram("agent/atmhealthd", {"--check-config", "--config", example.config()});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("valid"));
  EXPECT_THAT(run.output, HasSubstr("(TLS 1.3)"));
  EXPECT_THAT(run.output, HasSubstr("uplink.certificate " + example.tls("device.crt").string()));
}

TEST(CommandLine, CollectorAcceptsThePackagedExampleConfigAndShowsItsTlsSettings) {
  PackagedExample example("atmhealth-collector.toml");
  const ProgramRun run =
      RunProgram("collector/atmhealth-collector", {"--check-config", "--config", example.config()});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("configuration is valid"));
  EXPECT_THAT(run.output, HasSubstr("TLS 1.3, client certificate required"));
  EXPECT_THAT(run.output, HasSubstr("tls.crl: " + example.tls("crl.pem").string()));
}

TEST(CommandLine, TlsKeyThatDoesNotMatchItsCertificateIsAConfigError) {
  PackagedExample example("atmhealth-collector.toml");
  std::filesystem::copy_file(example.tls("device.key"), example.tls("collector.key"),
                             std::filesystem::copy_options::overwrite_existing);
  const ProgramRun run =
      RunProgram("collector/atmhealth-collector", {"--check-config", "--config", example.config()});
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_THAT(run.output, HasSubstr("[tls] private key " + example.tls("collector.key").string() +
                                    ": does not belong to the certificate"));
}

TEST(CommandLine, CollectorRefusesAConfigMistakeNamingFileAndLine) {
  ScratchDir scratch;
  WriteFile(scratch / "collector.toml",
            "[listen]\n"
            "plaintext = true\n"
            "port = 70000\n");
  const ProgramRun run =
      RunProgram("collector/atmhealth-collector",
                 {"--check-config", "--config", (scratch / "collector.toml").string()});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.output, HasSubstr("collector.toml:3: listen.port"));
}

TEST(CommandLine, VersionIsPrinted) {
  // The agent names the OpenSSL and SQLite it carries: a security update of
  // either reaches it only when it is rebuilt.
  const std::string agent = RunProgram("agent/atmhealthd", {"--version"}).output;
  EXPECT_THAT(agent, HasSubstr("atmhealthd 0."));
  EXPECT_THAT(agent, HasSubstr("\n" OPENSSL_VERSION_TEXT "\n"));
  EXPECT_THAT(agent, HasSubstr("\nSQLite " SQLITE_VERSION "\n"));
  EXPECT_THAT(RunProgram("collector/atmhealth-collector", {"--version"}).output,
              HasSubstr("atmhealth-collector 0."));
}

}  // namespace
}  // namespace atmhealth::testing
