// The agent's configuration as it may leave the device in an export bundle:
// the TOML re-written with the value of every secret key replaced. Precisely:
// a key is secret when one of the words of its name (split at '_' and '-',
// any case) is key, pass, passwd, password, passphrase, secret, token,
// credential or credentials ("private_key", "auth_pass", "api_token"); its
// whole value is replaced by "<redacted>", whatever it is (a string, a
// number, a list, a table and everything in it). Every other value is kept
// as it is, file paths included. Comments are not kept (the text is
// re-written from the parsed document). Files the configuration names (the
// TLS key, certificates) are never read here.
#ifndef ATMHEALTH_TOOLS_CTL_CONFIG_REDACTION_H_
#define ATMHEALTH_TOOLS_CTL_CONFIG_REDACTION_H_

#include <string>
#include <string_view>
#include <vector>

#include "platform/status.h"

namespace atmhealth::ctl {

inline constexpr char kRedactedValue[] = "<redacted>";
// The rule above in one sentence, for the bundle's README.
inline constexpr char kRedactionRule[] =
    "the value of every key whose name has one of the words key, pass, passwd, password, "
    "passphrase, secret, token, credential, credentials (split at '_' and '-', any case) is "
    "replaced by \"<redacted>\", whole (lists and tables under it included); comments are left "
    "out; files named by the configuration (TLS key, certificates) are never included";

struct RedactedConfig {
  std::string text;  // TOML, every secret value replaced
  // The dotted path of every replaced value: "uplink.private_key",
  // "cluster.peer[1].auth_pass".
  std::vector<std::string> redacted;
};

// Whether a key's value is a secret, by the rule above.
bool IsSecretKey(std::string_view key);

// `text` redacted. A text that is not TOML is an error naming
// source:line:column: nothing of it can be shown then, since a secret could
// sit anywhere in a broken file.
Result<RedactedConfig> RedactConfig(std::string_view text, const std::string& source);

}  // namespace atmhealth::ctl

#endif  // ATMHEALTH_TOOLS_CTL_CONFIG_REDACTION_H_
