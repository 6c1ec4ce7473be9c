#include "tests/support/agent_client.h"

#include "proto/frame_codec.h"

namespace atmhealth::testing {
namespace {

constexpr std::chrono::milliseconds kSendTimeout{5000};

}  // namespace

AgentClient::AgentClient() : work_(asio::make_work_guard(io_)) {}

Result<std::unique_ptr<AgentClient>> AgentClient::Connect(std::uint16_t port,
                                                          std::string_view raw_bytes,
                                                          const std::string& host) {
  std::unique_ptr<AgentClient> client(new AgentClient());
  boost::system::error_code ec;
  const asio::ip::address address = asio::ip::make_address(host, ec);
  if (ec) return Error(ErrorCode::kInvalidArgument, "AgentClient: bad host " + host);
  // Loopback connects and small writes finish at once, so these blocking
  // calls need no deadline.
  asio::ip::tcp::socket socket(asio::make_strand(client->io_));
  socket.connect(asio::ip::tcp::endpoint(address, port), ec);
  if (ec) {
    return Error(ErrorCode::kUnavailable, "AgentClient: connect to " + host + ":" +
                                              std::to_string(port) + ": " + ec.message());
  }
  if (!raw_bytes.empty()) {
    asio::write(socket, asio::buffer(raw_bytes.data(), raw_bytes.size()), ec);
    if (ec) return Error(ErrorCode::kIo, "AgentClient: write: " + ec.message());
  }
  client->stream_ = wire::FrameStream::Create(std::move(socket), wire::FrameStream::Limits{});
  client->thread_ = std::thread([io = &client->io_] { io->run(); });
  return client;
}

AgentClient::~AgentClient() {
  Close();
  work_.reset();
  if (thread_.joinable()) thread_.join();
}

void AgentClient::Close() {
  if (stream_ == nullptr) return;
  asio::post(stream_->executor(), [stream = stream_] { stream->Close(); });
}

wire::FrameStatus AgentClient::Send(const v1::AgentMessage& message) {
  return asio::co_spawn(
             stream_->executor(),
             [stream = stream_, message]() -> asio::awaitable<wire::FrameStatus> {
               const wire::FrameStatus queued = stream->Send(message);
               if (!queued.ok()) co_return queued;
               co_return co_await stream->Drain(kSendTimeout);
             },
             asio::use_future)
      .get();
}

std::future<AgentClient::Received> AgentClient::ReadAsync(std::chrono::milliseconds timeout) {
  return asio::co_spawn(
      stream_->executor(),
      [stream = stream_, timeout]() -> asio::awaitable<Received> {
        Received received;
        received.status = co_await stream->Read(received.message, timeout);
        co_return received;
      },
      asio::use_future);
}

AgentClient::Received AgentClient::Read(std::chrono::milliseconds timeout) {
  return ReadAsync(timeout).get();
}

AgentClient::Received AgentClient::Handshake(const v1::Hello& hello) {
  const wire::FrameStatus sent = Send(HelloMessage(hello));
  if (!sent.ok()) return Received{sent, {}};
  return Read();
}

std::string EncodeFrame(const v1::AgentMessage& message) {
  std::string bytes;
  wire::AppendFrame(message, wire::kDefaultMaxFrameBytes, bytes);
  return bytes;
}

v1::AgentMessage HelloMessage(const v1::Hello& hello) {
  v1::AgentMessage message;
  *message.mutable_hello() = hello;
  return message;
}

}  // namespace atmhealth::testing
