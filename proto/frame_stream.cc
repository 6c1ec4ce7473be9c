#include "proto/frame_stream.h"

#include <google/protobuf/message_lite.h>

#include <array>

namespace atmhealth::wire {
namespace {

using Clock = std::chrono::steady_clock;
using asio::redirect_error;
using asio::use_awaitable;

constexpr std::size_t kReadChunkBytes = 16 * 1024;

}  // namespace

const char* FrameFaultName(FrameFault fault) {
  switch (fault) {
    case FrameFault::kNone:
      return "none";
    case FrameFault::kClosed:
      return "closed";
    case FrameFault::kTimeout:
      return "timeout";
    case FrameFault::kOversized:
      return "oversized";
    case FrameFault::kMalformed:
      return "malformed";
    case FrameFault::kBackpressure:
      return "backpressure";
  }
  return "unknown";
}

std::shared_ptr<FrameStream> FrameStream::Create(Socket socket, Limits limits) {
  return std::shared_ptr<FrameStream>(new FrameStream(std::move(socket), limits));
}

FrameStream::FrameStream(Socket socket, Limits limits)
    : socket_(std::move(socket)),
      limits_(limits),
      decoder_(limits.max_frame_bytes),
      watchdog_(socket_.get_executor()),
      drained_(socket_.get_executor()) {
  boost::system::error_code ec;
  const auto endpoint = socket_.remote_endpoint(ec);
  peer_ = ec ? std::string("unknown peer")
             : endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
}

FrameStream::~FrameStream() = default;

void FrameStream::ArmWatchdog() {
  if (watchdog_running_) {
    watchdog_.cancel();  // re-read the deadlines
    return;
  }
  watchdog_running_ = true;
  asio::co_spawn(socket_.get_executor(), Watchdog(shared_from_this()), asio::detached);
}

// Runs while the socket is open; closes it once a deadline has passed. Holds
// the stream alive until then, so owners must Close() a stream they drop.
asio::awaitable<void> FrameStream::Watchdog([[maybe_unused]] std::shared_ptr<FrameStream> self) {
  while (socket_.is_open()) {
    const auto deadline = std::min(read_deadline_, write_deadline_);
    if (deadline <= Clock::now()) {
      timed_out_ = true;
      boost::system::error_code ignored;
      socket_.close(ignored);
      break;
    }
    watchdog_.expires_at(deadline);
    boost::system::error_code ec;
    co_await watchdog_.async_wait(redirect_error(use_awaitable, ec));
  }
  watchdog_running_ = false;
}

asio::awaitable<FrameStatus> FrameStream::Read(google::protobuf::MessageLite& message,
                                               std::chrono::milliseconds timeout) {
  read_deadline_ = Clock::now() + timeout;
  ArmWatchdog();
  std::array<char, kReadChunkBytes> chunk;
  for (;;) {
    std::string_view frame;
    switch (decoder_.Next(frame)) {
      case FrameDecoder::Result::kFrame:
        read_deadline_ = Clock::time_point::max();
        if (!message.ParseFromArray(frame.data(), static_cast<int>(frame.size()))) {
          co_return FrameStatus{FrameFault::kMalformed, "frame of " + std::to_string(frame.size()) +
                                                            " bytes does not parse as " +
                                                            message.GetTypeName()};
        }
        co_return FrameStatus{};
      case FrameDecoder::Result::kOversized:
        read_deadline_ = Clock::time_point::max();
        co_return FrameStatus{FrameFault::kOversized,
                              "frame of " + std::to_string(decoder_.refused_length()) +
                                  " bytes above the limit of " +
                                  std::to_string(limits_.max_frame_bytes)};
      case FrameDecoder::Result::kMalformedLength:
        read_deadline_ = Clock::time_point::max();
        co_return FrameStatus{FrameFault::kMalformed, "length prefix is not a valid varint32"};
      case FrameDecoder::Result::kNeedMore:
        break;
    }
    boost::system::error_code ec;
    const std::size_t n =
        co_await socket_.async_read_some(asio::buffer(chunk), redirect_error(use_awaitable, ec));
    if (ec) {
      read_deadline_ = Clock::time_point::max();
      if (timed_out_) {
        co_return FrameStatus{FrameFault::kTimeout,
                              "no whole frame within " + std::to_string(timeout.count()) + " ms"};
      }
      co_return FrameStatus{FrameFault::kClosed,
                            ec == asio::error::eof ? "closed by peer" : ec.message()};
    }
    bytes_received_ += n;
    decoder_.Append(std::string_view(chunk.data(), n));
  }
}

FrameStatus FrameStream::Send(const google::protobuf::MessageLite& message) {
  if (!write_status_.ok()) return write_status_;
  if (!socket_.is_open()) return FrameStatus{FrameFault::kClosed, "stream is closed"};
  if (outbox_.size() > limits_.max_queued_bytes) {
    return FrameStatus{FrameFault::kBackpressure,
                       "peer is not reading: " + std::to_string(outbox_.size()) + " bytes queued"};
  }
  if (!AppendFrame(message, limits_.max_frame_bytes, outbox_)) {
    return FrameStatus{FrameFault::kOversized, message.GetTypeName() + " of " +
                                                   std::to_string(message.ByteSizeLong()) +
                                                   " bytes above the frame limit of " +
                                                   std::to_string(limits_.max_frame_bytes)};
  }
  if (!writing_) {
    writing_ = true;
    asio::co_spawn(socket_.get_executor(), WriteLoop(shared_from_this()), asio::detached);
  }
  return FrameStatus{};
}

asio::awaitable<void> FrameStream::WriteLoop([[maybe_unused]] std::shared_ptr<FrameStream> self) {
  std::string sending;
  while (!outbox_.empty()) {
    sending.swap(outbox_);
    write_deadline_ = Clock::now() + limits_.write_timeout;
    ArmWatchdog();
    boost::system::error_code ec;
    co_await asio::async_write(socket_, asio::buffer(sending), redirect_error(use_awaitable, ec));
    write_deadline_ = Clock::time_point::max();
    sending.clear();
    if (ec) {
      write_status_ = timed_out_ ? FrameStatus{FrameFault::kTimeout, "write did not finish in time"}
                                 : FrameStatus{FrameFault::kClosed, ec.message()};
      outbox_.clear();
      Close();
      break;
    }
  }
  writing_ = false;
  drained_.cancel();
}

asio::awaitable<FrameStatus> FrameStream::Drain(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (writing_ && write_status_.ok()) {
    if (Clock::now() >= deadline)
      co_return FrameStatus{FrameFault::kTimeout, "send queue not drained"};
    drained_.expires_at(deadline);
    boost::system::error_code ec;
    co_await drained_.async_wait(redirect_error(use_awaitable, ec));
  }
  co_return write_status_;
}

void FrameStream::Close() {
  boost::system::error_code ignored;
  if (socket_.is_open()) {
    socket_.shutdown(Socket::shutdown_both, ignored);
    socket_.close(ignored);
  }
  watchdog_.cancel();
  drained_.cancel();
}

}  // namespace atmhealth::wire
