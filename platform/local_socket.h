// Unix-domain socket files: who may write to a local socket is decided by the
// file's mode and group, as for any file.
#ifndef ATMHEALTH_PLATFORM_LOCAL_SOCKET_H_
#define ATMHEALTH_PLATFORM_LOCAL_SOCKET_H_

#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>

#include "platform/asio.h"
#include "platform/status.h"

namespace atmhealth::platform {

// Makes `path` free for a socket to be bound there: a socket left by an
// earlier run is removed; any other kind of file is refused (kInvalidArgument)
// so a wrong path never deletes data.
Status RemoveStaleSocket(const std::string& path);

// Sets the socket file's permission bits to `mode` (e.g. 0660) and, when
// `group` is not empty, its group to that group's id (kNotFound if there is no
// such group).
Status SetSocketAccess(const std::string& path, std::uint32_t mode, const std::string& group);

// Whether a group of that name exists.
bool GroupExists(const std::string& group);

// Binds `socket` (an open Asio local socket or acceptor) at `path` without a
// moment at which it is reachable with other access: it is bound under
// "<path>.new", given `mode` and `group`, then renamed into place. A socket
// left at `path` by an earlier run is replaced; any other file there is
// refused. Errors name the socket as `what`.
template <typename Socket>
Status BindLocalSocket(Socket& socket, const std::string& path, std::uint32_t mode,
                       const std::string& group, const std::string& what) {
  const std::string temporary = path + ".new";
  for (const std::string* file : {&path, &temporary}) {
    if (Status removed = RemoveStaleSocket(*file); !removed.ok()) {
      return Error(removed.error().code(), what + ": " + removed.error().message());
    }
  }
  boost::system::error_code ec;
  socket.bind(typename Socket::endpoint_type(temporary), ec);
  if (ec) return Error(ErrorCode::kIo, what + " \"" + path + "\": bind: " + ec.message());
  Status access = SetSocketAccess(temporary, mode, group);
  std::error_code renamed;
  if (access.ok()) std::filesystem::rename(temporary, path, renamed);
  if (!access.ok() || renamed) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    return Error(access.ok() ? ErrorCode::kIo : access.error().code(),
                 what + " \"" + path +
                     "\": " + (access.ok() ? renamed.message() : access.error().message()));
  }
  return OkStatus();
}

}  // namespace atmhealth::platform

#endif  // ATMHEALTH_PLATFORM_LOCAL_SOCKET_H_
