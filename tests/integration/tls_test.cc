// Mutual TLS between the real agent and the real collector on loopback, with
// certificates made at test time by scripts/pki.sh (the openssl command):
// who gets in, who is refused, and what is counted; files rotated on disk
// are picked up without a restart and without dropping open sessions.
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "platform/asio_ssl.h"
#include "tests/integration/harness.h"
#include "tests/support/sqlite_reader.h"
#include "tests/support/test_paths.h"
#include "tests/support/test_pki.h"
#include "tests/support/tmpfs.h"

namespace atmhealth::testing {
namespace {

using std::chrono::seconds;
constexpr std::size_t kFsBytes = 4 * 1024 * 1024;
constexpr std::size_t kFillBytes = kFsBytes * 95 / 100;  // past critical (90 %)
constexpr const char* kGood = "atm-tls-01";

// The [uplink] lines of an agent that presents `issued` and trusts `ca`.
std::string TlsTransport(const std::filesystem::path& ca, const TestPki::Issued& issued,
                         const std::string& server_name = "") {
  std::ostringstream toml;
  toml << "ca = \"" << ca.string() << "\"\n"
       << "certificate = \"" << issued.certificate.string() << "\"\n"
       << "private_key = \"" << issued.key.string() << "\"\n";
  if (!server_name.empty()) toml << "server_name = \"" << server_name << "\"\n";
  return toml.str();
}

std::string CollectorTls(const TestPki::Issued& issued, const std::filesystem::path& ca,
                         const std::vector<std::filesystem::path>& crls,
                         const std::string& reload_interval = "200ms") {
  std::ostringstream toml;
  toml << "[tls]\n"
       << "certificate = \"" << issued.certificate.string() << "\"\n"
       << "private_key = \"" << issued.key.string() << "\"\n"
       << "ca = \"" << ca.string() << "\"\n"
       << "crl = [";
  for (std::size_t i = 0; i < crls.size(); ++i) {
    toml << (i == 0 ? "" : ", ") << "\"" << crls[i].string() << "\"";
  }
  toml << "]\nreload_interval = \"" << reload_interval << "\"\n";
  return toml.str();
}

// A bare TLS 1.3 client that trusts `ca` and presents no certificate. Returns
// the serial number (hex) of the certificate the collector served, and
// whether the collector then closed the connection without a frame.
struct BareClientResult {
  std::string served_serial;
  bool closed_by_collector = false;
};

BareClientResult ConnectWithoutCertificate(std::uint16_t port, const std::filesystem::path& ca) {
  BareClientResult result;
  asio::io_context io;
  asio::ssl::context context(asio::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_3_VERSION);
  context.load_verify_file(ca.string());
  context.set_verify_mode(asio::ssl::verify_peer);
  asio::ssl::stream<asio::ip::tcp::socket> stream(io, context);
  stream.next_layer().connect({asio::ip::make_address("127.0.0.1"), port});
  boost::system::error_code ec;
  stream.handshake(asio::ssl::stream_base::client, ec);
  if (ec) return result;
  const X509* served = SSL_get0_peer_certificate(stream.native_handle());
  if (served != nullptr) {
    BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(served), nullptr);
    char* hex = BN_bn2hex(serial);
    result.served_serial = hex;
    OPENSSL_free(hex);
    BN_free(serial);
  }
  // TLS 1.3: the client finishes first; the collector's verdict on the
  // (missing) client certificate arrives as an alert on the first read.
  char byte = 0;
  stream.read_some(asio::buffer(&byte, 1), ec);
  result.closed_by_collector = static_cast<bool>(ec);
  return result;
}

// The served certificate's serial, with a client certificate the collector
// accepts or not: only the server's half of the handshake matters.
std::string ServedSerial(std::uint16_t port, const std::filesystem::path& ca) {
  return ConnectWithoutCertificate(port, ca).served_serial;
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = std::make_unique<TestPki>(scratch_ / "pki");
    collector_cert_ = pki_->Collector("collector", {"127.0.0.1", "localhost"});
  }

  void TearDown() override {
    if (HasFailure()) PrintLogs(scratch_.path());
  }

  AgentOptions Agent(std::uint16_t port, const std::string& device, const std::string& transport,
                     const std::filesystem::path& watched) {
    AgentOptions options;
    options.device_id = device;
    options.collector_port = port;
    options.watched = watched;
    options.store = scratch_ / (device + ".events.db");
    options.transport = transport;
    return options;
  }

  bool Connected(const std::filesystem::path& db, const std::string& device) {
    return QueryInt(db, "SELECT count(*) FROM heartbeats WHERE device_id = '" + device + "'") == 1;
  }
  std::int64_t LastHeartbeat(const std::filesystem::path& db, const std::string& device) {
    return QueryInt(db,
                    "SELECT coalesce(max(received_unix_ns), 0) FROM heartbeats WHERE "
                    "device_id = '" +
                        device + "'");
  }
  bool HeartbeatsGoOn(const std::filesystem::path& db, const std::string& device) {
    const std::int64_t before = LastHeartbeat(db, device);
    return WaitFor([&] { return LastHeartbeat(db, device) > before; }, seconds(10));
  }

  ScratchDir scratch_;
  std::unique_ptr<TestPki> pki_;
  TestPki::Issued collector_cert_;
};

std::size_t Count(const std::string& text, const std::string& what) {
  std::size_t count = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
  return count;
}

TEST_F(TlsTest, GoodAgentStreamsAlertWhileEveryBadClientIsRefusedLoggedAndCounted) {
  TmpfsMount fs(scratch_ / "fs", "size=" + std::to_string(kFsBytes));
  ASSERT_TRUE(fs.mounted());
  TestPki other(scratch_ / "other-pki", "some other CA");
  const auto good = pki_->Device(kGood);
  const auto impostor = pki_->Device("atm-tls-02");  // valid, but another device's
  const auto expired = pki_->Device("atm-expired", "20200101000000Z", "20210101000000Z");
  const auto revoked = pki_->Device("atm-revoked");
  pki_->Revoke("atm-revoked");
  const auto foreign = other.Device("atm-foreign");

  const auto db = scratch_ / "collector" / "collector.db";
  CollectorProcess collector(scratch_ / "collector", db, 0,
                             CollectorTls(collector_cert_, pki_->ca(), {pki_->crl()}));
  ASSERT_NE(collector.agent_port(), 0);
  const std::uint16_t port = collector.agent_port();
  AgentProcess agent(scratch_ / "good",
                     Agent(port, kGood, TlsTransport(pki_->ca(), good), fs.path()));
  ASSERT_TRUE(WaitFor([&] { return Connected(db, kGood); }, seconds(20)));

  // No client certificate at all.
  const BareClientResult bare = ConnectWithoutCertificate(port, pki_->ca());
  EXPECT_FALSE(bare.served_serial.empty());
  EXPECT_TRUE(bare.closed_by_collector);
  // Real agents with a certificate from another CA, an expired one, a
  // revoked one, and a valid certificate of atm-tls-02 claiming to be the
  // good device.
  AgentProcess from_other_ca(
      scratch_ / "foreign",
      Agent(port, "atm-foreign", TlsTransport(pki_->ca(), foreign), fs.path()));
  AgentProcess with_expired(
      scratch_ / "expired",
      Agent(port, "atm-expired", TlsTransport(pki_->ca(), expired), fs.path()));
  AgentProcess with_revoked(
      scratch_ / "revoked",
      Agent(port, "atm-revoked", TlsTransport(pki_->ca(), revoked), fs.path()));
  auto forged = Agent(port, kGood, TlsTransport(pki_->ca(), impostor), fs.path());
  forged.store = scratch_ / "impostor.events.db";
  AgentProcess impostor_agent(scratch_ / "impostor", forged);

  const auto metric = [&](const std::string& name, const std::string& reason) {
    return collector.Metric("atmhealth_collector_" + name + "{reason=\"" + reason + "\"}");
  };
  EXPECT_TRUE(WaitFor(
      [&] {
        return metric("tls_handshake_failures_total", "no_certificate") >= 1 &&
               metric("tls_handshake_failures_total", "unknown_ca") >= 1 &&
               metric("tls_handshake_failures_total", "expired") >= 1 &&
               metric("tls_handshake_failures_total", "revoked") >= 1 &&
               metric("sessions_refused_total", "identity_mismatch") >= 1;
      },
      seconds(20)))
      << collector.HttpGet("/metrics");

  const std::string log = ReadFile(scratch_ / "collector" / "collector.log");
  EXPECT_GE(Count(log, "TLS handshake failed (no_certificate)"), 1u);
  EXPECT_GE(Count(log, "TLS handshake failed (unknown_ca)"), 1u);
  EXPECT_GE(Count(log, "TLS handshake failed (expired)"), 1u);
  EXPECT_GE(Count(log, "TLS handshake failed (revoked)"), 1u);
  EXPECT_GE(Count(log,
                  "refused (REASON_IDENTITY_MISMATCH): hello.device.device_id \"atm-tls-01\" "
                  "is not the identity of the client certificate (\"atm-tls-02\")"),
            1u);
  EXPECT_TRUE(WaitFor(
      [&] {
        return Count(ReadFile(scratch_ / "impostor" / "agent.log"), "REASON_IDENTITY_MISMATCH") >=
               1;
      },
      seconds(10)));

  // None of them got in: nothing stored under their names, and the forged
  // Hello never displaced the good device's session.
  for (const char* device : {"atm-foreign", "atm-expired", "atm-revoked", "atm-tls-02"}) {
    EXPECT_EQ(QueryInt(db, std::string("SELECT count(*) FROM heartbeats WHERE device_id = '") +
                               device + "'"),
              0)
        << device;
  }
  EXPECT_EQ(collector.Metric("atmhealth_collector_sessions_replaced_total"), 0);
  EXPECT_EQ(Count(ReadFile(scratch_ / "good" / "agent.log"), "uplink: connected to collector"), 1u);

  // The good agent streams on: heartbeats, and its alert arrives.
  EXPECT_TRUE(HeartbeatsGoOn(db, kGood));
  FillFile(fs.path() / "ballast", kFillBytes);
  EXPECT_TRUE(WaitFor(
      [&] {
        return !CollectorEvents(db, kGood,
                                "kind = 'storage' AND state = 'firing' AND "
                                "severity = 'critical'")
                    .empty();
      },
      seconds(10)));
  EXPECT_EQ(agent.process().Stop(), 0);
  EXPECT_EQ(collector.process().Stop(), 0);
}

// At most listen.max_handshakes TLS handshakes run at once; the next
// connection waits in the accept backlog until one ends, a connection whose
// client gave up meanwhile is closed without a handshake, and every failed
// handshake is counted by reason and logged.
TEST_F(TlsTest, HandshakesBeyondMaxHandshakesWaitInTheBacklogAndFailuresAreCounted) {
  const auto db = scratch_ / "collector" / "collector.db";
  CollectorProcess collector(scratch_ / "collector", db, 0,
                             "[listen]\nmax_handshakes = 2\nhello_timeout = \"60s\"\n" +
                                 CollectorTls(collector_cert_, pki_->ca(), {pki_->crl()}));
  ASSERT_NE(collector.agent_port(), 0);
  const asio::ip::tcp::endpoint target(asio::ip::make_address("127.0.0.1"), collector.agent_port());
  const auto metric = [&](const std::string& name, const std::string& labels = "") {
    return collector.Metric("atmhealth_collector_" + name + labels);
  };
  const auto failures = [&](const std::string& reason) {
    return metric("tls_handshake_failures_total", "{reason=\"" + reason + "\"}");
  };

  // Two clients that connect and say nothing hold both handshake slots (up
  // to hello_timeout); three more are connected by the kernel and wait.
  asio::io_context io;
  std::vector<asio::ip::tcp::socket> holding;
  std::vector<asio::ip::tcp::socket> waiting;
  for (int i = 0; i < 2; ++i) holding.emplace_back(io).connect(target);
  ASSERT_TRUE(WaitFor([&] { return metric("tls_handshakes_in_progress") == 2; }, seconds(10)));
  for (int i = 0; i < 3; ++i) waiting.emplace_back(io).connect(target);

  // A TLS client behind them is not served while the slots are taken.
  std::atomic<bool> served{false};
  BareClientResult bare;
  std::thread client([&] {
    bare = ConnectWithoutCertificate(collector.agent_port(), pki_->ca());
    served = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_FALSE(served.load());
  EXPECT_EQ(metric("tls_handshakes_in_progress"), 2);

  // The waiting clients give up; then the two in a handshake go away. Their
  // handshakes fail (counted as closed), the three that gave up are closed
  // without one (abandoned), and the TLS client gets its handshake, which
  // fails for want of a client certificate.
  for (auto& socket : waiting) socket.close();
  for (auto& socket : holding) socket.close();
  client.join();
  EXPECT_TRUE(served.load());
  EXPECT_FALSE(bare.served_serial.empty());
  EXPECT_TRUE(bare.closed_by_collector);
  EXPECT_TRUE(WaitFor(
      [&] {
        return failures("closed") == 2 && failures("abandoned") == 3 &&
               failures("no_certificate") == 1 && metric("tls_handshakes_in_progress") == 0;
      },
      seconds(10)))
      << collector.HttpGet("/metrics");
  const std::string log = ReadFile(scratch_ / "collector" / "collector.log");
  EXPECT_GE(Count(log, "TLS handshake failed (closed)"), 1u);
  EXPECT_GE(Count(log, "TLS handshake failed (no_certificate)"), 1u);
  EXPECT_GE(Count(log, "closed without a TLS handshake (abandoned)"), 1u);
  EXPECT_EQ(collector.process().Stop(), 0);
}

TEST_F(TlsTest, AgentRefusesCollectorWhoseCertificateDoesNotNameTheHostItDialled) {
  const auto device = pki_->Device(kGood);
  const auto db = scratch_ / "collector" / "collector.db";
  CollectorProcess collector(scratch_ / "collector", db, 0,
                             CollectorTls(collector_cert_, pki_->ca(), {pki_->crl()}));
  AgentProcess agent(
      scratch_ / "agent",
      Agent(collector.agent_port(), kGood,
            TlsTransport(pki_->ca(), device, "collector.elsewhere.example"), scratch_.path()));
  EXPECT_TRUE(WaitFor(
      [&] {
        return Count(ReadFile(scratch_ / "agent" / "agent.log"), "TLS handshake with collector") >=
               1;
      },
      seconds(10)));
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM heartbeats"), 0);
  EXPECT_EQ(agent.process().Stop(), 0);
}

TEST_F(TlsTest, PlaintextAgentIsNotServedByTlsCollector) {
  const auto db = scratch_ / "collector" / "collector.db";
  CollectorProcess collector(scratch_ / "collector", db, 0,
                             CollectorTls(collector_cert_, pki_->ca(), {pki_->crl()}));
  AgentProcess agent(scratch_ / "agent",
                     Agent(collector.agent_port(), kGood, "plaintext = true\n", scratch_.path()));
  EXPECT_TRUE(WaitFor(
      [&] {
        return collector.Metric(
                   "atmhealth_collector_tls_handshake_failures_total{reason=\"protocol\"}") >= 1;
      },
      seconds(10)));
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM heartbeats"), 0);
  EXPECT_GE(Count(ReadFile(scratch_ / "agent" / "agent.log"), "PLAINTEXT"), 1u);
  EXPECT_EQ(agent.process().Stop(), 0);
}

TEST_F(TlsTest, RotatedCertificateCaAndCrlArePickedUpWithoutRestartAndOpenSessionsCarryOn) {
  TestPki second(scratch_ / "second-pki", "second CA");
  const auto good = pki_->Device(kGood);
  const auto later_revoked = pki_->Device("atm-later-revoked");
  const auto from_second = second.Device("atm-second");
  // The collector trusts a bundle file that the operator edits in place.
  const auto trust = scratch_ / "trust.pem";
  std::filesystem::copy_file(pki_->ca(), trust);

  const auto db = scratch_ / "collector" / "collector.db";
  CollectorProcess collector(scratch_ / "collector", db, 0,
                             CollectorTls(collector_cert_, trust, {pki_->crl(), second.crl()}));
  const std::uint16_t port = collector.agent_port();
  ASSERT_NE(port, 0);
  AgentProcess agent(scratch_ / "good",
                     Agent(port, kGood, TlsTransport(pki_->ca(), good), scratch_.path()));
  ASSERT_TRUE(WaitFor([&] { return Connected(db, kGood); }, seconds(20)));
  AgentProcess second_agent(
      scratch_ / "second",
      Agent(port, "atm-second", TlsTransport(pki_->ca(), from_second), scratch_.path()));
  ASSERT_TRUE(WaitFor(
      [&] {
        return collector.Metric(
                   "atmhealth_collector_tls_handshake_failures_total{reason=\"unknown_ca\"}") >= 1;
      },
      seconds(10)));
  const std::string serial_before = ServedSerial(port, pki_->ca());
  ASSERT_FALSE(serial_before.empty());

  // Rotate: atm-later-revoked revoked, a new collector certificate and the
  // second CA trusted as well, all on disk while the collector runs. The CRL
  // is written first, so the reload that serves the new certificate has it.
  pki_->Revoke("atm-later-revoked");
  pki_->Collector("collector", {"127.0.0.1", "localhost"});
  {
    std::ofstream bundle(trust.string() + ".new", std::ios::binary);
    bundle << ReadFile(pki_->ca()) << ReadFile(second.ca());
  }
  std::filesystem::rename(trust.string() + ".new", trust);

  EXPECT_TRUE(
      WaitFor([&] { return ServedSerial(port, pki_->ca()) != serial_before; }, seconds(10)));
  EXPECT_TRUE(WaitFor([&] { return Connected(db, "atm-second"); }, seconds(20)));
  EXPECT_GE(collector.Metric("atmhealth_collector_tls_reloads_total{result=\"loaded\"}"), 1);
  AgentProcess revoked_agent(
      scratch_ / "revoked",
      Agent(port, "atm-later-revoked", TlsTransport(pki_->ca(), later_revoked), scratch_.path()));
  EXPECT_TRUE(WaitFor(
      [&] {
        return collector.Metric(
                   "atmhealth_collector_tls_handshake_failures_total{reason=\"revoked\"}") >= 1;
      },
      seconds(10)));
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM heartbeats WHERE device_id = 'atm-later-revoked'"),
            0);

  // The good agent's session, opened before the rotation, was never dropped.
  EXPECT_TRUE(HeartbeatsGoOn(db, kGood));
  EXPECT_EQ(Count(ReadFile(scratch_ / "good" / "agent.log"), "uplink: connected to collector"), 1u);
  EXPECT_EQ(collector.process().Stop(), 0);
}

TEST_F(TlsTest, SighupLoadsRotatedCertificateAtOnce) {
  const auto db = scratch_ / "collector" / "collector.db";
  // A day between checks: only the signal can explain a new certificate.
  CollectorProcess collector(scratch_ / "collector", db, 0,
                             CollectorTls(collector_cert_, pki_->ca(), {pki_->crl()}, "24h"));
  const std::uint16_t port = collector.agent_port();
  ASSERT_NE(port, 0);
  const std::string serial_before = ServedSerial(port, pki_->ca());
  ASSERT_FALSE(serial_before.empty());
  pki_->Collector("collector", {"127.0.0.1", "localhost"});
  EXPECT_EQ(ServedSerial(port, pki_->ca()), serial_before);
  collector.process().Signal(SIGHUP);
  EXPECT_TRUE(
      WaitFor([&] { return ServedSerial(port, pki_->ca()) != serial_before; }, seconds(10)));
  EXPECT_TRUE(collector.process().running());
  EXPECT_EQ(collector.process().Stop(), 0);
}

}  // namespace
}  // namespace atmhealth::testing
