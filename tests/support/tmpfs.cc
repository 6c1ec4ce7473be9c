#include "tests/support/tmpfs.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>

namespace atmhealth::testing {

TmpfsMount::TmpfsMount(const std::filesystem::path& dir, const std::string& options) : dir_(dir) {
  if (::geteuid() != 0) {
    ADD_FAILURE() << "this test mounts a real tmpfs on " << dir
                  << " and must run as root (CI runs it as root; run ctest with sudo); it is "
                     "never skipped";
    return;
  }
  std::filesystem::create_directories(dir);
  if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, options.c_str()) != 0) {
    ADD_FAILURE() << "mount -t tmpfs -o " << options << " tmpfs " << dir << ": "
                  << std::strerror(errno);
    return;
  }
  mounted_ = true;
}

TmpfsMount::~TmpfsMount() {
  if (!mounted_) return;
  if (::umount(dir_.c_str()) != 0) {
    // Something still holds it open (a process the test killed may not have
    // been reaped yet): detach it so the scratch directory can go.
    ::umount2(dir_.c_str(), MNT_DETACH);
  }
}

bool TmpfsMount::Remount(const std::string& options) {
  if (::mount("tmpfs", dir_.c_str(), "tmpfs", MS_REMOUNT, options.c_str()) != 0) {
    ADD_FAILURE() << "mount -o remount," << options << " " << dir_ << ": " << std::strerror(errno);
    return false;
  }
  return true;
}

bool TmpfsMount::RemountReadOnly() {
  if (::mount("tmpfs", dir_.c_str(), "tmpfs", MS_REMOUNT | MS_RDONLY, nullptr) != 0) {
    ADD_FAILURE() << "mount -o remount,ro " << dir_ << ": " << std::strerror(errno);
    return false;
  }
  return true;
}

bool TmpfsMount::Unmount() {
  if (::umount(dir_.c_str()) != 0) {
    ADD_FAILURE() << "umount " << dir_ << ": " << std::strerror(errno);
    return false;
  }
  mounted_ = false;
  return true;
}

std::size_t FillFile(const std::filesystem::path& file, std::size_t bytes) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    ADD_FAILURE() << "cannot create " << file << ": " << std::strerror(errno);
    return 0;
  }
  // A known size is reserved in one call, so that a watcher sampling while
  // the test fills never sees the filesystem half full (a warning on the way
  // to critical would be one more event than the test expects).
  if (bytes != std::numeric_limits<std::size_t>::max() &&
      ::posix_fallocate(fd, 0, static_cast<off_t>(bytes)) == 0) {
    ::fsync(fd);
    ::close(fd);
    return bytes;
  }
  const std::string chunk(4096, 'x');
  std::size_t written = 0;
  while (written < bytes) {
    const std::size_t want = std::min(chunk.size(), bytes - written);
    const ssize_t n = ::write(fd, chunk.data(), want);
    if (n <= 0) {
      if (n < 0 && errno != ENOSPC)
        ADD_FAILURE() << "write " << file << ": " << std::strerror(errno);
      break;
    }
    written += static_cast<std::size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  return written;
}

std::size_t FillUntilFull(const std::filesystem::path& file) {
  return FillFile(file, std::numeric_limits<std::size_t>::max());
}

}  // namespace atmhealth::testing
