#include "tools/ctl/config_redaction.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <sstream>
#include <utility>

#include "platform/toml_document.h"

namespace atmhealth::ctl {
namespace {

constexpr std::string_view kSecretWords[] = {"key",      "pass",       "passwd",
                                             "password", "passphrase", "secret",
                                             "token",    "credential", "credentials"};

void RedactNode(toml::node& node, const std::string& path, std::vector<std::string>& redacted);

void RedactTable(toml::table& table, const std::string& path, std::vector<std::string>& redacted) {
  std::vector<std::string> secret;
  for (auto&& [key, value] : table) {
    const std::string name(key.str());
    const std::string child = path.empty() ? name : path + "." + name;
    if (IsSecretKey(name)) {
      secret.push_back(name);
      redacted.push_back(child);
    } else {
      RedactNode(value, child, redacted);
    }
  }
  for (const std::string& name : secret) table.insert_or_assign(name, kRedactedValue);
}

void RedactNode(toml::node& node, const std::string& path, std::vector<std::string>& redacted) {
  if (toml::table* table = node.as_table()) {
    RedactTable(*table, path, redacted);
  } else if (toml::array* array = node.as_array()) {
    for (std::size_t i = 0; i < array->size(); ++i) {
      RedactNode(*array->get(i), fmt::format("{}[{}]", path, i), redacted);
    }
  }
}

}  // namespace

bool IsSecretKey(std::string_view key) {
  std::string lower(key);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::size_t from = 0;
  while (from <= lower.size()) {
    const std::size_t end = lower.find_first_of("_-", from);
    const std::string_view word =
        std::string_view(lower).substr(from, end == std::string::npos ? end : end - from);
    if (std::find(std::begin(kSecretWords), std::end(kSecretWords), word) !=
        std::end(kSecretWords)) {
      return true;
    }
    if (end == std::string::npos) break;
    from = end + 1;
  }
  return false;
}

Result<RedactedConfig> RedactConfig(std::string_view text, const std::string& source) {
  Result<toml::table> parsed = platform::ParseTomlDocument(text, source);
  if (!parsed.ok()) return parsed.error();
  RedactedConfig result;
  RedactTable(*parsed, "", result.redacted);
  std::ostringstream out;
  out << toml::toml_formatter(*parsed);
  result.text = out.str();
  if (!result.text.empty() && result.text.back() != '\n') result.text += '\n';
  return result;
}

}  // namespace atmhealth::ctl
