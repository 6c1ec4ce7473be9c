// The collector's TLS context for agent sessions, reloaded when its files
// change: the certificate, key, CA and CRL files are checked every
// reload_interval (and on SIGHUP); when one changed, a new context is built
// and used for sessions accepted from then on. Sessions already open keep the
// context they started with, so rotating a certificate or publishing a CRL
// drops nobody. A set of files that does not load (a key copied before its
// certificate, a truncated CRL) is logged and counted, and the previous
// context stays in use until the files are fixed.
#ifndef ATMHEALTH_COLLECTOR_INGEST_TLS_CREDENTIALS_H_
#define ATMHEALTH_COLLECTOR_INGEST_TLS_CREDENTIALS_H_

#include <filesystem>
#include <memory>
#include <mutex>
#include <vector>

#include "collector/ingest/ingest_metrics.h"
#include "platform/asio_ssl.h"
#include "platform/status.h"
#include "proto/tls_context.h"

namespace atmhealth::collector {

class TlsCredentials {
 public:
  // Loads the files now; an error names the file. `metrics` must outlive
  // this.
  static Result<std::unique_ptr<TlsCredentials>> Load(wire::TlsFiles files, IngestMetrics& metrics);

  // The context for a new session. Thread-safe.
  std::shared_ptr<asio::ssl::context> Current() const;

  // Loads the files again if any changed (modification time or size) since
  // the last attempt, or always when `force`. Returns whether a new context
  // is in use. Thread-safe.
  bool Reload(bool force);

 private:
  struct Stamp {
    std::filesystem::file_time_type modified{};
    std::uintmax_t size = 0;
    bool exists = false;
    bool operator==(const Stamp&) const = default;
  };
  TlsCredentials(wire::TlsFiles files, IngestMetrics& metrics);
  std::vector<Stamp> StampFiles() const;

  const wire::TlsFiles files_;
  IngestMetrics& metrics_;
  mutable std::mutex mutex_;
  std::shared_ptr<asio::ssl::context> current_;  // guarded by mutex_
  std::vector<Stamp> stamps_;                    // guarded by mutex_: at the last attempt
};

}  // namespace atmhealth::collector

#endif  // ATMHEALTH_COLLECTOR_INGEST_TLS_CREDENTIALS_H_
