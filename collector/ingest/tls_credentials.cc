#include "collector/ingest/tls_credentials.h"

#include <spdlog/spdlog.h>

#include <system_error>

namespace atmhealth::collector {

Result<std::unique_ptr<TlsCredentials>> TlsCredentials::Load(wire::TlsFiles files,
                                                             IngestMetrics& metrics) {
  std::unique_ptr<TlsCredentials> credentials(new TlsCredentials(std::move(files), metrics));
  credentials->stamps_ = credentials->StampFiles();
  auto context = wire::MakeServerTlsContext(credentials->files_);
  if (!context) return context.error();
  credentials->current_ = std::move(*context);
  return credentials;
}

TlsCredentials::TlsCredentials(wire::TlsFiles files, IngestMetrics& metrics)
    : files_(std::move(files)), metrics_(metrics) {}

std::shared_ptr<asio::ssl::context> TlsCredentials::Current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

std::vector<TlsCredentials::Stamp> TlsCredentials::StampFiles() const {
  std::vector<std::string> paths = {files_.certificate, files_.private_key, files_.ca};
  paths.insert(paths.end(), files_.crls.begin(), files_.crls.end());
  std::vector<Stamp> stamps;
  for (const std::string& path : paths) {
    Stamp stamp;
    std::error_code ec;
    stamp.modified = std::filesystem::last_write_time(path, ec);
    if (!ec) stamp.size = std::filesystem::file_size(path, ec);
    stamp.exists = !ec;
    stamps.push_back(stamp);
  }
  return stamps;
}

bool TlsCredentials::Reload(bool force) {
  std::vector<Stamp> stamps = StampFiles();
  {
    std::lock_guard lock(mutex_);
    if (!force && stamps == stamps_) return false;
    // Remember this state even if it does not load: a half-copied set is
    // reported once, and loaded once the last file lands.
    stamps_ = stamps;
  }
  auto context = wire::MakeServerTlsContext(files_);
  if (!context) {
    metrics_.CountTlsReload(false);
    spdlog::error(
        "TLS files changed but cannot be loaded; new sessions keep the previous "
        "certificate, CA and CRL: {}",
        context.error().message());
    return false;
  }
  {
    std::lock_guard lock(mutex_);
    current_ = std::move(*context);
  }
  metrics_.CountTlsReload(true);
  spdlog::info(
      "TLS certificate, key, CA and CRL loaded again ({}); new sessions use them, open "
      "sessions carry on",
      files_.certificate);
  return true;
}

}  // namespace atmhealth::collector
