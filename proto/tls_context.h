// TLS for the agent link: OpenSSL contexts through Asio, TLS 1.3 only, mutual
// authentication. docs/tls.md is the operator's side of this file.
//
// The identity of a device is the subject common name (CN) of its client
// certificate, which must equal DeviceIdentity.device_id in the Hello (1..64
// characters of [A-Za-z0-9._-]). The collector checks the whole chain up to
// its configured CA and the leaf against the CRL; the agent checks the
// collector's chain and that its certificate names the host the agent dialled
// (subjectAltName DNS or IP) or the configured server name.
#ifndef ATMHEALTH_PROTO_TLS_CONTEXT_H_
#define ATMHEALTH_PROTO_TLS_CONTEXT_H_

#include <memory>
#include <string>
#include <vector>

#include "platform/asio_ssl.h"
#include "platform/status.h"

namespace atmhealth::wire {

// PEM files, as configured. Paths are used as given.
struct TlsFiles {
  std::string certificate;        // this side's certificate (chain: leaf first)
  std::string private_key;        // its private key, unencrypted
  std::string ca;                 // CA certificate(s) that the peer's chain must end in
  std::vector<std::string> crls;  // CRLs of that CA (collector only; may be empty for agents)
};

// The collector's side: demands a client certificate chained to `files.ca`
// and checks it against every CRL in `files.crls` (at least one). An error
// names the file and what OpenSSL said about it.
Result<std::shared_ptr<asio::ssl::context>> MakeServerTlsContext(const TlsFiles& files);

// The agent's side: presents its certificate and verifies the collector's
// chain against `files.ca`. The host name is checked per connection
// (FrameStream::ExpectPeerName).
Result<std::shared_ptr<asio::ssl::context>> MakeClientTlsContext(const TlsFiles& files);

// Why a TLS handshake failed, as the collector counts it: the label values
// of atmhealth_collector_tls_handshake_failures_total{reason=...}.
enum class HandshakeFailure {
  kNone,
  kNoCertificate,   // the client sent no certificate
  kUnknownCa,       // the chain does not end in the configured CA
  kExpired,         // a certificate of the chain is past its notAfter
  kNotYetValid,     // ... or before its notBefore
  kRevoked,         // the leaf is on the CRL
  kBadCertificate,  // any other verification failure (bad signature, wrong purpose, no CRL)
  kProtocol,        // not TLS 1.3, or not TLS at all
  kTimeout,         // no complete handshake within the time limit
  kClosed,          // the peer went away during the handshake
};

const char* HandshakeFailureName(HandshakeFailure failure);  // "no_certificate", "unknown_ca", ...

// Classifies a failed handshake from the stream's verify result and the
// error Asio returned.
HandshakeFailure ClassifyHandshakeFailure(const SSL* ssl, const boost::system::error_code& ec);

// One line for the log: the verify error ("certificate has expired") when
// verification failed, else the TLS error.
std::string DescribeHandshakeFailure(const SSL* ssl, const boost::system::error_code& ec);

// The identity a verified peer certificate carries: its subject CN. Empty
// when there is no certificate, no CN or more than one CN.
std::string PeerIdentity(const SSL* ssl);

}  // namespace atmhealth::wire

#endif  // ATMHEALTH_PROTO_TLS_CONTEXT_H_
