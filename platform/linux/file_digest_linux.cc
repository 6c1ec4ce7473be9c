#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <memory>

#include "platform/file_digest.h"
#include "platform/os_error.h"

namespace atmhealth::platform {
namespace {

std::int64_t Nanos(const struct timespec& time) {
  return static_cast<std::int64_t>(time.tv_sec) * 1'000'000'000 + time.tv_nsec;
}

}  // namespace

Result<FileIdentity> IdentifyFile(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return ErrorFromErrno(errno, "stat \"" + path + "\"");
  FileIdentity identity;
  identity.device = st.st_dev;
  identity.inode = st.st_ino;
  identity.size = static_cast<std::uint64_t>(st.st_size);
  identity.modified_unix_ns = Nanos(st.st_mtim);
  identity.changed_unix_ns = Nanos(st.st_ctim);
  identity.mode = st.st_mode & 07777;
  identity.uid = st.st_uid;
  identity.gid = st.st_gid;
  identity.regular = S_ISREG(st.st_mode);
  return identity;
}

Result<std::string> Sha256OfFile(const std::string& path, std::uint64_t max_bytes) {
  // O_NONBLOCK: a FIFO put in the file's place must not block the open.
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return ErrorFromErrno(errno, "open \"" + path + "\"");
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  struct stat st {};
  if (fstat(fd, &st) != 0) return ErrorFromErrno(errno, "stat \"" + path + "\"");
  if (!S_ISREG(st.st_mode)) {
    return Error(ErrorCode::kInvalidArgument, "\"" + path + "\": not a regular file");
  }
  const std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> context(EVP_MD_CTX_new(),
                                                                   EVP_MD_CTX_free);
  if (!context || EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1) {
    return Error(ErrorCode::kInternal, "SHA-256: OpenSSL could not start a digest");
  }
  std::array<unsigned char, 64 * 1024> buffer{};
  std::uint64_t total = 0;
  for (;;) {
    const ssize_t got = read(fd, buffer.data(), buffer.size());
    if (got < 0) {
      if (errno == EINTR) continue;
      return ErrorFromErrno(errno, "read \"" + path + "\"");
    }
    if (got == 0) break;
    total += static_cast<std::uint64_t>(got);
    if (total > max_bytes) {
      return Error(ErrorCode::kInvalidArgument,
                   "\"" + path + "\": larger than " + std::to_string(max_bytes) + " bytes");
    }
    EVP_DigestUpdate(context.get(), buffer.data(), static_cast<std::size_t>(got));
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_DigestFinal_ex(context.get(), digest.data(), &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

}  // namespace atmhealth::platform
