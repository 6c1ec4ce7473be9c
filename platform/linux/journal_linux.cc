// The journal half of platform/log_output.h.
#include <sys/stat.h>
#include <sys/uio.h>

#include <cinttypes>
#include <cstdio>
#include <string>

#include "platform/linux/systemd_library_linux.h"
#include "platform/log_output.h"
#include "platform/os_error.h"

namespace atmhealth::platform {

Status SendToJournal(const std::vector<std::string>& fields) {
  std::vector<iovec> parts(fields.size());
  for (std::size_t i = 0; i < fields.size(); ++i) {
    parts[i].iov_base = const_cast<char*>(fields[i].data());
    parts[i].iov_len = fields[i].size();
  }
  const SystemdLibrary* systemd = Systemd();
  if (systemd == nullptr)
    return Error(ErrorCode::kUnavailable, "libsystemd.so.0 could not be loaded");
  const int sent = systemd->journal_sendv(parts.data(), static_cast<int>(parts.size()));
  if (sent < 0) return ErrorFromErrno(-sent, "sending to the journal");
  return OkStatus();
}

bool StderrIsJournalStream(std::string_view journal_stream) {
  std::uintmax_t device = 0;
  std::uintmax_t inode = 0;
  const std::string text(journal_stream);
  if (std::sscanf(text.c_str(), "%" SCNuMAX ":%" SCNuMAX, &device, &inode) != 2) return false;
  struct stat st {};
  if (::fstat(2, &st) != 0) return false;
  return st.st_dev == device && st.st_ino == inode;
}

}  // namespace atmhealth::platform
