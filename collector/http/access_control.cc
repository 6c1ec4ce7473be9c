#include "collector/http/access_control.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <array>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "collector/http/query_string.h"

namespace atmhealth::collector {
namespace {

constexpr std::string_view kBearer = "Bearer ";

// The token of the request: the Authorization header, else access_token.
std::optional<std::string> PresentedToken(const HttpRequest& request) {
  const auto header = request.find(http::field::authorization);
  if (header != request.end()) {
    const std::string_view value(header->value().data(), header->value().size());
    if (value.size() > kBearer.size() && value.substr(0, kBearer.size()) == kBearer) {
      return std::string(value.substr(kBearer.size()));
    }
    return std::string();  // another scheme: present, but not a bearer token
  }
  const std::string_view target(request.target().data(), request.target().size());
  return QueryParameter(target, "access_token");
}

std::string PathOf(const HttpRequest& request) {
  const std::string_view target(request.target().data(), request.target().size());
  return std::string(target.substr(0, target.find('?')));
}

}  // namespace

const char* ApiRoleName(ApiRole role) { return role == ApiRole::kAdmin ? "admin" : "read"; }

std::optional<ApiRole> ParseApiRole(std::string_view name) {
  if (name == "read") return ApiRole::kRead;
  if (name == "admin") return ApiRole::kAdmin;
  return std::nullopt;
}

std::string Sha256Hex(std::string_view text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
    // Only a broken OpenSSL installation fails here; no token can match then.
    spdlog::critical("OpenSSL EVP_Digest(SHA-256) failed");
    std::abort();
  }
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

AccessControl::AccessControl(std::vector<ApiToken> tokens, prometheus::Registry& registry)
    : tokens_(std::move(tokens)),
      refused_(prometheus::BuildCounter()
                   .Name("atmhealth_collector_http_access_refused_total")
                   .Help("API requests refused by access control, by reason (missing_token, "
                         "unknown_token, insufficient_role)")
                   .Register(registry)) {
  for (const char* reason : {"missing_token", "unknown_token", "insufficient_role"}) {
    refused_.Add({{"reason", reason}});
  }
}

HttpResponse AccessControl::Refuse(const HttpRequest& request, http::status status,
                                   const char* reason, std::string_view detail) {
  refused_.Add({{"reason", reason}}).Increment();
  spdlog::warn("HTTP {} {}: refused ({}): {}", std::string(request.method_string()),
               PathOf(request), static_cast<unsigned>(status), detail);
  const nlohmann::json body = {{"error", reason}, {"detail", detail}};
  HttpResponse response = MakeResponse(status, body.dump() + "\n", "application/json");
  if (status == http::status::unauthorized) {
    response.set(http::field::www_authenticate, "Bearer realm=\"atmhealth\"");
  }
  return response;
}

AccessControl::Decision AccessControl::Check(const HttpRequest& request, ApiRole needed) {
  const std::optional<std::string> token = PresentedToken(request);
  if (!token || token->empty()) {
    return {std::nullopt, Refuse(request, http::status::unauthorized, "missing_token",
                                 "no bearer token (send \"Authorization: Bearer <token>\")")};
  }
  const std::string hash = Sha256Hex(*token);
  for (const ApiToken& known : tokens_) {
    if (known.sha256_hex.size() != hash.size() ||
        CRYPTO_memcmp(known.sha256_hex.data(), hash.data(), hash.size()) != 0) {
      continue;
    }
    if (needed == ApiRole::kAdmin && known.role != ApiRole::kAdmin) {
      return {std::nullopt, Refuse(request, http::status::forbidden, "insufficient_role",
                                   fmt::format("token \"{}\" has role {}; this needs admin",
                                               known.name, ApiRoleName(known.role)))};
    }
    return {known.name, std::nullopt};
  }
  return {std::nullopt, Refuse(request, http::status::unauthorized, "unknown_token",
                               "the bearer token matches no configured token")};
}

HttpHandler AccessControl::Require(ApiRole needed, HttpHandler handler) {
  return [this, needed, handler = std::move(handler)](
             const HttpRequest& request) -> asio::awaitable<HttpResponse> {
    Decision decision = Check(request, needed);
    if (decision.refusal) co_return std::move(*decision.refusal);
    co_return co_await handler(request);
  };
}

}  // namespace atmhealth::collector
