// The one way both programs read TOML text (config files, the sites file):
// a syntax error becomes the project's Error naming the file and line,
// `collector.toml:7: expected '=' ...`.
#ifndef ATMHEALTH_PLATFORM_TOML_DOCUMENT_H_
#define ATMHEALTH_PLATFORM_TOML_DOCUMENT_H_

#include <toml++/toml.h>

#include <string>
#include <string_view>

#include "platform/status.h"

namespace atmhealth::platform {

Result<toml::table> ParseTomlDocument(std::string_view text, const std::string& source_name);

}  // namespace atmhealth::platform

#endif  // ATMHEALTH_PLATFORM_TOML_DOCUMENT_H_
