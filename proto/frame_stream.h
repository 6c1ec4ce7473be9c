// A connection that carries delimited protobuf frames, shared by the agent's
// uplink and the collector's ingest so both sides speak the codec the same way.
// The same code runs over plain TCP or over TLS (proto/tls_context.h): only
// the byte stream below the framing differs, chosen when the stream is
// created; a TLS stream is usable after Handshake().
//
// Every operation has a deadline: a watchdog closes the socket when a read or
// a queued write takes longer than its time limit, so a silent or stuck peer
// can never hold a session open. All members run on the socket's executor (a
// strand in a multi-threaded io_context).
#ifndef ATMHEALTH_PROTO_FRAME_STREAM_H_
#define ATMHEALTH_PROTO_FRAME_STREAM_H_

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "platform/asio_ssl.h"
#include "proto/frame_codec.h"
#include "proto/tls_context.h"

namespace google::protobuf {
class MessageLite;
}

namespace atmhealth::wire {

// Why a read or write failed; kNone on success.
enum class FrameFault {
  kNone,
  kClosed,        // the peer closed or reset the connection, or Close() was called
  kTruncated,     // the peer closed the connection in the middle of a frame
  kTimeout,       // no whole frame within the time limit
  kOversized,     // a length prefix above the frame limit
  kMalformed,     // a bad length prefix or bytes that do not parse as the expected message
  kBackpressure,  // the peer does not read and the send queue is full
  kHandshake,     // the TLS handshake failed (see FrameStream::handshake_failure())
};

const char* FrameFaultName(FrameFault fault);  // "closed", "timeout", "oversized", ...

struct FrameStatus {
  FrameFault fault = FrameFault::kNone;
  std::string detail;  // one line for the log, e.g. "frame of 2097152 bytes above limit 1048576"
  bool ok() const { return fault == FrameFault::kNone; }
};

class FrameStream : public std::enable_shared_from_this<FrameStream> {
 public:
  using Socket = asio::ip::tcp::socket;
  using TlsSocket = asio::ssl::stream<Socket>;
  using HandshakeType = asio::ssl::stream_base::handshake_type;

  struct Limits {
    std::size_t max_frame_bytes = kDefaultMaxFrameBytes;
    std::size_t max_queued_bytes = 8 * kDefaultMaxFrameBytes;  // unsent frames, bytes
    std::chrono::milliseconds write_timeout{15000};            // per queued write
  };

  // Plain TCP.
  static std::shared_ptr<FrameStream> Create(Socket socket, Limits limits);
  // TLS over `socket` with `tls`, which the stream keeps alive; call
  // Handshake() before anything else.
  static std::shared_ptr<FrameStream> Create(Socket socket, std::shared_ptr<asio::ssl::context> tls,
                                             Limits limits);
  ~FrameStream();

  // Client side, before Handshake(): the name (DNS name or IP address) the
  // server's certificate must carry; a DNS name is also sent as SNI.
  void ExpectPeerName(const std::string& name);

  // Runs the TLS handshake within `timeout`; returns at once on a plain
  // stream. On failure the fault is kHandshake (or kTimeout) and
  // handshake_failure() says why; the caller closes the stream.
  asio::awaitable<FrameStatus> Handshake(HandshakeType type, std::chrono::milliseconds timeout);
  bool is_tls() const { return tls_.has_value(); }
  HandshakeFailure handshake_failure() const { return handshake_failure_; }
  // The identity of the verified peer certificate (its subject CN, see
  // tls_context.h); empty on a plain stream or before Handshake().
  const std::string& peer_identity() const { return peer_identity_; }

  // Reads the next frame and parses it into `message`; waits at most
  // `timeout`. Only one Read may be outstanding at a time.
  asio::awaitable<FrameStatus> Read(google::protobuf::MessageLite& message,
                                    std::chrono::milliseconds timeout);

  // Queues one frame for sending and returns at once; frames leave in the
  // order queued. A write error closes the stream, which the next Read sees.
  FrameStatus Send(const google::protobuf::MessageLite& message);

  // Waits until every queued frame has been written (or the stream failed).
  asio::awaitable<FrameStatus> Drain(std::chrono::milliseconds timeout);

  // Closes the socket; outstanding operations complete with kClosed.
  void Close();
  bool is_open() const { return Lowest().is_open(); }
  // "address:port" of the peer, fixed at creation, for log lines.
  const std::string& peer() const { return peer_; }
  Socket::executor_type executor() { return Lowest().get_executor(); }
  std::uint64_t bytes_received() const { return bytes_received_; }

 private:
  FrameStream(Socket socket, std::shared_ptr<asio::ssl::context> tls, Limits limits);
  Socket& Lowest() { return tls_ ? tls_->next_layer() : *plain_; }
  const Socket& Lowest() const { return tls_ ? tls_->next_layer() : *plain_; }
  asio::awaitable<void> WriteLoop(std::shared_ptr<FrameStream> self);
  asio::awaitable<void> Watchdog(std::shared_ptr<FrameStream> self);
  void ArmWatchdog();

  // Exactly one of plain_ and tls_ is set. The context outlives the TLS
  // stream that uses it, even when the collector has loaded a newer one.
  std::shared_ptr<asio::ssl::context> tls_context_;
  std::optional<Socket> plain_;
  std::optional<TlsSocket> tls_;
  Limits limits_;
  std::string peer_;
  FrameDecoder decoder_;
  std::string outbox_;  // frames queued and not yet handed to the socket
  bool writing_ = false;
  bool watchdog_running_ = false;
  FrameStatus write_status_;
  asio::steady_timer watchdog_;
  asio::steady_timer drained_;  // cancelled whenever the outbox empties
  std::chrono::steady_clock::time_point read_deadline_ =
      std::chrono::steady_clock::time_point::max();
  std::chrono::steady_clock::time_point write_deadline_ =
      std::chrono::steady_clock::time_point::max();
  bool timed_out_ = false;
  std::uint64_t bytes_received_ = 0;
  HandshakeFailure handshake_failure_ = HandshakeFailure::kNone;
  std::string peer_identity_;
};

}  // namespace atmhealth::wire

#endif  // ATMHEALTH_PROTO_FRAME_STREAM_H_
