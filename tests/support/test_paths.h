// Where tests find their fixtures and the built binaries, and a scratch
// directory per test (tests/support/scratch_dir.h).
#ifndef ATMHEALTH_TESTS_SUPPORT_TEST_PATHS_H_
#define ATMHEALTH_TESTS_SUPPORT_TEST_PATHS_H_

#include <filesystem>
#include <string>

#include "tests/support/scratch_dir.h"

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

}  // namespace atmhealth::testing

#endif  // ATMHEALTH_TESTS_SUPPORT_TEST_PATHS_H_
