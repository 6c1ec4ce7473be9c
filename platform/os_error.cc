#include "platform/os_error.h"

#include <cerrno>
#include <string>
#include <system_error>

namespace atmhealth::platform {

ErrorCode ErrorCodeFromErrno(int error_number) {
  switch (error_number) {
    case ENOENT:
    case ENOTDIR:
    case ENODEV:
      return ErrorCode::kNotFound;
    case EACCES:
    case EPERM:
    case EROFS:
      return ErrorCode::kPermissionDenied;
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
      return ErrorCode::kNoSpace;
    case ETIMEDOUT:
      return ErrorCode::kTimeout;
    case EAGAIN:
    case EBUSY:
    case EINTR:
    case ECONNREFUSED:
    case ECONNRESET:
    case EHOSTUNREACH:
    case ENETUNREACH:
      return ErrorCode::kUnavailable;
    case EINVAL:
    case ENAMETOOLONG:
      return ErrorCode::kInvalidArgument;
    default:
      return ErrorCode::kIo;
  }
}

Error ErrorFromErrno(int error_number, std::string_view context) {
  std::string message(context);
  message += ": ";
  message += std::error_code(error_number, std::generic_category()).message();
  return Error(ErrorCodeFromErrno(error_number), std::move(message));
}

}  // namespace atmhealth::platform
