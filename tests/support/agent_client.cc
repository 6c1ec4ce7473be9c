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

v1::Hello TestHello(const std::string& device_id, const std::string& site_id) {
  v1::Hello hello;
  hello.mutable_device()->set_device_id(device_id);
  hello.mutable_device()->set_site_id(site_id);
  hello.mutable_device()->set_kind(v1::DEVICE_KIND_ATM);
  hello.set_protocol_version(v1::PROTOCOL_VERSION_1);
  hello.set_agent_version("0.1.0-test");
  return hello;
}

v1::AgentMessage HelloMessage(const v1::Hello& hello) {
  v1::AgentMessage message;
  *message.mutable_hello() = hello;
  return message;
}

v1::Event TestEvent(std::uint64_t seq) {
  v1::Event event;
  event.set_seq(seq);
  event.set_wall_time_unix_ns(1'700'000'000'000'000'000 + static_cast<std::int64_t>(seq));
  event.set_monotonic_ns(5'000'000'000 + static_cast<std::int64_t>(seq));
  event.set_boot_id("test-boot");
  event.set_severity(v1::SEVERITY_WARNING);
  event.set_kind(v1::ALERT_KIND_STORAGE);
  event.set_state(v1::ALERT_STATE_FIRING);
  event.set_subject("/var/spool/ej");
  event.set_alert_key("storage:/var/spool/ej");
  event.set_value(91.5);
  event.set_threshold(90);
  event.set_unit(v1::UNIT_PERCENT);
  event.set_category(v1::FAILURE_CATEGORY_DAILY_OPERATION_STORAGE);
  event.mutable_impact()->add_degraded(v1::CUSTOMER_SERVICE_WITHDRAWAL);
  event.set_summary("/var/spool/ej is 91.5% full (warning at 90%)");
  auto* entry = event.add_context();
  entry->set_key("statvfs.f_bavail");
  entry->set_value("1024");
  return event;
}

v1::AgentMessage TestBatch(std::uint64_t first_seq, std::uint64_t last_seq) {
  v1::AgentMessage message;
  for (std::uint64_t seq = first_seq; seq <= last_seq; ++seq) {
    *message.mutable_batch()->add_events() = TestEvent(seq);
  }
  return message;
}

v1::AgentMessage TestHeartbeat() {
  v1::AgentMessage message;
  v1::Heartbeat& heartbeat = *message.mutable_heartbeat();
  for (const auto service : {v1::CUSTOMER_SERVICE_WITHDRAWAL, v1::CUSTOMER_SERVICE_DEPOSIT}) {
    v1::ServiceStatus& status = *heartbeat.add_services();
    status.set_service(service);
    status.set_state(v1::SERVICE_STATE_IN_SERVICE);
  }
  heartbeat.mutable_health()->set_backlog_events(0);
  heartbeat.set_interval_ms(15000);
  return message;
}

}  // namespace atmhealth::testing
