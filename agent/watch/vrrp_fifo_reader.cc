#include "agent/watch/vrrp_fifo_reader.h"

#include <future>

#include "platform/fifo.h"

namespace atmhealth::agent {
namespace {

// A writer that opened and closed the FIFO without a word (a reload probing
// it): open again after this pause, so that a FIFO that keeps reporting its
// writer gone never spins the thread.
constexpr std::chrono::milliseconds kQuietReopenPause{100};

}  // namespace

VrrpFifoReader::VrrpFifoReader(std::string path, std::chrono::milliseconds retry)
    : path_(std::move(path)), retry_(retry), stream_(path_) {
  asio::post(pool_, [this] { Open(); });
}

VrrpFifoReader::~VrrpFifoReader() {
  std::promise<void> stopped;
  asio::post(pool_, [this, &stopped] {
    stopping_ = true;
    timer_.cancel();
    fifo_.reset();
    stopped.set_value();
  });
  stopped.get_future().wait();
  pool_.join();
}

VrrpFifoReader::View VrrpFifoReader::Latest() const {
  std::lock_guard lock(mutex_);
  View view;
  view.instances = stream_.instances();
  view.open_error = open_error_;
  view.lines = stream_.lines();
  view.malformed = stream_.malformed();
  view.last_malformed = stream_.last_error();
  view.writers_gone = writers_gone_;
  return view;
}

void VrrpFifoReader::Open() {
  if (stopping_) return;
  auto fifo = platform::OpenFifoForReading(pool_.get_executor(), path_);
  {
    std::lock_guard lock(mutex_);
    if (!fifo.ok()) {
      open_error_ = fifo.error();
    } else {
      open_error_.reset();
    }
  }
  ++opened_;
  if (!fifo.ok()) {
    fifo_.reset();
    RetryAfter(retry_);
    return;
  }
  // The new end is open before the old one closes: a writer opening the
  // FIFO meanwhile always finds a reader.
  fifo_ = std::move(fifo).value();
  bytes_since_open_ = 0;
  AwaitReadable();
  CheckStillThere();
}

void VrrpFifoReader::CheckStillThere() {
  // The timer waits for a retry while the FIFO is closed, and for this
  // check while it is open; setting it cancels the other wait.
  timer_.expires_after(retry_);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopping_ || !fifo_) return;
    if (platform::IsStillAt(*fifo_, path_)) {
      CheckStillThere();
    } else {
      Open();
    }
  });
}

void VrrpFifoReader::RetryAfter(std::chrono::milliseconds delay) {
  if (stopping_) return;
  timer_.expires_after(delay);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopping_) return;
    Open();
  });
}

void VrrpFifoReader::AwaitReadable() {
  // Waits for readiness without reading: a read on a FIFO without a writer
  // returns end-of-file at once, which a speculative read would take for
  // the writer leaving again and again.
  fifo_->async_wait(
      asio::posix::stream_descriptor::wait_read,
      [this, opened = opened_](boost::system::error_code ec) { OnReadable(opened, ec); });
}

void VrrpFifoReader::OnReadable(std::uint64_t opened, boost::system::error_code ec) {
  if (stopping_ || ec == asio::error::operation_aborted || opened != opened_ || !fifo_) return;
  while (!ec) {
    const std::size_t read = fifo_->read_some(asio::buffer(buffer_), ec);
    if (read > 0) {
      bytes_since_open_ += read;
      std::lock_guard lock(mutex_);
      stream_.Feed(std::string_view(buffer_.data(), read));
    }
  }
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    AwaitReadable();
    return;
  }
  if (ec == asio::error::eof) {
    {
      std::lock_guard lock(mutex_);
      stream_.WriterGone();
      ++writers_gone_;
    }
    if (bytes_since_open_ == 0) {
      fifo_.reset();
      ++opened_;
      RetryAfter(kQuietReopenPause);
    } else {
      Open();
    }
    return;
  }
  {
    std::lock_guard lock(mutex_);
    open_error_ = Error(ErrorCode::kIo, path_ + ": read: " + ec.message());
  }
  fifo_.reset();
  ++opened_;
  RetryAfter(retry_);
}

}  // namespace atmhealth::agent
