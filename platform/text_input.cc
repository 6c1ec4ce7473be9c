#include "platform/text_input.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <limits>

#include "platform/os_error.h"

namespace atmhealth::platform {

Result<std::string> ReadTextFile(const std::string& path, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrorFromErrno(errno, "open \"" + path + "\"");
  std::string text;
  char buffer[4096];
  while (in) {
    in.read(buffer, sizeof(buffer));
    const auto got = static_cast<std::size_t>(in.gcount());
    if (text.size() + got > max_bytes) {
      return Error(ErrorCode::kInvalidArgument,
                   "\"" + path + "\": longer than " + std::to_string(max_bytes) + " bytes");
    }
    text.append(buffer, got);
  }
  if (in.bad()) return ErrorFromErrno(errno != 0 ? errno : EIO, "read \"" + path + "\"");
  return text;
}

Result<std::string> ReadFileTail(const std::string& path, std::size_t max_bytes) {
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  if (error) return ErrorFromErrno(error.value(), "stat \"" + path + "\"");
  if (!std::filesystem::is_regular_file(status)) {
    return Error(ErrorCode::kInvalidArgument, "\"" + path + "\": not a regular file");
  }
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return ErrorFromErrno(errno, "open \"" + path + "\"");
  const std::streamoff size = in.tellg();
  const std::streamoff start =
      std::max<std::streamoff>(0, size - static_cast<std::streamoff>(max_bytes));
  in.seekg(start);
  std::string text(static_cast<std::size_t>(size - start), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  // A file that shrank meanwhile (rotated) gives what was there.
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (in.bad()) return ErrorFromErrno(errno != 0 ? errno : EIO, "read \"" + path + "\"");
  return text;
}

std::optional<std::string_view> TextLines::Next() {
  if (done_) return std::nullopt;
  if (rest_.empty()) {
    done_ = true;
    return std::nullopt;
  }
  ++number_;
  std::string_view line;
  if (const auto end = rest_.find('\n'); end == std::string_view::npos) {
    line = rest_;
    rest_ = {};
    done_ = true;
  } else {
    line = rest_.substr(0, end);
    rest_.remove_prefix(end + 1);
  }
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

std::string_view Trim(std::string_view text) {
  constexpr std::string_view kBlank = " \t\r\n";
  const auto begin = text.find_first_not_of(kBlank);
  if (begin == std::string_view::npos) return {};
  const auto end = text.find_last_not_of(kBlank);
  return text.substr(begin, end - begin + 1);
}

std::optional<std::uint64_t> ParseUnsigned(std::string_view text) {
  if (text.empty() || text.front() < '0' || text.front() > '9') return std::nullopt;
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<double> ParseDecimal(std::string_view text) {
  if (text.empty() || text.front() < '0' || text.front() > '9') return std::nullopt;
  if (text.find_first_not_of("0123456789.") != std::string_view::npos) return std::nullopt;
  double value = 0;
  const auto [end, error] =
      std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::fixed);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

Error BadLine(std::string_view source, int line, std::string_view what) {
  std::string message(source);
  message += ':';
  message += std::to_string(line);
  message += ": ";
  message += what;
  return Error(ErrorCode::kInvalidArgument, std::move(message));
}

std::string QuoteForError(std::string_view text) {
  constexpr std::size_t kMax = 60;
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    out.push_back(c < 0x20 || c >= 0x7f ? '?' : static_cast<char>(c));
  }
  if (text.size() > kMax) out += "...";
  out += '"';
  return out;
}

}  // namespace atmhealth::platform
