// Reads keepalived's notify FIFO on a thread of its own: the latest state of
// each VRRP instance as keepalived reports its changes. The FIFO is opened
// without blocking (a keepalived not running holds nobody), opened again
// when its writer goes away (keepalived stopped) or when the path names
// another file (keepalived restarted and made the FIFO anew: the one open
// would never hear from it), and retried while it cannot be opened.
#ifndef ATMHEALTH_AGENT_WATCH_VRRP_FIFO_READER_H_
#define ATMHEALTH_AGENT_WATCH_VRRP_FIFO_READER_H_

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "platform/asio.h"
#include "platform/keepalived.h"
#include "platform/status.h"

namespace atmhealth::agent {

class VrrpFifoReader {
 public:
  // What has come through the FIFO since the reader started.
  struct View {
    std::map<std::string, platform::VrrpNotice> instances;  // the latest of each
    std::optional<Error> open_error;                        // why the FIFO cannot be opened now
    std::uint64_t lines = 0;                                // lines read
    std::uint64_t malformed = 0;                            // of which malformed
    std::optional<Error> last_malformed;
    std::uint64_t writers_gone = 0;  // times the writer closed its end
  };

  // Opens `path` at once; while it cannot be opened, tries again every
  // `retry`, and while it is open looks that often whether `path` still
  // names it.
  VrrpFifoReader(std::string path, std::chrono::milliseconds retry);
  // Stops reading and closes the FIFO.
  ~VrrpFifoReader();
  VrrpFifoReader(const VrrpFifoReader&) = delete;
  VrrpFifoReader& operator=(const VrrpFifoReader&) = delete;

  // Thread-safe.
  View Latest() const;
  // The reader's thread, for the watchdog to prove alive; never busy for
  // longer than one read.
  asio::any_io_executor executor() { return pool_.get_executor(); }

 private:
  // All on the reader's thread.
  void Open();
  void RetryAfter(std::chrono::milliseconds delay);
  void CheckStillThere();
  void AwaitReadable();
  void OnReadable(std::uint64_t opened, boost::system::error_code ec);

  const std::string path_;
  const std::chrono::milliseconds retry_;
  asio::thread_pool pool_{1};
  asio::steady_timer timer_{pool_.get_executor()};
  std::optional<asio::posix::stream_descriptor> fifo_;
  std::array<char, 4096> buffer_{};
  std::uint64_t bytes_since_open_ = 0;
  // Counts the FIFOs opened: a wait of one opened before is stale (its
  // readiness may have been queued just before the FIFO was replaced).
  std::uint64_t opened_ = 0;
  bool stopping_ = false;
  mutable std::mutex mutex_;
  platform::VrrpNoticeStream stream_;  // guarded by mutex_
  std::optional<Error> open_error_;    // guarded by mutex_
  std::uint64_t writers_gone_ = 0;     // guarded by mutex_
};

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_WATCH_VRRP_FIFO_READER_H_
