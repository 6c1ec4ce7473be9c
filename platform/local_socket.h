// Unix-domain socket files: who may write to a local socket is decided by the
// file's mode and group, as for any file.
#ifndef ATMHEALTH_PLATFORM_LOCAL_SOCKET_H_
#define ATMHEALTH_PLATFORM_LOCAL_SOCKET_H_

#include <cstdint>
#include <string>

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

}  // namespace atmhealth::platform

#endif  // ATMHEALTH_PLATFORM_LOCAL_SOCKET_H_
