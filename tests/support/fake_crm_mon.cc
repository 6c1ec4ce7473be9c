#include "tests/support/fake_crm_mon.h"

#include <sstream>

#include "tests/support/process.h"
#include "tests/support/test_paths.h"

namespace atmhealth::testing {

FakeCrmMon::FakeCrmMon(const std::filesystem::path& dir, const std::string& fixture)
    : dir_(dir), program_(dir / "crm_mon") {
  std::filesystem::create_directories(dir_);
  Show(fixture);
  WriteFile(program_,
            "#!/bin/sh\n"
            "# crm_mon as the test wants it: a fixture, or a hang.\n"
            "echo run >> '" +
                (dir_ / "runs").string() +
                "'\n"
                "choice=$(cat '" +
                (dir_ / "choice").string() +
                "')\n"
                "if [ \"$choice\" = hang ]; then exec sleep 3600; fi\n"
                "exec cat \"$choice\"\n");
  std::filesystem::permissions(program_, std::filesystem::perms::owner_all);
}

void FakeCrmMon::Show(const std::string& fixture) const {
  Choose(Fixture("crm_mon/" + fixture).string());
}

void FakeCrmMon::Hang() const { Choose("hang"); }

int FakeCrmMon::runs() const {
  std::istringstream lines(ReadFile(dir_ / "runs"));
  int count = 0;
  for (std::string line; std::getline(lines, line);) ++count;
  return count;
}

void FakeCrmMon::Choose(const std::string& choice) const {
  // Replaced at once, never seen half written.
  WriteFile(dir_ / "choice.next", choice);
  std::filesystem::rename(dir_ / "choice.next", dir_ / "choice");
}

}  // namespace atmhealth::testing
