// keepalived's side of its notify FIFO, as keepalived does it: the FIFO made
// with mkfifo, opened read-write and non-blocking (so keepalived never waits
// for a reader), one line per state change. The test writes the lines,
// closes it as a stopping keepalived does, and makes it anew as a restarted
// one does.
#ifndef ATMHEALTH_TESTS_SUPPORT_FAKE_KEEPALIVED_FIFO_H_
#define ATMHEALTH_TESTS_SUPPORT_FAKE_KEEPALIVED_FIFO_H_

#include <filesystem>
#include <string>

namespace atmhealth::testing {

class FakeKeepalivedFifo {
 public:
  // Makes the FIFO at `path` and opens it.
  explicit FakeKeepalivedFifo(std::filesystem::path path);
  ~FakeKeepalivedFifo();
  FakeKeepalivedFifo(const FakeKeepalivedFifo&) = delete;
  FakeKeepalivedFifo& operator=(const FakeKeepalivedFifo&) = delete;

  // Writes `text` as it is (lines end in "\n"); false if it could not.
  bool Write(const std::string& text);
  // Closes its end, as keepalived stopping: the reader sees the writer go.
  void Close();
  // keepalived started again: the FIFO removed, made anew and opened.
  void Restart();

 private:
  void Open();

  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace atmhealth::testing

#endif  // ATMHEALTH_TESTS_SUPPORT_FAKE_KEEPALIVED_FIFO_H_
