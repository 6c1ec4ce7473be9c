#include "proto/frame_stream.h"

#include <google/protobuf/message_lite.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

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
    case FrameFault::kTruncated:
      return "truncated";
    case FrameFault::kTimeout:
      return "timeout";
    case FrameFault::kOversized:
      return "oversized";
    case FrameFault::kMalformed:
      return "malformed";
    case FrameFault::kBackpressure:
      return "backpressure";
    case FrameFault::kHandshake:
      return "handshake";
  }
  return "unknown";
}

std::shared_ptr<FrameStream> FrameStream::Create(Socket socket, Limits limits) {
  return std::shared_ptr<FrameStream>(new FrameStream(std::move(socket), nullptr, limits));
}

std::shared_ptr<FrameStream> FrameStream::Create(Socket socket,
                                                 std::shared_ptr<asio::ssl::context> tls,
                                                 Limits limits) {
  return std::shared_ptr<FrameStream>(new FrameStream(std::move(socket), std::move(tls), limits));
}

FrameStream::FrameStream(Socket socket, std::shared_ptr<asio::ssl::context> tls, Limits limits)
    : tls_context_(std::move(tls)),
      limits_(limits),
      decoder_(limits.max_frame_bytes),
      watchdog_(socket.get_executor()),
      drained_(socket.get_executor()) {
  if (tls_context_) {
    tls_.emplace(std::move(socket), *tls_context_);
  } else {
    plain_.emplace(std::move(socket));
  }
  boost::system::error_code ec;
  const auto endpoint = Lowest().remote_endpoint(ec);
  peer_ = ec ? std::string("unknown peer")
             : endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  Lowest().set_option(asio::ip::tcp::no_delay(true), ec);
}

void FrameStream::ExpectPeerName(const std::string& name) {
  if (!tls_) return;
  SSL* ssl = tls_->native_handle();
  boost::system::error_code ec;
  asio::ip::make_address(name, ec);
  if (!ec) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, name.c_str());
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    SSL_set1_host(ssl, name.c_str());
  }
}

asio::awaitable<FrameStatus> FrameStream::Handshake(HandshakeType type,
                                                    std::chrono::milliseconds timeout) {
  if (!tls_) co_return FrameStatus{};
  read_deadline_ = Clock::now() + timeout;
  ArmWatchdog();
  boost::system::error_code ec;
  co_await tls_->async_handshake(type, redirect_error(use_awaitable, ec));
  read_deadline_ = Clock::time_point::max();
  if (!ec && Lowest().is_open()) {
    peer_identity_ = PeerIdentity(tls_->native_handle());
    co_return FrameStatus{};
  }
  if (timed_out_) {
    handshake_failure_ = HandshakeFailure::kTimeout;
    co_return FrameStatus{FrameFault::kTimeout,
                          "no TLS handshake within " + std::to_string(timeout.count()) + " ms"};
  }
  if (!ec) ec = asio::error::operation_aborted;  // closed under the handshake
  handshake_failure_ = ClassifyHandshakeFailure(tls_->native_handle(), ec);
  co_return FrameStatus{FrameFault::kHandshake,
                        DescribeHandshakeFailure(tls_->native_handle(), ec)};
}

FrameStream::~FrameStream() = default;

void FrameStream::ArmWatchdog() {
  if (watchdog_running_) {
    watchdog_.cancel();  // re-read the deadlines
    return;
  }
  watchdog_running_ = true;
  asio::co_spawn(executor(), Watchdog(shared_from_this()), asio::detached);
}

// Runs while the socket is open; closes it once a deadline has passed. Holds
// the stream alive until then, so owners must Close() a stream they drop.
asio::awaitable<void> FrameStream::Watchdog([[maybe_unused]] std::shared_ptr<FrameStream> self) {
  while (Lowest().is_open()) {
    const auto deadline = std::min(read_deadline_, write_deadline_);
    if (deadline <= Clock::now()) {
      timed_out_ = true;
      boost::system::error_code ignored;
      Lowest().close(ignored);
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
    const auto buffer = asio::buffer(chunk);
    const std::size_t n =
        tls_ ? co_await tls_->async_read_some(buffer, redirect_error(use_awaitable, ec))
             : co_await plain_->async_read_some(buffer, redirect_error(use_awaitable, ec));
    if (ec) {
      read_deadline_ = Clock::time_point::max();
      if (timed_out_) {
        co_return FrameStatus{FrameFault::kTimeout,
                              "no whole frame within " + std::to_string(timeout.count()) + " ms"};
      }
      if (decoder_.buffered_bytes() > 0) {
        // The peer sent part of a frame and closed: a cut-off message, not
        // a clean end of the session.
        co_return FrameStatus{
            FrameFault::kTruncated,
            "closed by peer " + std::to_string(decoder_.buffered_bytes()) +
                " bytes into a frame (" +
                (ec == asio::error::eof ? std::string("end of stream") : ec.message()) + ")"};
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
  if (!is_open()) return FrameStatus{FrameFault::kClosed, "stream is closed"};
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
    asio::co_spawn(executor(), WriteLoop(shared_from_this()), asio::detached);
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
    const auto buffer = asio::buffer(sending);
    if (tls_) {
      co_await asio::async_write(*tls_, buffer, redirect_error(use_awaitable, ec));
    } else {
      co_await asio::async_write(*plain_, buffer, redirect_error(use_awaitable, ec));
    }
    write_deadline_ = Clock::time_point::max();
    sending.clear();
    if (ec) {
      write_status_ = timed_out_ ? FrameStatus{FrameFault::kTimeout, "write did not finish in time"}
                                 : FrameStatus{FrameFault::kClosed, ec.message()};
      outbox_.clear();
      if (timed_out_) {
        Close();
      } else {
        // The peer closed or reset. What it sent before (a Refusal saying
        // why) may still wait to be read: only the sending side is shut, and
        // the reader takes the rest before its owner closes the stream.
        boost::system::error_code ignored;
        Lowest().shutdown(Socket::shutdown_send, ignored);
      }
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
  if (Lowest().is_open()) {
    Lowest().shutdown(Socket::shutdown_both, ignored);
    Lowest().close(ignored);
  }
  watchdog_.cancel();
  drained_.cancel();
}

}  // namespace atmhealth::wire
