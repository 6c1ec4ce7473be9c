// Reading the text of /proc and /sys files and the small pieces every parser
// of such text needs: lines with their numbers, trimmed fields, numbers, and
// an error that names the place ("/proc/mdstat:7: ...").
#ifndef ATMHEALTH_PLATFORM_TEXT_INPUT_H_
#define ATMHEALTH_PLATFORM_TEXT_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "platform/status.h"

namespace atmhealth::platform {

// The whole text of a file, at most `max_bytes` (bytes): a longer file is an
// kInvalidArgument error rather than a silently cut text, so a parser never
// mistakes half a file for the whole. Reads until end of file, so /proc and
// /sys files (which report size 0) work.
Result<std::string> ReadTextFile(const std::string& path, std::size_t max_bytes);

// The last `max_bytes` (at most) of a regular file: the end of a log. A
// FIFO, device or directory is refused (kInvalidArgument) rather than read,
// so a misnamed path never blocks the reader.
Result<std::string> ReadFileTail(const std::string& path, std::size_t max_bytes);

// Walks the lines of a text, numbered from 1. A "\r\n" ending loses its '\r';
// a last line without '\n' still counts.
class TextLines {
 public:
  explicit TextLines(std::string_view text) : rest_(text) {}
  // The next line, or nullopt at the end of the text.
  std::optional<std::string_view> Next();
  // The number of the line Next() returned last (1-based).
  int number() const { return number_; }

 private:
  std::string_view rest_;
  int number_ = 0;
  bool done_ = false;
};

// `text` without spaces, tabs, '\r' and '\n' at either end.
std::string_view Trim(std::string_view text);

// Whole decimal numbers only ("12"; not "", "-1", "1.5", " 1"); nullopt on
// overflow.
std::optional<std::uint64_t> ParseUnsigned(std::string_view text);
// "8.5", "17", "0.2": a decimal number without sign or exponent.
std::optional<double> ParseDecimal(std::string_view text);

// kInvalidArgument with the message "<source>:<line>: <what>".
Error BadLine(std::string_view source, int line, std::string_view what);

// `text` quoted for an error message, cut at 60 bytes and with control bytes
// shown as '?', so a binary line never garbles a log.
std::string QuoteForError(std::string_view text);

}  // namespace atmhealth::platform

#endif  // ATMHEALTH_PLATFORM_TEXT_INPUT_H_
