// Bearer tokens for the operator API. The config holds only the SHA-256 of
// each token (hex), its name and its role; a request presents the token in
// `Authorization: Bearer <token>` (or, for the browser's EventSource, which
// cannot set headers, in the `access_token` query parameter). Every refusal
// is logged with the path and the reason and counted in
// atmhealth_collector_http_access_refused_total{reason}.
#ifndef ATMHEALTH_COLLECTOR_HTTP_ACCESS_CONTROL_H_
#define ATMHEALTH_COLLECTOR_HTTP_ACCESS_CONTROL_H_

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/http/http_server.h"

namespace atmhealth::collector {

// kRead reads everything; kAdmin also changes things (reloads the sites
// file).
enum class ApiRole { kRead, kAdmin };
const char* ApiRoleName(ApiRole role);
std::optional<ApiRole> ParseApiRole(std::string_view name);

struct ApiToken {
  std::string name;  // who holds it, for the log: "noc-screen"
  ApiRole role = ApiRole::kRead;
  std::string sha256_hex;  // 64 lower-case hex digits of SHA-256(token)
};

// SHA-256 of `text` as 64 lower-case hex digits (OpenSSL).
std::string Sha256Hex(std::string_view text);

class AccessControl {
 public:
  AccessControl(std::vector<ApiToken> tokens, prometheus::Registry& registry);

  // The holder's name when `request` carries a token of at least `needed`;
  // otherwise the refusal to send (401 without a token or with an unknown
  // one, 403 with a token of a lesser role), already logged and counted.
  struct Decision {
    std::optional<std::string> holder;
    std::optional<HttpResponse> refusal;
  };
  Decision Check(const HttpRequest& request, ApiRole needed);

  // `handler`, answered only for requests that pass Check.
  HttpHandler Require(ApiRole needed, HttpHandler handler);

 private:
  HttpResponse Refuse(const HttpRequest& request, http::status status, const char* reason,
                      std::string_view detail);

  std::vector<ApiToken> tokens_;
  prometheus::Family<prometheus::Counter>& refused_;
};

}  // namespace atmhealth::collector

#endif  // ATMHEALTH_COLLECTOR_HTTP_ACCESS_CONTROL_H_
