#include "platform/toml_document.h"

#include <fmt/format.h>

namespace atmhealth::platform {

Result<toml::table> ParseTomlDocument(std::string_view text, const std::string& source_name) {
  try {
    return toml::parse(text, source_name);
  } catch (const toml::parse_error& error) {
    return Error(
        ErrorCode::kInvalidArgument,
        fmt::format("{}:{}: {}", source_name, error.source().begin.line, error.description()));
  }
}

}  // namespace atmhealth::platform
