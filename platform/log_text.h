// Log lines that text from outside the program cannot forge. A device id, an
// agent version, a summary or a refusal detail comes from a peer or from the
// disk; written raw, a "\n" in it starts what looks like a new log line of
// this program, and terminal escapes rewrite what an operator sees.
#ifndef ATMHEALTH_PLATFORM_LOG_TEXT_H_
#define ATMHEALTH_PLATFORM_LOG_TEXT_H_

#include <spdlog/formatter.h>

#include <memory>
#include <string>
#include <string_view>

namespace atmhealth::platform {

// `text` with everything that is not printable on one line written as an
// escape: \n, \r, \t, \xNN for the other ASCII control characters, DEL and
// bytes that are not UTF-8, \uNNNN for the Unicode controls (C1, line and
// paragraph separators, bidirectional overrides), and \\ for a backslash, so
// that an escape in the output always means the byte was there.
std::string EscapeControlCharacters(std::string_view text);

// Every message of the process's default logger goes through
// EscapeControlCharacters: one log call is one line, whatever its arguments
// hold, and no call site can forget it. Call once at start, after the
// default logger is chosen. `%v` of the pattern is the escaped message; the
// rest is spdlog's default pattern.
void EscapeEveryLogMessage();

// The formatter behind it, for a sink of its own (platform/log_output.h):
// spdlog's `pattern` in which %* is the escaped message.
std::unique_ptr<spdlog::formatter> EscapingFormatter(const std::string& pattern);

// spdlog's default pattern ("%+"), with %* for the escaped message.
inline constexpr char kEscapedDefaultPattern[] = "[%Y-%m-%d %H:%M:%S.%e] [%^%l%$] %*";

}  // namespace atmhealth::platform

#endif  // ATMHEALTH_PLATFORM_LOG_TEXT_H_
