// atmhealth-agent-swarm: load for a running atmhealth-collector. Opens N agent
// sessions at once on loopback, each speaking the real session protocol
// (proto/atmhealth/v1/session.proto) through FrameStream, as atmhealthd's
// uplink does:
//
//   connect ─▶ Hello ─▶ Welcome{last_stored_seq}
//     ─▶ batches of events after last_stored_seq, in order, at most --window
//        frames unacknowledged ─▶ one Ack per frame (the collector answers
//        the frames of a session in order, each after its store committed)
//     ─▶ then --heartbeats heartbeats the same way ─▶ idle for --linger ─▶ close
//
// and prints the events stored per second, the ack latency (from handing a
// frame to the socket to reading its Ack, so it includes the wait behind
// earlier frames of the window) and every error by kind.
//
// Without --pace-ms every agent sends as fast as its window allows: that
// measures what the collector can take. With --pace-ms P each agent sends
// one frame every P ms (the agents' starts spread over the first P ms), an
// offered load of agents x 1000 / P frames per second: that measures the ack
// latency a fleet of that size would see. --connect-spread-ms spreads the
// connects the way the agents' jittered reconnect backoff does; without it
// every agent connects at once, the worst case after a collector restart.
// A Refusal with a retry hint (an overloaded collector) is honoured like
// atmhealthd does: the agent connects again after hint x [1, 1.5] (or its
// backoff, if longer); the report counts the connection attempts. With
// --reconnect every agent reconnects as atmhealthd does, with its backoff
// (agent/uplink/backoff.h: 0.5 s doubling to 30 s, jittered, from the start
// again after a session that got an Ack) and its [uplink] defaults: a TCP
// connect or TLS handshake not done within connect_timeout (5 s), a Welcome
// or an Ack not come within io_timeout (15 s), a close or a refusal — each
// ends the session and the agent tries again, resending what was not
// acknowledged, until --duration-limit: what a fleet does after a collector
// restart.
//
// With --tls-ca and --tls-ca-key every agent speaks mutual TLS 1.3, as
// atmhealthd does: the swarm mints each device a certificate (CN = its device
// id) signed by that CA, in memory before the first connect, so the
// collector's identity check passes; the handshake time is reported apart.
//
// Bounded: agents, events and heartbeats are capped by flag checks, and
// --duration-limit stops the run (closing every session) even if the
// collector hangs. Only loopback addresses are accepted as targets. Every
// session runs on one thread, leaving the other cores to the collector.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "agent/uplink/backoff.h"
#include "atmhealth/v1/session.pb.h"
#include "platform/asio_ssl.h"
#include "platform/status.h"
#include "proto/frame_stream.h"
#include "tests/bench/bench_events.h"
#include "tests/bench/raw_ceiling.h"

namespace atmhealth::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kExitIncomplete = 1;  // some agent failed or did not finish
constexpr int kExitUsage = 2;

// The longest wait for one Welcome or Ack; --duration-limit usually ends the
// run first.
constexpr std::chrono::milliseconds kReplyTimeout{30'000};
// With --reconnect, as atmhealthd's [uplink] defaults: connect_timeout (TCP
// connect and TLS handshake), io_timeout (the wait for a Welcome or an Ack)
// and the reconnect backoff.
constexpr std::chrono::milliseconds kAgentConnectTimeout{5'000};
constexpr std::chrono::milliseconds kAgentIoTimeout{15'000};
constexpr std::chrono::milliseconds kAgentBackoffInitial{500};
constexpr std::chrono::milliseconds kAgentBackoffMax{30'000};

struct SwarmOptions {
  std::string collector;                   // HOST:PORT, loopback only
  int agents = 10;                         // concurrent sessions
  std::uint64_t events_per_agent = 1000;   // events each agent sends
  std::uint64_t heartbeats_per_agent = 0;  // heartbeats each agent sends after its events
  std::uint64_t batch = 16;                // events per EventBatch
  std::size_t window = 4;                  // frames sent before waiting for an Ack
  double duration_limit_s = 60;            // seconds until the run is stopped
  std::uint64_t pace_ms = 0;               // ms between an agent's frames; 0: no pacing
  std::uint64_t connect_spread_ms = 0;     // agents connect evenly over this many ms
  double linger_s = 0;                     // seconds each agent stays connected when done
  std::string device_prefix = "swarm";     // device ids are <prefix>-00001, ...
  std::string tls_ca;                      // CA certificate (PEM): TLS when set
  std::string tls_ca_key;                  // its private key, to mint device certificates
  std::string tls_server_name;             // name the collector's certificate must carry
  bool reconnect = false;                  // reconnect after any failure as atmhealthd does
  std::string raw_ceiling_dir;             // measure the raw ceiling there first; "": not
  std::uint64_t raw_ceiling_rows = 200'000;
  // rows per transaction of the raw ceiling: [store] max_group_events
  std::uint64_t raw_ceiling_commit = 10'000;
};

// Device certificates signed in memory by a CA: one key pair shared by all
// devices (a key per device would only add key generation to the setup), a
// certificate per device id.
class DeviceCertificateMint {
 public:
  static Result<std::unique_ptr<DeviceCertificateMint>> Open(const std::string& ca_file,
                                                             const std::string& ca_key_file) {
    std::unique_ptr<DeviceCertificateMint> mint(new DeviceCertificateMint);
    FILE* file = std::fopen(ca_file.c_str(), "r");
    if (file == nullptr) return Error(ErrorCode::kNotFound, "--tls-ca: cannot open " + ca_file);
    mint->ca_ = PEM_read_X509(file, nullptr, nullptr, nullptr);
    std::fclose(file);
    file = std::fopen(ca_key_file.c_str(), "r");
    if (file == nullptr) {
      return Error(ErrorCode::kNotFound, "--tls-ca-key: cannot open " + ca_key_file);
    }
    mint->ca_key_ = PEM_read_PrivateKey(file, nullptr, nullptr, nullptr);
    std::fclose(file);
    if (mint->ca_ == nullptr || mint->ca_key_ == nullptr) {
      return Error(ErrorCode::kInvalidArgument, "--tls-ca, --tls-ca-key: not a PEM CA and key");
    }
    mint->key_ = EVP_EC_gen("P-256");
    if (mint->key_ == nullptr) return Error(ErrorCode::kInternal, "cannot make an EC key");
    return mint;
  }
  ~DeviceCertificateMint() {
    X509_free(ca_);
    EVP_PKEY_free(ca_key_);
    EVP_PKEY_free(key_);
  }

  // A TLS client context presenting a fresh certificate for `device_id`.
  std::shared_ptr<asio::ssl::context> ContextFor(const std::string& device_id, long serial) {
    X509* certificate = X509_new();
    X509_set_version(certificate, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(certificate), serial);
    X509_NAME* name = X509_get_subject_name(certificate);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(device_id.c_str()), -1, -1,
                               0);
    X509_set_issuer_name(certificate, X509_get_subject_name(ca_));
    X509_gmtime_adj(X509_getm_notBefore(certificate), -3600);
    X509_gmtime_adj(X509_getm_notAfter(certificate), 86400);
    X509_set_pubkey(certificate, key_);
    X509_sign(certificate, ca_key_, EVP_sha256());
    auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    SSL_CTX* ctx = context->native_handle();
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_use_certificate(ctx, certificate);
    SSL_CTX_use_PrivateKey(ctx, key_);
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), ca_);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    X509_free(certificate);
    return context;
  }

 private:
  DeviceCertificateMint() = default;
  X509* ca_ = nullptr;
  EVP_PKEY* ca_key_ = nullptr;
  EVP_PKEY* key_ = nullptr;
};

double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// Ack latencies in buckets 1 % wide from 1 µs up to about 20 minutes: fixed
// memory whatever the number of frames, percentiles within 1 %.
class LatencyHistogram {
 public:
  void Record(Clock::duration latency) {
    const double micros = std::chrono::duration<double, std::micro>(latency).count();
    max_micros_ = std::max(max_micros_, micros);
    ++count_;
    std::size_t index = 0;
    if (micros > 1) index = static_cast<std::size_t>(std::log(micros) / std::log(kGrowth));
    ++buckets_[std::min(index, kBuckets - 1)];
  }

  // The upper edge of the bucket holding the p-th percentile, in ms.
  double PercentileMs(double p) const {
    if (count_ == 0) return 0;
    const auto rank = static_cast<std::uint64_t>(std::ceil(p / 100 * static_cast<double>(count_)));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      seen += buckets_[i];
      if (seen >= std::max<std::uint64_t>(rank, 1)) {
        return std::min(std::pow(kGrowth, static_cast<double>(i + 1)), max_micros_) / 1000;
      }
    }
    return max_micros_ / 1000;
  }
  double MaxMs() const { return max_micros_ / 1000; }
  std::uint64_t count() const { return count_; }

 private:
  static constexpr double kGrowth = 1.01;
  static constexpr std::size_t kBuckets = 2100;  // 1.01^2100 µs is about 20 minutes
  std::vector<std::uint64_t> buckets_ = std::vector<std::uint64_t>(kBuckets);
  std::uint64_t count_ = 0;
  double max_micros_ = 0;
};

// The whole run. Everything runs on the one io_context thread, so nothing
// here needs a lock.
class Swarm {
 public:
  Swarm(asio::io_context& io, const SwarmOptions& options, asio::ip::tcp::endpoint target)
      : io_(io), options_(options), target_(target), deadline_(io), signals_(io, SIGINT, SIGTERM) {}

  // TLS for every agent: a context per device, made before Run().
  void UseTls(DeviceCertificateMint& mint) {
    for (int i = 0; i < options_.agents; ++i) {
      tls_contexts_.push_back(mint.ContextFor(DeviceId(i), 0x5000'0000L + i));
    }
  }

  void Run() {
    cpu_at_start_ = ProcessCpuSeconds();
    start_ = Clock::now();
    running_agents_ = options_.agents;
    deadline_.expires_after(std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(options_.duration_limit_s)));
    deadline_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) Stop("stopped by --duration-limit before finishing");
    });
    signals_.async_wait([this](const boost::system::error_code& ec, int) {
      if (!ec) Stop("stopped by a signal before finishing");
    });
    for (int i = 0; i < options_.agents; ++i) {
      asio::co_spawn(io_, RunAgent(i), asio::detached);
    }
    io_.run();
  }

  // Prints the result; returns the exit code.
  int Report() const {
    const double seconds =
        latency_.count() == 0 ? 0.0 : std::chrono::duration<double>(last_ack_ - start_).count();
    auto per_second = [seconds](std::uint64_t count) {
      return seconds > 0 ? static_cast<double>(count) / seconds : 0.0;
    };
    std::uint64_t error_total = 0;
    for (const auto& [what, count] : errors_) error_total += count;
    std::printf(
        "atmhealth-agent-swarm: %d agents x %llu events (batch %llu, window %zu) + %llu "
        "heartbeats each, %s, against %s\n",
        options_.agents, static_cast<unsigned long long>(options_.events_per_agent),
        static_cast<unsigned long long>(options_.batch), options_.window,
        static_cast<unsigned long long>(options_.heartbeats_per_agent),
        options_.pace_ms == 0
            ? "unpaced"
            : ("one frame per agent every " + std::to_string(options_.pace_ms) + " ms").c_str(),
        options_.collector.c_str());
    std::printf("agents finished   %d of %d\n", finished_agents_, options_.agents);
    std::printf("elapsed           %.3f s (start to last Ack)\n", seconds);
    std::printf("events stored     %llu = %.0f events/s\n",
                static_cast<unsigned long long>(events_acked_), per_second(events_acked_));
    std::printf("batches acked     %llu = %.0f batches/s\n",
                static_cast<unsigned long long>(batches_acked_), per_second(batches_acked_));
    std::printf("heartbeats acked  %llu = %.0f heartbeats/s\n",
                static_cast<unsigned long long>(heartbeats_acked_), per_second(heartbeats_acked_));
    std::printf("ack latency       p50 %.2f ms  p99 %.2f ms  max %.2f ms  (%llu frames)\n",
                latency_.PercentileMs(50), latency_.PercentileMs(99), latency_.MaxMs(),
                static_cast<unsigned long long>(latency_.count()));
    std::printf(
        "handshake         p50 %.2f ms  p99 %.2f ms  max %.2f ms  (%llu sessions, "
        "connected to Welcome)\n",
        handshake_latency_.PercentileMs(50), handshake_latency_.PercentileMs(99),
        handshake_latency_.MaxMs(), static_cast<unsigned long long>(handshake_latency_.count()));
    if (!tls_contexts_.empty()) {
      std::printf(
          "TLS handshake     p50 %.2f ms  p99 %.2f ms  max %.2f ms  (%llu sessions, TCP "
          "connected to TLS established)\n",
          tls_latency_.PercentileMs(50), tls_latency_.PercentileMs(99), tls_latency_.MaxMs(),
          static_cast<unsigned long long>(tls_latency_.count()));
    }
    std::printf(
        "connections       %llu attempts, %llu refused with a retry hint, %llu failed to "
        "connect and retried; at most %llu by one agent\n",
        static_cast<unsigned long long>(connection_attempts_),
        static_cast<unsigned long long>(refusals_with_hint_),
        static_cast<unsigned long long>(connects_retried_),
        static_cast<unsigned long long>(most_attempts_));
    std::printf("all welcomed      %.3f s after the start (%llu Welcomes, %d agents)\n",
                std::chrono::duration<double>(last_welcome_ - start_).count(),
                static_cast<unsigned long long>(handshake_latency_.count()), welcomed_agents_);
    std::printf("all finished      %.3f s after the start\n",
                finished_agents_ == 0
                    ? 0.0
                    : std::chrono::duration<double>(last_finished_ - start_).count());
    for (const auto& [why, count] : sessions_retried_) {
      std::printf("  reconnected %llu x after: %s\n", static_cast<unsigned long long>(count),
                  why.c_str());
    }
    std::printf("swarm CPU         %.2f s (this process, user + system)\n",
                ProcessCpuSeconds() - cpu_at_start_);
    std::printf("errors            %llu\n", static_cast<unsigned long long>(error_total));
    for (const auto& [what, count] : errors_) {
      std::printf("  %llu x %s\n", static_cast<unsigned long long>(count), what.c_str());
    }
    return error_total == 0 && finished_agents_ == options_.agents ? 0 : kExitIncomplete;
  }

 private:
  // One frame sent and not yet acknowledged.
  struct InFlight {
    Clock::time_point sent;
    std::uint64_t events = 0;    // 0 for a heartbeat
    std::uint64_t last_seq = 0;  // highest sequence in the batch
  };

  // What an agent has left to send, across its sessions: a reconnect
  // resends what was not acknowledged.
  struct Progress {
    bool welcomed = false;         // a first Welcome set end_seq
    std::uint64_t end_seq = 0;     // one past the last event to send
    std::uint64_t heartbeats = 0;  // heartbeats not yet acknowledged
  };

  asio::awaitable<void> RunAgent(int index) {
    bool go = true;
    if (options_.connect_spread_ms > 0) {
      go = co_await WaitUntil(start_ + std::chrono::milliseconds(options_.connect_spread_ms) *
                                           index / options_.agents);
    }
    if (!go) ++errors_[stop_reason_];
    // Between attempts the agent waits as atmhealthd does: its backoff, and
    // never less than a Refusal's retry hint.
    std::uint64_t attempts = 0;
    agent::Backoff backoff(kAgentBackoffInitial, kAgentBackoffMax, random_());
    Progress progress;
    progress.heartbeats = options_.heartbeats_per_agent;
    while (go) {
      ++attempts;
      ++connection_attempts_;
      std::string failure;
      bool healthy = false;  // the session got an Ack
      std::uint32_t retry_after_ms = 0;
      std::shared_ptr<wire::FrameStream> stream = co_await Connect(index, failure);
      if (stream == nullptr) {
        if (failure.empty()) break;  // stopped; counted
        if (options_.reconnect && !stopping_) ++connects_retried_;
      } else {
        failure =
            co_await Converse(*stream, index, Clock::now(), progress, retry_after_ms, healthy);
        stream->Close();
        if (failure.empty()) {
          ++finished_agents_;
          last_finished_ = Clock::now();
          break;
        }
      }
      if (stopping_) {
        ++errors_[stop_reason_];
        break;
      }
      if (retry_after_ms > 0) ++refusals_with_hint_;
      if (!options_.reconnect && retry_after_ms == 0) {
        ++errors_[failure];
        break;
      }
      if (options_.reconnect && stream != nullptr && retry_after_ms == 0) {
        ++sessions_retried_[failure];
      }
      go = co_await WaitUntil(
          Clock::now() + backoff.AfterSession(healthy, std::chrono::milliseconds(retry_after_ms)));
      if (!go) ++errors_[stop_reason_];
    }
    most_attempts_ = std::max(most_attempts_, attempts);
    if (--running_agents_ == 0) {
      deadline_.cancel();
      signals_.cancel();
    }
  }

  // Connects to the target; nullptr when that fails, with `failure` saying
  // why (empty: the run is stopping, counted).
  asio::awaitable<std::shared_ptr<wire::FrameStream>> Connect(int index, std::string& failure) {
    asio::ip::tcp::socket socket(io_);
    connecting_.insert(&socket);  // Stop() closes it if the connect hangs
    boost::system::error_code ec;
    // With --reconnect the connect gives up after connect_timeout, as
    // atmhealthd's does. `done` tells a deadline handler that was already
    // queued when the connect ended to leave the socket alone.
    asio::steady_timer deadline(io_);
    auto done = std::make_shared<bool>(false);
    if (options_.reconnect) {
      deadline.expires_after(kAgentConnectTimeout);
      deadline.async_wait([&socket, done](const boost::system::error_code& expired) {
        if (expired || *done) return;
        boost::system::error_code ignored;
        socket.close(ignored);
      });
    }
    if (!stopping_) {
      co_await socket.async_connect(target_, asio::redirect_error(asio::use_awaitable, ec));
    }
    *done = true;
    deadline.cancel();
    connecting_.erase(&socket);
    if (stopping_) {
      ++errors_[stop_reason_];
      co_return nullptr;
    }
    if (ec) {
      failure = ec == asio::error::operation_aborted ? std::string("connect: timed out")
                                                     : "connect: " + ec.message();
      co_return nullptr;
    }
    const auto connected = Clock::now();
    auto stream = tls_contexts_.empty()
                      ? wire::FrameStream::Create(std::move(socket), wire::FrameStream::Limits{})
                      : wire::FrameStream::Create(std::move(socket), tls_contexts_[index],
                                                  wire::FrameStream::Limits{});
    streams_.push_back(stream);
    if (stream->is_tls()) {
      stream->ExpectPeerName(options_.tls_server_name.empty() ? target_.address().to_string()
                                                              : options_.tls_server_name);
      const wire::FrameStatus tls =
          co_await stream->Handshake(asio::ssl::stream_base::client,
                                     options_.reconnect ? kAgentConnectTimeout : kReplyTimeout);
      if (!tls.ok()) {
        failure = "TLS handshake: " + tls.detail;
        stream->Close();
        co_return nullptr;
      }
      tls_latency_.Record(Clock::now() - connected);
    }
    co_return stream;
  }

  // One session of an agent; "" when every frame was acknowledged, else
  // what went wrong. It sends what `progress` has left and takes off what
  // was acknowledged. A Refusal with a retry hint sets `retry_after_ms`; an
  // Ack sets `healthy`.
  asio::awaitable<std::string> Converse(wire::FrameStream& stream, int index,
                                        Clock::time_point connected, Progress& progress,
                                        std::uint32_t& retry_after_ms, bool& healthy) {
    v1::AgentMessage hello;
    v1::Hello& fields = *hello.mutable_hello();
    fields.mutable_device()->set_device_id(DeviceId(index));
    fields.mutable_device()->set_site_id("swarm-site");
    fields.mutable_device()->set_kind(v1::DEVICE_KIND_ATM);
    fields.set_protocol_version(v1::PROTOCOL_VERSION_1);
    fields.set_agent_version("agent-swarm");
    fields.set_welcome_timeout_ms(static_cast<std::uint32_t>(ReplyTimeout().count()));
    if (wire::FrameStatus sent = stream.Send(hello); !sent.ok()) {
      co_return "send Hello: " + std::string(wire::FrameFaultName(sent.fault));
    }
    v1::CollectorMessage reply;
    if (std::string failure = co_await ReadReply(stream, reply, "Welcome"); !failure.empty()) {
      if (reply.has_refusal()) retry_after_ms = reply.refusal().retry_after_ms();
      co_return failure;
    }
    if (!reply.has_welcome()) co_return "handshake: the reply is not a Welcome";
    last_welcome_ = Clock::now();
    handshake_latency_.Record(last_welcome_ - connected);

    std::uint64_t next_seq = reply.welcome().last_stored_seq() + 1;
    if (!progress.welcomed) {
      progress.welcomed = true;
      ++welcomed_agents_;
      progress.end_seq = next_seq + options_.events_per_agent;
    }
    const std::uint64_t end_seq = progress.end_seq;       // exclusive
    std::uint64_t heartbeats_left = progress.heartbeats;  // to send in this session
    v1::AgentMessage batch = testing::SampleBatch(next_seq, next_seq + options_.batch - 1);
    v1::AgentMessage heartbeat;
    *heartbeat.mutable_heartbeat() = testing::SampleHeartbeat();
    std::deque<InFlight> in_flight;
    const auto pace = std::chrono::milliseconds(options_.pace_ms);
    Clock::time_point next_send = Clock::now() + pace * index / options_.agents;
    for (;;) {
      while (in_flight.size() < options_.window && (next_seq < end_seq || heartbeats_left > 0)) {
        if (pace.count() > 0 && Clock::now() < next_send) {
          if (!in_flight.empty()) break;  // read the Acks meanwhile
          if (!co_await WaitUntil(next_send)) co_return stop_reason_;
        }
        InFlight frame;
        const v1::AgentMessage* message = &heartbeat;
        if (next_seq < end_seq) {
          const std::uint64_t count = std::min(options_.batch, end_seq - next_seq);
          auto& events = *batch.mutable_batch()->mutable_events();
          while (static_cast<std::uint64_t>(events.size()) > count) events.RemoveLast();
          for (std::uint64_t i = 0; i < count; ++i) {
            events[static_cast<int>(i)].set_seq(next_seq + i);
          }
          frame.events = count;
          frame.last_seq = next_seq + count - 1;
          next_seq += count;
          message = &batch;
        } else {
          --heartbeats_left;
        }
        frame.sent = Clock::now();
        next_send = frame.sent + pace;
        if (wire::FrameStatus sent = stream.Send(*message); !sent.ok()) {
          co_return "send: " + std::string(wire::FrameFaultName(sent.fault)) + ": " + sent.detail;
        }
        in_flight.push_back(frame);
      }
      if (in_flight.empty()) break;

      if (std::string failure = co_await ReadReply(stream, reply, "Ack"); !failure.empty()) {
        // A store that cannot take the frame now refuses it with a hint.
        if (reply.has_refusal()) retry_after_ms = reply.refusal().retry_after_ms();
        co_return failure;
      }
      if (!reply.has_ack()) co_return "the reply to a frame is not an Ack";
      const InFlight done = in_flight.front();
      in_flight.pop_front();
      if (done.events > 0 && reply.ack().seq() < done.last_seq) {
        co_return "an Ack below the batch it answers";
      }
      healthy = true;
      if (done.events == 0) --progress.heartbeats;
      last_ack_ = Clock::now();
      latency_.Record(last_ack_ - done.sent);
      if (done.events > 0) {
        ++batches_acked_;
        events_acked_ += done.events;
      } else {
        ++heartbeats_acked_;
      }
    }
    if (options_.linger_s > 0) {
      // Idle but connected, as an agent between heartbeats: the Read ends
      // at the linger deadline (closing the connection) or at Stop().
      const wire::FrameStatus idle =
          co_await stream.Read(reply, std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::duration<double>(options_.linger_s)));
      if (idle.ok()) co_return "a message from the collector while idle";
      if (idle.fault != wire::FrameFault::kTimeout) {
        co_return "while idle: " + std::string(wire::FrameFaultName(idle.fault));
      }
    }
    co_return "";
  }

  // Waits until `when`; false when Stop() ended the wait.
  asio::awaitable<bool> WaitUntil(Clock::time_point when) {
    asio::steady_timer timer(io_, when);
    waiting_.insert(&timer);  // Stop() cancels it
    boost::system::error_code ec;
    if (!stopping_) co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    waiting_.erase(&timer);
    co_return !stopping_;
  }

  // Reads one CollectorMessage; "" on success, else what went wrong (a
  // Refusal names its reason).
  asio::awaitable<std::string> ReadReply(wire::FrameStream& stream, v1::CollectorMessage& reply,
                                         std::string_view waiting_for) {
    reply.Clear();
    const wire::FrameStatus status = co_await stream.Read(reply, ReplyTimeout());
    if (!status.ok()) {
      co_return "waiting for " + std::string(waiting_for) + ": " +
          wire::FrameFaultName(status.fault);
    }
    if (reply.has_refusal()) {
      co_return "refused: " + v1::Refusal::Reason_Name(reply.refusal().reason());
    }
    co_return "";
  }

  // Ends the run: every session and pending connect is closed, and the
  // agents count it as `reason`.
  void Stop(const std::string& reason) {
    if (stopping_) return;
    stopping_ = true;
    stop_reason_ = reason;
    for (asio::ip::tcp::socket* socket : connecting_) {
      boost::system::error_code ignored;
      socket->close(ignored);
    }
    for (asio::steady_timer* timer : waiting_) timer->cancel();
    for (const auto& stream : streams_) stream->Close();
    signals_.cancel();
    deadline_.cancel();
  }

  // How long an agent waits for a Welcome or an Ack.
  std::chrono::milliseconds ReplyTimeout() const {
    return options_.reconnect ? kAgentIoTimeout : kReplyTimeout;
  }

  std::string DeviceId(int index) const {
    char number[16];
    std::snprintf(number, sizeof number, "%05d", index + 1);
    return options_.device_prefix + "-" + number;
  }

  asio::io_context& io_;
  const SwarmOptions options_;
  const asio::ip::tcp::endpoint target_;
  asio::steady_timer deadline_;
  asio::signal_set signals_;

  Clock::time_point start_;
  Clock::time_point last_ack_;
  int running_agents_ = 0;
  int finished_agents_ = 0;
  int welcomed_agents_ = 0;  // agents that got at least one Welcome
  Clock::time_point last_finished_;
  bool stopping_ = false;
  std::string stop_reason_;
  std::unordered_set<asio::ip::tcp::socket*> connecting_;
  std::unordered_set<asio::steady_timer*> waiting_;
  std::vector<std::shared_ptr<wire::FrameStream>> streams_;
  std::uint64_t events_acked_ = 0;
  std::uint64_t batches_acked_ = 0;
  std::uint64_t heartbeats_acked_ = 0;
  std::map<std::string, std::uint64_t> errors_;  // what went wrong → agents it happened to
  LatencyHistogram latency_;                     // frame sent to its Ack
  LatencyHistogram handshake_latency_;           // connected to Welcome (RecordHello included)
  LatencyHistogram tls_latency_;                 // TCP connected to TLS established
  std::vector<std::shared_ptr<asio::ssl::context>> tls_contexts_;  // per agent; empty: TCP
  Clock::time_point last_welcome_;
  double cpu_at_start_ = 0;
  std::uint64_t connection_attempts_ = 0;
  std::uint64_t refusals_with_hint_ = 0;  // Refusals that said when to come back
  std::uint64_t connects_retried_ = 0;    // failed connects tried again (--reconnect)
  // Sessions that ended without a retry hint and were tried again
  // (--reconnect), by what ended them.
  std::map<std::string, std::uint64_t> sessions_retried_;
  std::uint64_t most_attempts_ = 0;   // connection attempts of the unluckiest agent
  std::mt19937_64 random_{20260101};  // seeds of the agents' backoffs
};

// "127.0.0.1:7411" or "[::1]:7411", a loopback address only: the swarm is a
// load generator and must never be pointed at a machine of the bank.
Result<asio::ip::tcp::endpoint> LoopbackEndpoint(std::string_view text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == text.size()) {
    return Error(ErrorCode::kInvalidArgument,
                 "--collector: \"" + std::string(text) + "\" is not HOST:PORT");
  }
  std::string host(text.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string port_text(text.substr(colon + 1));
  if (port_text.find_first_not_of("0123456789") != std::string::npos || port_text.size() > 5 ||
      std::stoul(port_text) == 0 || std::stoul(port_text) > 65535) {
    return Error(ErrorCode::kInvalidArgument,
                 "--collector: port \"" + port_text + "\" is not 1..65535");
  }
  boost::system::error_code ec;
  const asio::ip::address address = asio::ip::make_address(host, ec);
  if (ec) {
    return Error(ErrorCode::kInvalidArgument,
                 "--collector: \"" + host +
                     "\" is not an IP address (names are not resolved); use 127.0.0.1 or [::1]");
  }
  if (!address.is_loopback()) {
    return Error(ErrorCode::kInvalidArgument,
                 "--collector: " + host +
                     " is not a loopback address; the swarm only targets 127.0.0.0/8 or ::1");
  }
  return asio::ip::tcp::endpoint(address, static_cast<std::uint16_t>(std::stoul(port_text)));
}

// Measures and prints the raw ceiling (raw_ceiling.h) in a fresh file of
// options.raw_ceiling_dir, with as many devices as agents; removes the file.
// False when it failed (printed).
bool PrintRawCeiling(const SwarmOptions& options) {
  const std::filesystem::path path =
      std::filesystem::path(options.raw_ceiling_dir) /
      ("raw-ceiling-" + std::to_string(std::random_device()()) + ".db");
  RawCeilingOptions raw;
  raw.path = path.string();
  raw.devices = options.agents;
  raw.rows = options.raw_ceiling_rows;
  raw.rows_per_commit = options.raw_ceiling_commit;
  raw.rows_per_device_run = options.batch;
  Result<RawCeiling> ceiling = MeasureRawCeiling(raw);
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::error_code ignored;
    std::filesystem::remove(path.string() + suffix, ignored);
  }
  if (!ceiling.ok()) {
    std::fprintf(stderr, "atmhealth-agent-swarm: raw ceiling: %s\n",
                 ceiling.error().message().c_str());
    return false;
  }
  std::printf(
      "raw ceiling       %llu rows in %.3f s = %.0f rows/s (%llu commits of %llu rows, %d "
      "devices, %llu rows of a device at a time, the collector's schema in %s)\n",
      static_cast<unsigned long long>(ceiling->rows), ceiling->seconds, ceiling->RowsPerSecond(),
      static_cast<unsigned long long>(ceiling->commits),
      static_cast<unsigned long long>(options.raw_ceiling_commit), options.agents,
      static_cast<unsigned long long>(options.batch), options.raw_ceiling_dir.c_str());
  std::fflush(stdout);
  return true;
}

}  // namespace
}  // namespace atmhealth::bench

int main(int argc, char** argv) {
  using atmhealth::bench::SwarmOptions;
  SwarmOptions options;
  CLI::App app{
      "atmhealth-agent-swarm: opens many agent sessions at once against a running "
      "atmhealth-collector on loopback, sends realistic event batches and heartbeats the way "
      "atmhealthd does, and prints events stored per second, ack latency (p50/p99/max) and "
      "errors. Stops by itself when every agent is done or at --duration-limit. Exit code 0 "
      "when every frame was acknowledged, 1 when not, 2 on bad flags.",
      "atmhealth-agent-swarm"};
  app.add_option("--collector", options.collector,
                 "the collector's agent listener, HOST:PORT; only loopback addresses "
                 "(127.0.0.0/8, [::1]) are accepted")
      ->type_name("HOST:PORT")
      ->required();
  app.add_option("--agents", options.agents,
                 "agent sessions open at once, each with its own device id (the collector "
                 "refuses sessions beyond its listen.max_sessions, 1000 by default)")
      ->type_name("N")
      ->check(CLI::Range(1, 10'000))
      ->capture_default_str();
  app.add_option("--events-per-agent", options.events_per_agent,
                 "events each agent sends, with sequences after the collector's "
                 "last_stored_seq for its device")
      ->type_name("N")
      ->check(CLI::Range(0, 10'000'000))
      ->capture_default_str();
  app.add_option("--heartbeats", options.heartbeats_per_agent,
                 "heartbeats each agent sends after its events, each answered by an Ack")
      ->type_name("N")
      ->check(CLI::Range(0, 1'000'000))
      ->capture_default_str();
  app.add_option("--batch", options.batch,
                 "events per EventBatch frame (atmhealthd's uplink.batch_events; the collector "
                 "accepts at most 1000)")
      ->type_name("N")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--window", options.window,
                 "frames an agent sends before it waits for the oldest one's Ack "
                 "(atmhealthd's uplink.window_batches)")
      ->type_name("N")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--duration-limit", options.duration_limit_s,
                 "seconds after which the run stops even if agents are not done; unfinished "
                 "agents are reported as errors")
      ->check(CLI::Range(1.0, 3600.0))
      ->type_name("SECONDS")
      ->capture_default_str();
  app.add_option("--pace-ms", options.pace_ms,
                 "milliseconds between two frames of one agent, the agents' starts spread over "
                 "the first interval: an offered load of agents x 1000 / N frames/s; 0 sends as "
                 "fast as the window allows")
      ->check(CLI::Range(0, 3'600'000))
      ->type_name("N")
      ->capture_default_str();
  app.add_option("--connect-spread-ms", options.connect_spread_ms,
                 "agent i connects i x N / agents ms after the start, as the agents' jittered "
                 "reconnect backoff spreads them; 0 connects every agent at once (the worst case "
                 "after a collector restart)")
      ->check(CLI::Range(0, 3'600'000))
      ->type_name("N")
      ->capture_default_str();
  app.add_option("--linger", options.linger_s,
                 "seconds each agent stays connected and idle after its last Ack, so that all "
                 "sessions are open at once (keep it below the collector's idle_timeout, 60 s by "
                 "default)")
      ->check(CLI::Range(0.0, 3600.0))
      ->type_name("SECONDS")
      ->capture_default_str();
  app.add_option("--device-prefix", options.device_prefix,
                 "device ids are PREFIX-00001, PREFIX-00002, ...; a rerun with the same prefix "
                 "continues each device's sequence")
      ->check([](const std::string& prefix) {
        return !prefix.empty() && prefix.size() <= 50 &&
                       prefix.find_first_not_of(
                           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
                           "vwxyz0123456789._-") == std::string::npos
                   ? std::string()
                   : std::string("1..50 characters of A-Z a-z 0-9 . _ -");
      })
      ->capture_default_str();
  app.add_option("--tls-ca", options.tls_ca,
                 "speak mutual TLS 1.3: the CA certificate (PEM) the collector's certificate "
                 "chains to and the collector's [tls] ca; needs --tls-ca-key")
      ->type_name("PEM");
  app.add_option("--tls-ca-key", options.tls_ca_key,
                 "the CA's private key (PEM), to sign each device a certificate whose CN is its "
                 "device id (as scripts/pki.sh init makes it: private/ca.key)")
      ->type_name("PEM");
  app.add_option("--tls-server-name", options.tls_server_name,
                 "the name the collector's certificate must carry; default: the --collector "
                 "address")
      ->type_name("NAME");
  app.add_flag("--reconnect", options.reconnect,
               "reconnect as atmhealthd does: a connect or TLS handshake not done within its "
               "connect_timeout (5 s), a Welcome or Ack not come within its io_timeout (15 s), "
               "a close or a refusal ends the session, and the agent tries again after "
               "atmhealthd's backoff (0.5 s doubling to 30 s, jittered; never before a retry "
               "hint), resending what was not acknowledged, until --duration-limit; without "
               "it, only a refusal with a retry hint is tried again");
  app.add_option("--raw-ceiling-dir", options.raw_ceiling_dir,
                 "before the agents start, measure the raw ceiling on this disk: "
                 "--raw-ceiling-rows rows shaped like the swarm's events inserted with one "
                 "prepared statement into a fresh database with the collector's schema (WAL, "
                 "synchronous=FULL), --batch rows of one device at a time, --raw-ceiling-commit "
                 "rows per transaction; pass the directory of the collector's database. The file "
                 "is removed afterwards")
      ->type_name("DIR")
      ->check(CLI::ExistingDirectory);
  app.add_option("--raw-ceiling-rows", options.raw_ceiling_rows, "rows the raw ceiling inserts")
      ->type_name("N")
      ->check(CLI::Range(1, 10'000'000))
      ->capture_default_str();
  app.add_option("--raw-ceiling-commit", options.raw_ceiling_commit,
                 "rows per transaction of the raw ceiling (the collector's [store] "
                 "max_group_events by default)")
      ->type_name("N")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (options.tls_ca.empty() != options.tls_ca_key.empty()) {
    std::fprintf(stderr, "atmhealth-agent-swarm: --tls-ca and --tls-ca-key go together\n");
    return atmhealth::bench::kExitUsage;
  }
  if (options.events_per_agent == 0 && options.heartbeats_per_agent == 0) {
    std::fprintf(stderr,
                 "atmhealth-agent-swarm: nothing to send: --events-per-agent and "
                 "--heartbeats are both 0\n");
    return atmhealth::bench::kExitUsage;
  }

  auto target = atmhealth::bench::LoopbackEndpoint(options.collector);
  if (!target.ok()) {
    std::fprintf(stderr, "atmhealth-agent-swarm: %s\n", target.error().message().c_str());
    return atmhealth::bench::kExitUsage;
  }
  spdlog::set_level(spdlog::level::warn);  // the raw ceiling's schema migration
  if (!options.raw_ceiling_dir.empty() && !atmhealth::bench::PrintRawCeiling(options)) {
    return atmhealth::bench::kExitIncomplete;
  }
  atmhealth::asio::io_context io(1);
  atmhealth::bench::Swarm swarm(io, options, *target);
  if (!options.tls_ca.empty()) {
    auto mint = atmhealth::bench::DeviceCertificateMint::Open(options.tls_ca, options.tls_ca_key);
    if (!mint.ok()) {
      std::fprintf(stderr, "atmhealth-agent-swarm: %s\n", mint.error().message().c_str());
      return atmhealth::bench::kExitUsage;
    }
    swarm.UseTls(**mint);
  }
  swarm.Run();
  return swarm.Report();
}
