// The project's error type. Expected failures (disk full, a bad config line,
// a peer that went away) are values of this type, created once at the edge
// where they happen and carried up; broken invariants abort instead.
#ifndef ATMHEALTH_PLATFORM_STATUS_H_
#define ATMHEALTH_PLATFORM_STATUS_H_

#include <cassert>
#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace atmhealth {

enum class ErrorCode {
  kInvalidArgument,   // the caller's input is wrong (config value, frame field)
  kNotFound,          // a path, device or record does not exist
  kPermissionDenied,  // the OS refused access
  kNoSpace,           // disk or quota full: a normal state, not a crash
  kTimeout,           // a deadline passed (hung mount, silent peer)
  kUnavailable,       // try again later (peer down, database busy)
  kCorrupt,           // stored data fails its checks
  kIo,                // any other I/O error
  kInternal,          // a bug in this program
};

const char* ErrorCodeName(ErrorCode code);

class Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  ErrorCode code() const { return code_; }
  // One line that names where it happened, e.g.
  // `agent.toml:14: storage.path: no such directory "/var/lib/ej"`.
  const std::string& message() const { return message_; }

 private:
  ErrorCode code_;
  std::string message_;
};

// Either a value or an Error. Result<void> carries only success or an Error.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : state_(std::move(error)) {}  // NOLINT

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return Checked(); }
  const T& value() const& { return const_cast<Result*>(this)->Checked(); }
  T&& value() && { return std::move(Checked()); }
  T* operator->() { return &Checked(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return Checked(); }
  const T& operator*() const& { return value(); }

  const Error& error() const {
    if (ok()) std::abort();
    return std::get<1>(state_);
  }

 private:
  T& Checked() {
    if (!ok()) std::abort();
    return std::get<0>(state_);
  }
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), has_error_(true) {}  // NOLINT

  bool ok() const { return !has_error_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const {
    if (ok()) std::abort();
    return error_;
  }

 private:
  Error error_{ErrorCode::kInternal, ""};
  bool has_error_ = false;
};

using Status = Result<void>;

inline Status OkStatus() { return {}; }

}  // namespace atmhealth

#endif  // ATMHEALTH_PLATFORM_STATUS_H_
