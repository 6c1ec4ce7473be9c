#include "tests/support/test_paths.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <system_error>

namespace atmhealth::testing {

std::filesystem::path Fixture(const std::string& name) {
  return std::filesystem::path(ATMHEALTH_FIXTURES_DIR) / name;
}

std::filesystem::path SourceFile(const std::string& relative) {
  return std::filesystem::path(ATMHEALTH_SOURCE_DIR) / relative;
}

std::filesystem::path Binary(const std::string& relative) {
  return std::filesystem::path(ATMHEALTH_BINARY_DIR) / relative;
}

std::filesystem::path FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::filesystem::path candidate = std::filesystem::path(dir) / name;
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

void PrintLogs(const std::filesystem::path& dir) {
  constexpr std::streamoff kTail = 100'000;
  std::error_code error;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, error);
       !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
    if (it->path().extension() != ".log") continue;
    std::ifstream in(it->path(), std::ios::binary | std::ios::ate);
    const std::streamoff size = in.tellg();
    in.seekg(std::max<std::streamoff>(0, size - kTail));
    std::cerr << "----- " << it->path().lexically_relative(dir).string() << " -----\n"
              << in.rdbuf() << "\n";
  }
}

}  // namespace atmhealth::testing
