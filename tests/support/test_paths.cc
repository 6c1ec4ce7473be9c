#include "tests/support/test_paths.h"

#include <gtest/gtest.h>

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

ScratchDir::ScratchDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "atmhealth-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) std::abort();
  path_ = pattern;
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace atmhealth::testing
