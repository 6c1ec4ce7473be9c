// Real filesystems that fill up, for tests: a small tmpfs mounted for the
// test's lifetime, and writers that fill it.
#ifndef ATMHEALTH_TESTS_SUPPORT_TMPFS_H_
#define ATMHEALTH_TESTS_SUPPORT_TMPFS_H_

#include <cstddef>
#include <filesystem>
#include <string>

namespace atmhealth::testing {

// A tmpfs mounted on `dir` (created if missing) with mount options such as
// "size=2m" or "size=8m,nr_inodes=128", unmounted when the object goes away.
// Mounting needs root: without it the test fails with a message saying so,
// it is never skipped. Check mounted() with ASSERT_TRUE.
class TmpfsMount {
 public:
  TmpfsMount(const std::filesystem::path& dir, const std::string& options);
  ~TmpfsMount();
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;

  bool mounted() const { return mounted_; }
  const std::filesystem::path& path() const { return dir_; }
  std::filesystem::path operator/(const std::string& name) const { return dir_ / name; }
  // mount -o remount,<options>, e.g. "size=1m"; false (and a test failure)
  // when the kernel refuses.
  bool Remount(const std::string& options);
  // mount -o remount,ro.
  bool RemountReadOnly();
  // umount now, as an operator (or a failing disk) would; false (and a test
  // failure) when the kernel refuses.
  bool Unmount();

 private:
  std::filesystem::path dir_;
  bool mounted_ = false;
};

// Writes `bytes` into `file`, or until the filesystem is full when `bytes` is
// more than fits, then fsyncs. Returns the bytes written.
std::size_t FillFile(const std::filesystem::path& file, std::size_t bytes);
// Writes into `file` until the filesystem refuses with ENOSPC.
std::size_t FillUntilFull(const std::filesystem::path& file);

}  // namespace atmhealth::testing

#endif  // ATMHEALTH_TESTS_SUPPORT_TMPFS_H_
