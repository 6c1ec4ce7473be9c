// Stand-ins for the programs the agent runs (pacemaker's crm_mon, a check of
// the command watcher): a small shell script that prints what the test chose
// and exits with the status it chose, or hangs until it is killed. The test
// switches its answer while the agent runs it.
#ifndef ATMHEALTH_TESTS_SUPPORT_FAKE_COMMAND_H_
#define ATMHEALTH_TESTS_SUPPORT_FAKE_COMMAND_H_

#include <filesystem>
#include <string>
#include <vector>

namespace atmhealth::testing {

class FakeCommand {
 public:
  // Writes the script `dir`/`name` (and its choice file); until told
  // otherwise it prints nothing and exits with status 0.
  FakeCommand(const std::filesystem::path& dir, const std::string& name);

  // The script: the command's argv[0].
  const std::filesystem::path& program() const { return program_; }
  // From its next run on, prints `text` and exits with `exit_status`.
  void Answer(int exit_status, const std::string& text) const;
  // From its next run on, prints the file `path` and exits with status 0.
  void Print(const std::filesystem::path& path) const;
  // From its next run on, never ends by itself (sleeps until killed).
  void Hang() const;
  // How many times it has been started.
  int runs() const;
  // The arguments of each run, oldest first, joined by single spaces.
  std::vector<std::string> arguments() const;

 private:
  void Choose(const std::string& choice) const;

  std::filesystem::path dir_;
  std::filesystem::path program_;
  mutable int answers_ = 0;  // files written by Answer
};

// crm_mon printing a fixture of tests/fixtures/crm_mon/.
class FakeCrmMon : public FakeCommand {
 public:
  // Writes the script into `dir`, showing `fixture`.
  FakeCrmMon(const std::filesystem::path& dir, const std::string& fixture);
  // From its next run on, prints tests/fixtures/crm_mon/<fixture>.
  void Show(const std::string& fixture) const;
};

}  // namespace atmhealth::testing

#endif  // ATMHEALTH_TESTS_SUPPORT_FAKE_COMMAND_H_
