// What the benchmarks share: the tests' sample events (shaped like the ones
// the agent really records, tests/support/sample_events.h) and a scratch
// directory on the disk the temporary directory is on ($TMPDIR, else /tmp),
// so SQLite's fsyncs are real.
#ifndef ATMHEALTH_TESTS_BENCH_BENCH_EVENTS_H_
#define ATMHEALTH_TESTS_BENCH_BENCH_EVENTS_H_

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <system_error>

#include "tests/support/sample_events.h"

namespace atmhealth::bench {

// A fresh directory under the system's temporary directory, removed with
// everything in it when the object goes away.
class ScratchDir {
 public:
  ScratchDir() {
    std::random_device random;
    for (int attempt = 0; attempt < 100; ++attempt) {
      path_ =
          std::filesystem::temp_directory_path() / ("atmhealth-bench-" + std::to_string(random()));
      if (std::filesystem::create_directory(path_)) return;
    }
    std::abort();  // a temporary directory that refuses 100 new names is broken
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace atmhealth::bench

#endif  // ATMHEALTH_TESTS_BENCH_BENCH_EVENTS_H_
