#include "proto/tls_context.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509err.h>

#include <filesystem>
#include <fstream>

namespace atmhealth::wire {
namespace {

// Drains OpenSSL's error queue of this thread into one line.
std::string OpenSslErrors() {
  std::string out;
  while (const unsigned long code = ERR_get_error()) {
    const char* reason = ERR_reason_error_string(code);
    if (!out.empty()) out += "; ";
    out += reason != nullptr ? reason : fmt::format("OpenSSL error {:#x}", code);
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

Error FileError(std::string_view what, const std::string& path, const std::string& detail) {
  return Error(ErrorCode::kInvalidArgument, fmt::format("{} {}: {}", what, path, detail));
}

// A readable regular file, or an error that says why not, before OpenSSL
// gives its less direct account.
Status CheckReadable(std::string_view what, const std::string& path) {
  if (path.empty())
    return Error(ErrorCode::kInvalidArgument, fmt::format("{}: no file given", what));
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    std::error_code ec;
    const bool exists = std::filesystem::exists(path, ec);
    return FileError(what, path, exists ? "cannot be read (permissions?)" : "no such file");
  }
  return OkStatus();
}

// TLS 1.3 only; no session resumption, so that every connection is
// verified against the current CA and CRL, and no renegotiation.
void Harden(SSL_CTX* ctx) {
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
  // An idle session (an agent between heartbeats) gives OpenSSL's record
  // buffers back; with thousands of sessions that is most of their memory.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
}

Status LoadOwnCertificate(SSL_CTX* ctx, const TlsFiles& files) {
  ERR_clear_error();
  if (Status status = CheckReadable("certificate", files.certificate); !status)
    return status.error();
  if (Status status = CheckReadable("private key", files.private_key); !status)
    return status.error();
  if (SSL_CTX_use_certificate_chain_file(ctx, files.certificate.c_str()) != 1) {
    return FileError("certificate", files.certificate, "not a PEM certificate: " + OpenSslErrors());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, files.private_key.c_str(), SSL_FILETYPE_PEM) != 1) {
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
      ERR_clear_error();
      return FileError("private key", files.private_key,
                       "does not belong to the certificate " + files.certificate);
    }
    return FileError("private key", files.private_key,
                     "not an unencrypted PEM private key: " + OpenSslErrors());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return FileError(
        "private key", files.private_key,
        "does not belong to the certificate " + files.certificate + ": " + OpenSslErrors());
  }
  return OkStatus();
}

Status LoadCa(SSL_CTX* ctx, const TlsFiles& files) {
  if (Status status = CheckReadable("CA", files.ca); !status) return status.error();
  if (SSL_CTX_load_verify_file(ctx, files.ca.c_str()) != 1) {
    return FileError("CA", files.ca, "no PEM certificate in it: " + OpenSslErrors());
  }
  return OkStatus();
}

}  // namespace

Result<std::shared_ptr<asio::ssl::context>> MakeServerTlsContext(const TlsFiles& files) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();
  Harden(ctx);
  if (Status status = LoadOwnCertificate(ctx, files); !status) return status.error();
  if (Status status = LoadCa(ctx, files); !status) return status.error();
  // Tell clients which CA to pick a certificate for.
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.ca.c_str());
  if (names == nullptr) {
    return FileError("CA", files.ca, "no PEM certificate in it: " + OpenSslErrors());
  }
  SSL_CTX_set_client_CA_list(ctx, names);

  if (files.crls.empty()) {
    return Error(ErrorCode::kInvalidArgument,
                 "CRL: none given; revocation must be checked (docs/tls.md)");
  }
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  X509_LOOKUP* lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
  for (const std::string& crl : files.crls) {
    if (Status status = CheckReadable("CRL", crl); !status) return status.error();
    if (lookup == nullptr || X509_load_crl_file(lookup, crl.c_str(), X509_FILETYPE_PEM) <= 0) {
      return FileError("CRL", crl, "no PEM CRL in it: " + OpenSslErrors());
    }
  }
  // The leaf is checked against the CRL of its issuer.
  X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  return context;
}

Result<std::shared_ptr<asio::ssl::context>> MakeClientTlsContext(const TlsFiles& files) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX* ctx = context->native_handle();
  Harden(ctx);
  if (Status status = LoadOwnCertificate(ctx, files); !status) return status.error();
  if (Status status = LoadCa(ctx, files); !status) return status.error();
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  return context;
}

const char* HandshakeFailureName(HandshakeFailure failure) {
  switch (failure) {
    case HandshakeFailure::kNone:
      return "none";
    case HandshakeFailure::kNoCertificate:
      return "no_certificate";
    case HandshakeFailure::kUnknownCa:
      return "unknown_ca";
    case HandshakeFailure::kExpired:
      return "expired";
    case HandshakeFailure::kNotYetValid:
      return "not_yet_valid";
    case HandshakeFailure::kRevoked:
      return "revoked";
    case HandshakeFailure::kBadCertificate:
      return "bad_certificate";
    case HandshakeFailure::kProtocol:
      return "protocol";
    case HandshakeFailure::kTimeout:
      return "timeout";
    case HandshakeFailure::kClosed:
      return "closed";
  }
  return "unknown";
}

HandshakeFailure ClassifyHandshakeFailure(const SSL* ssl, const boost::system::error_code& ec) {
  if (!ec) return HandshakeFailure::kNone;
  const long verify = ssl != nullptr ? SSL_get_verify_result(ssl) : X509_V_OK;
  switch (verify) {
    case X509_V_OK:
      break;
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return HandshakeFailure::kExpired;
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return HandshakeFailure::kNotYetValid;
    case X509_V_ERR_CERT_REVOKED:
      return HandshakeFailure::kRevoked;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return HandshakeFailure::kUnknownCa;
    default:
      return HandshakeFailure::kBadCertificate;
  }
  if (ec.category() == asio::error::get_ssl_category()) {
    switch (ERR_GET_REASON(static_cast<unsigned long>(ec.value()))) {
      case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
        return HandshakeFailure::kNoCertificate;
      case SSL_R_CERTIFICATE_VERIFY_FAILED:
        return HandshakeFailure::kBadCertificate;
      default:
        return HandshakeFailure::kProtocol;
    }
  }
  if (ec == asio::ssl::error::stream_truncated || ec == asio::error::eof ||
      ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
      ec == asio::error::bad_descriptor) {
    return HandshakeFailure::kClosed;
  }
  return HandshakeFailure::kProtocol;
}

std::string DescribeHandshakeFailure(const SSL* ssl, const boost::system::error_code& ec) {
  const long verify = ssl != nullptr ? SSL_get_verify_result(ssl) : X509_V_OK;
  if (verify != X509_V_OK) return X509_verify_cert_error_string(verify);
  return ec.message();
}

std::string PeerIdentity(const SSL* ssl) {
  const X509* certificate = SSL_get0_peer_certificate(ssl);
  if (certificate == nullptr) return {};
  const X509_NAME* subject = X509_get_subject_name(certificate);
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0 || X509_NAME_get_index_by_NID(subject, NID_commonName, index) >= 0) return {};
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  unsigned char* utf8 = nullptr;
  const int length = ASN1_STRING_to_UTF8(&utf8, data);
  if (length < 0) return {};
  std::string identity(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
  OPENSSL_free(utf8);
  // Only printable ASCII: the identity is compared with a device id and
  // written into log lines.
  for (const char c : identity) {
    if (c < 0x20 || c > 0x7e) return {};
  }
  return identity;
}

}  // namespace atmhealth::wire
