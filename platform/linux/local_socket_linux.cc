#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "platform/local_socket.h"
#include "platform/os_error.h"

namespace atmhealth::platform {
namespace {

// The group's id, or kNotFound.
Result<gid_t> GroupId(const std::string& group) {
  std::vector<char> buffer(16384);
  struct group entry {};
  struct group* found = nullptr;
  const int error = getgrnam_r(group.c_str(), &entry, buffer.data(), buffer.size(), &found);
  if (error != 0) return ErrorFromErrno(error, "group \"" + group + "\"");
  if (found == nullptr) return Error(ErrorCode::kNotFound, "no such group \"" + group + "\"");
  return found->gr_gid;
}

}  // namespace

Status RemoveStaleSocket(const std::string& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return OkStatus();
    return ErrorFromErrno(errno, "\"" + path + "\"");
  }
  if (!S_ISSOCK(st.st_mode)) {
    return Error(ErrorCode::kInvalidArgument,
                 "\"" + path + "\" exists and is not a socket; not removing it");
  }
  if (unlink(path.c_str()) != 0) return ErrorFromErrno(errno, "remove \"" + path + "\"");
  return OkStatus();
}

Status SetSocketAccess(const std::string& path, std::uint32_t mode, const std::string& group) {
  if (!group.empty()) {
    auto gid = GroupId(group);
    if (!gid.ok()) return gid.error();
    if (chown(path.c_str(), static_cast<uid_t>(-1), *gid) != 0) {
      return ErrorFromErrno(errno, "chown \"" + path + "\" to group \"" + group + "\"");
    }
  }
  if (chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) {
    return ErrorFromErrno(errno, "chmod \"" + path + "\"");
  }
  return OkStatus();
}

bool GroupExists(const std::string& group) { return GroupId(group).ok(); }

}  // namespace atmhealth::platform
