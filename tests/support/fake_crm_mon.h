// A stand-in for pacemaker's crm_mon: a small shell script that prints the
// crm_mon XML fixture the test chose, or hangs until it is killed. The test
// switches what it shows while the agent runs it.
#ifndef ATMHEALTH_TESTS_SUPPORT_FAKE_CRM_MON_H_
#define ATMHEALTH_TESTS_SUPPORT_FAKE_CRM_MON_H_

#include <filesystem>
#include <string>

namespace atmhealth::testing {

class FakeCrmMon {
 public:
  // Writes the script (and its choice file) into `dir`, showing `fixture`.
  FakeCrmMon(const std::filesystem::path& dir, const std::string& fixture);

  // The script: the command's argv[0].
  const std::filesystem::path& program() const { return program_; }
  // From its next run on, prints tests/fixtures/crm_mon/<fixture>.
  void Show(const std::string& fixture) const;
  // From its next run on, never ends by itself (sleeps until killed).
  void Hang() const;
  // How many times it has been started.
  int runs() const;

 private:
  void Choose(const std::string& choice) const;

  std::filesystem::path dir_;
  std::filesystem::path program_;
};

}  // namespace atmhealth::testing

#endif  // ATMHEALTH_TESTS_SUPPORT_FAKE_CRM_MON_H_
