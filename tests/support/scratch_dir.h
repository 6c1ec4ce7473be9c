// A scratch directory for one test or one benchmark: the tests and the load
// tools share it. Header-only, so the benchmarks need no test library.
#ifndef ATMHEALTH_TESTS_SUPPORT_SCRATCH_DIR_H_
#define ATMHEALTH_TESTS_SUPPORT_SCRATCH_DIR_H_

#include <stdlib.h>  // mkdtemp

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace atmhealth::testing {

// A fresh directory under the system's temporary directory ($TMPDIR, else
// /tmp, so SQLite's fsyncs are real), removed with everything in it when the
// object goes away (anything mounted on it is unmounted by the test itself).
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "atmhealth-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace atmhealth::testing

#endif  // ATMHEALTH_TESTS_SUPPORT_SCRATCH_DIR_H_
