// OS errors become the project's Error here, once, at the platform edge.
#ifndef ATMHEALTH_PLATFORM_OS_ERROR_H_
#define ATMHEALTH_PLATFORM_OS_ERROR_H_

#include <string_view>

#include "platform/status.h"

namespace atmhealth::platform {

// Maps errno to an ErrorCode (ENOSPC and EDQUOT to kNoSpace, ETIMEDOUT to
// kTimeout, ...).
ErrorCode ErrorCodeFromErrno(int error_number);

// An Error whose message is `context: strerror(error_number)`.
Error ErrorFromErrno(int error_number, std::string_view context);

}  // namespace atmhealth::platform

#endif  // ATMHEALTH_PLATFORM_OS_ERROR_H_
