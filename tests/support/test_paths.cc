#include "tests/support/test_paths.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <system_error>

namespace atmhealth::testing {
namespace {

std::filesystem::path FromEnv(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    ADD_FAILURE() << name << " is not set: run the tests through ctest";
    return {};
  }
  return value;
}

}  // namespace

std::filesystem::path Fixture(const std::string& name) {
  return FromEnv("ATMHEALTH_FIXTURES") / name;
}

std::filesystem::path Binary(const std::string& relative) {
  return FromEnv("ATMHEALTH_BIN_DIR") / relative;
}

ScratchDir::ScratchDir() {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "atmhealth-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) std::abort();
  path_ = pattern;
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace atmhealth::testing
