#include "tests/support/fake_command.h"

#include <sstream>

#include "tests/support/process.h"
#include "tests/support/test_paths.h"

namespace atmhealth::testing {

FakeCommand::FakeCommand(const std::filesystem::path& dir, const std::string& name)
    : dir_(dir), program_(dir / name) {
  std::filesystem::create_directories(dir_);
  Answer(0, "");
  // The choice file holds "hang", or "<exit status> <file to print>".
  WriteFile(program_,
            "#!/bin/sh\n"
            "# As the test wants it: an answer, or a hang.\n"
            "printf '%s\\n' \"$*\" >> '" +
                (dir_ / (name + ".runs")).string() +
                "'\n"
                "read -r status file < '" +
                (dir_ / (name + ".choice")).string() +
                "'\n"
                "if [ \"$status\" = hang ]; then exec sleep 3600; fi\n"
                "cat \"$file\"\n"
                "exit \"$status\"\n");
  std::filesystem::permissions(program_, std::filesystem::perms::owner_all);
}

void FakeCommand::Answer(int exit_status, const std::string& text) const {
  const std::filesystem::path answer =
      dir_ / (program_.filename().string() + ".answer" + std::to_string(++answers_));
  WriteFile(answer, text);
  Choose(std::to_string(exit_status) + " " + answer.string());
}

void FakeCommand::Print(const std::filesystem::path& path) const { Choose("0 " + path.string()); }

void FakeCommand::Hang() const { Choose("hang"); }

int FakeCommand::runs() const { return static_cast<int>(arguments().size()); }

std::vector<std::string> FakeCommand::arguments() const {
  std::istringstream lines(ReadFile(dir_ / (program_.filename().string() + ".runs")));
  std::vector<std::string> runs;
  for (std::string line; std::getline(lines, line);) runs.push_back(line);
  return runs;
}

void FakeCommand::Choose(const std::string& choice) const {
  // Replaced at once, never seen half written.
  const std::string name = program_.filename().string();
  WriteFile(dir_ / (name + ".choice.next"), choice + "\n");
  std::filesystem::rename(dir_ / (name + ".choice.next"), dir_ / (name + ".choice"));
}

FakeCrmMon::FakeCrmMon(const std::filesystem::path& dir, const std::string& fixture)
    : FakeCommand(dir, "crm_mon") {
  Show(fixture);
}

void FakeCrmMon::Show(const std::string& fixture) const { Print(Fixture("crm_mon/" + fixture)); }

}  // namespace atmhealth::testing
