// What an operator sees at the command line: --help names every flag, and a
// config with a mistake is refused with the file and line, exit code 2.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/process.h"
#include "tests/support/test_paths.h"

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

TEST(CommandLine, AgentAcceptsThePackagedExampleConfig) {
  const ProgramRun run =
      RunProgram("agent/atmhealthd",
                 {"--check-config", "--config", SourceFile("packaging/atmhealthd.toml").string()});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("valid"));
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
  EXPECT_THAT(RunProgram("agent/atmhealthd", {"--version"}).output, HasSubstr("atmhealthd 0."));
  EXPECT_THAT(RunProgram("collector/atmhealth-collector", {"--version"}).output,
              HasSubstr("atmhealth-collector 0."));
}

}  // namespace
}  // namespace atmhealth::testing
