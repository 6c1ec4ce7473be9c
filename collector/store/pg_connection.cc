#include "collector/store/pg_connection.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <regex>

namespace atmhealth::collector {
namespace {

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

bool IsUri(std::string_view url) {
  return StartsWith(url, "postgresql://") || StartsWith(url, "postgres://");
}

// SQLSTATE classes: https://www.postgresql.org/docs/current/errcodes-appendix.html
ErrorCode CodeOf(const std::string& state) {
  const std::string_view sqlstate = state;
  if (StartsWith(sqlstate, "08")) return ErrorCode::kUnavailable;  // connection exception
  if (sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03") {
    return ErrorCode::kUnavailable;  // the server shuts down, crashed, or is starting
  }
  if (sqlstate == "57014") return ErrorCode::kTimeout;                 // statement_timeout
  if (sqlstate == "53100") return ErrorCode::kNoSpace;                 // disk full
  if (StartsWith(sqlstate, "53")) return ErrorCode::kUnavailable;      // out of resources
  if (StartsWith(sqlstate, "40")) return ErrorCode::kUnavailable;      // rolled back: retry
  if (StartsWith(sqlstate, "22")) return ErrorCode::kInvalidArgument;  // data exception
  if (StartsWith(sqlstate, "25") && sqlstate == "25006") return ErrorCode::kPermissionDenied;
  if (StartsWith(sqlstate, "42")) return ErrorCode::kInternal;  // this build's SQL is wrong
  if (StartsWith(sqlstate, "23")) return ErrorCode::kInternal;  // a constraint the code broke
  return ErrorCode::kIo;
}

// The first line of a server message (they end in a newline and may carry a
// second line of detail that names no more than the first).
std::string FirstLine(std::string_view text) {
  const std::size_t end = text.find('\n');
  return std::string(end == std::string_view::npos ? text : text.substr(0, end));
}

}  // namespace

std::string RedactedUrl(std::string_view url) {
  std::string text(url);
  if (IsUri(text)) {
    // scheme://user:password@host -> scheme://user@host
    static const std::regex kUserInfo(R"(^(postgres(ql)?://[^:@/]*):[^@/]*@)");
    text = std::regex_replace(text, kUserInfo, "$1@");
    static const std::regex kQueryPassword(R"(([?&]password=)[^&]*)");
    return std::regex_replace(text, kQueryPassword, "$1***");
  }
  static const std::regex kPassword(R"((password\s*=\s*)('([^'\\]|\\.)*'|\S*))");
  return std::regex_replace(text, kPassword, "$1***");
}

std::string PgConnectString(const PgConnectionOptions& options) {
  std::string url = options.url;
  const auto seconds = std::max<std::int64_t>(
      1, std::chrono::ceil<std::chrono::seconds>(options.connect_timeout).count());
  const auto add = [&](std::string_view key, const std::string& value) {
    if (url.find(std::string(key) + "=") != std::string::npos) return;
    if (IsUri(url)) {
      url += url.find('?') == std::string::npos ? '?' : '&';
      url += fmt::format("{}={}", key, value);
    } else {
      url += fmt::format(" {}='{}'", key, value);
    }
  };
  add("connect_timeout", std::to_string(seconds));
  add("application_name", options.application_name);
  return url;
}

PgConnection::PgConnection(PgConnectionOptions options, OnConnect on_connect)
    : options_(std::move(options)),
      on_connect_(std::move(on_connect)),
      where_("postgresql " + RedactedUrl(options_.url)),
      connect_string_(PgConnectString(options_)) {}

PgConnection::~PgConnection() = default;

Result<pqxx::connection*> PgConnection::Get() {
  if (broken_) Drop();
  if (connection_ != nullptr) return connection_.get();
  const auto now = std::chrono::steady_clock::now();
  if (now < next_attempt_) {
    return Error(
        ErrorCode::kUnavailable,
        fmt::format("{}: the database is unreachable ({}); next attempt in {} ms", where_,
                    last_failure_,
                    std::chrono::ceil<std::chrono::milliseconds>(next_attempt_ - now).count()));
  }
  next_attempt_ = now + options_.reconnect_interval;
  try {
    auto connection = std::make_unique<pqxx::connection>(connect_string_);
    if (options_.statement_timeout.count() > 0) {
      pqxx::nontransaction set(*connection, "set statement_timeout");
      set.exec0(fmt::format("SET statement_timeout = {}", options_.statement_timeout.count()));
    }
    if (on_connect_) on_connect_(*connection);
    connection_ = std::move(connection);
    ++generation_;
  } catch (const std::exception& error) {
    last_failure_ = FirstLine(error.what());
    // A server that is down, a wrong password, a database that does not
    // exist: all leave the store unusable until an operator or the server
    // acts, so all are kUnavailable, and the message says which.
    return Error(ErrorCode::kUnavailable,
                 fmt::format("{}: cannot connect: {}", where_, last_failure_));
  }
  if (!last_failure_.empty()) {
    spdlog::info("{}: connected again (the last failure was: {})", where_, last_failure_);
    last_failure_.clear();
  }
  return connection_.get();
}

void PgConnection::Drop() {
  connection_.reset();
  broken_ = false;
}

Error PgConnection::Failed(const std::exception& error, std::string_view what) {
  const std::string message = FirstLine(error.what());
  ErrorCode code = ErrorCode::kInternal;
  bool broken = false;
  if (dynamic_cast<const pqxx::broken_connection*>(&error) != nullptr ||
      dynamic_cast<const pqxx::in_doubt_error*>(&error) != nullptr) {
    code = ErrorCode::kUnavailable;
    broken = true;
  } else if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error); sql != nullptr) {
    code = CodeOf(sql->sqlstate());
    broken = StartsWith(sql->sqlstate(), "08") || StartsWith(sql->sqlstate(), "57P");
  } else if (dynamic_cast<const pqxx::failure*>(&error) != nullptr) {
    code = ErrorCode::kIo;
  }
  if (broken || (connection_ != nullptr && !connection_->is_open())) {
    last_failure_ = message;
    broken_ = true;
  }
  return Error(code, fmt::format("{}: {}: {}", where_, what, message));
}

}  // namespace atmhealth::collector
