#include "tests/support/fake_keepalived_fifo.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdexcept>

namespace atmhealth::testing {

FakeKeepalivedFifo::FakeKeepalivedFifo(std::filesystem::path path) : path_(std::move(path)) {
  Open();
}

FakeKeepalivedFifo::~FakeKeepalivedFifo() { Close(); }

void FakeKeepalivedFifo::Open() {
  if (::mkfifo(path_.c_str(), 0644) != 0 && errno != EEXIST) {
    throw std::runtime_error("mkfifo " + path_.string());
  }
  fd_ = ::open(path_.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0) throw std::runtime_error("open " + path_.string());
}

bool FakeKeepalivedFifo::Write(const std::string& text) {
  return fd_ >= 0 && ::write(fd_, text.data(), text.size()) == static_cast<ssize_t>(text.size());
}

void FakeKeepalivedFifo::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void FakeKeepalivedFifo::Restart() {
  Close();
  std::filesystem::remove(path_);
  Open();
}

}  // namespace atmhealth::testing
