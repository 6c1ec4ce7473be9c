// The query string of a request target: `/api/v1/devices?site=a&state=unreachable`.
#ifndef ATMHEALTH_COLLECTOR_HTTP_QUERY_STRING_H_
#define ATMHEALTH_COLLECTOR_HTTP_QUERY_STRING_H_

#include <optional>
#include <string>
#include <string_view>

namespace atmhealth::collector {

// The value of query parameter `name` of `target`, percent-decoded ('+' is
// a space); nullopt when absent or when its encoding is broken.
std::optional<std::string> QueryParameter(std::string_view target, std::string_view name);

}  // namespace atmhealth::collector

#endif  // ATMHEALTH_COLLECTOR_HTTP_QUERY_STRING_H_
