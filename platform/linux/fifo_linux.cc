#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "platform/fifo.h"
#include "platform/os_error.h"

namespace atmhealth::platform {

Result<asio::posix::stream_descriptor> OpenFifoForReading(const asio::any_io_executor& executor,
                                                          const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return ErrorFromErrno(errno, path);
  struct stat status {};
  if (::fstat(fd, &status) != 0) {
    const int error = errno;
    ::close(fd);
    return ErrorFromErrno(error, path);
  }
  if (!S_ISFIFO(status.st_mode)) {
    ::close(fd);
    return Error(ErrorCode::kInvalidArgument,
                 path + ": not a FIFO (keepalived makes it, or mkfifo does)");
  }
  asio::posix::stream_descriptor fifo(executor, fd);
  // Reads return would_block instead of waiting: the reader's thread waits
  // for readiness, never inside read.
  fifo.non_blocking(true);
  return fifo;
}

bool IsStillAt(asio::posix::stream_descriptor& fifo, const std::string& path) {
  struct stat open_file {};
  struct stat named {};
  if (::fstat(fifo.native_handle(), &open_file) != 0) return false;
  if (::stat(path.c_str(), &named) != 0) return false;
  return open_file.st_dev == named.st_dev && open_file.st_ino == named.st_ino;
}

}  // namespace atmhealth::platform
