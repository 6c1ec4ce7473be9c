#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "platform/disk_reserve.h"
#include "platform/os_error.h"

namespace atmhealth::platform {

Status DiskReserve::Take() {
  if (held_ || bytes_ == 0) return OkStatus();
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ErrorFromErrno(errno, "disk reserve \"" + path_ + "\": open");
  // Reserves the blocks without writing them: cheap when there is room,
  // and failing at once when there is not. The truncate cuts a larger file
  // left by a run with another size.
  int rc = ::ftruncate(fd, static_cast<off_t>(bytes_)) == 0 ? 0 : errno;
  if (rc == 0) rc = ::posix_fallocate(fd, 0, static_cast<off_t>(bytes_));
  const int synced = rc == 0 ? ::fsync(fd) : 0;
  const int sync_errno = errno;
  ::close(fd);
  if (rc != 0 || synced != 0) {
    ::unlink(path_.c_str());  // a partial reserve would hold room for nothing
    return ErrorFromErrno(rc != 0 ? rc : sync_errno, "disk reserve \"" + path_ + "\": allocating " +
                                                         std::to_string(bytes_) + " bytes");
  }
  held_ = true;
  return OkStatus();
}

bool DiskReserve::Release() {
  if (!held_) return false;
  ::unlink(path_.c_str());
  held_ = false;
  return true;
}

}  // namespace atmhealth::platform
