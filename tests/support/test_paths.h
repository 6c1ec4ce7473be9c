// Where tests find their fixtures and the built binaries, and a scratch
// directory per test.
#ifndef ATMHEALTH_TESTS_SUPPORT_TEST_PATHS_H_
#define ATMHEALTH_TESTS_SUPPORT_TEST_PATHS_H_

#include <filesystem>
#include <string>

namespace atmhealth::testing {

// tests/fixtures/<name>
std::filesystem::path Fixture(const std::string& name);
// <source tree>/<relative>, e.g. SourceFile("packaging/atmhealthd.toml").
std::filesystem::path SourceFile(const std::string& relative);
// <build>/<relative>, e.g. Binary("agent/atmhealthd").
std::filesystem::path Binary(const std::string& relative);
// An installed program found on PATH (e.g. "chromium"); empty when missing.
std::filesystem::path FindOnPath(const std::string& name);

// Prints every *.log file under `dir` (the last 100 KB of each) to stderr:
// what a failed integration test shows of its programs.
void PrintLogs(const std::filesystem::path& dir);

// A fresh directory, removed (with anything mounted on it unmounted by the
// test itself) when the object goes away.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace atmhealth::testing

#endif  // ATMHEALTH_TESTS_SUPPORT_TEST_PATHS_H_
