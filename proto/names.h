// Short lower-case names of the protocol's enums, as they appear in config
// files, logs and the collector's database: CUSTOMER_SERVICE_WITHDRAWAL is
// "withdrawal", ALERT_KIND_STORAGE_FORECAST is "storage_forecast".
#ifndef ATMHEALTH_PROTO_NAMES_H_
#define ATMHEALTH_PROTO_NAMES_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "atmhealth/v1/device.pb.h"
#include "atmhealth/v1/event.pb.h"

namespace atmhealth::wire {

std::string ShortName(v1::CustomerService value);
std::string ShortName(v1::DeviceKind value);
std::string ShortName(v1::Severity value);
std::string ShortName(v1::AlertKind value);
std::string ShortName(v1::AlertState value);
std::string ShortName(v1::FailureCategory value);
std::string ShortName(v1::Unit value);
std::string ShortName(v1::ServiceState value);

// Parse a short name; nullopt for an unknown name or the UNSPECIFIED value.
std::optional<v1::CustomerService> ParseCustomerService(std::string_view name);
std::optional<v1::DeviceKind> ParseDeviceKind(std::string_view name);
std::optional<v1::Severity> ParseSeverity(std::string_view name);
std::optional<v1::FailureCategory> ParseFailureCategory(std::string_view name);
std::optional<v1::AlertKind> ParseAlertKind(std::string_view name);

// Every value of an enum but UNSPECIFIED, in the order the .proto declares
// them. Defined for the enums above that have a ShortName.
template <typename Enum>
std::vector<Enum> ValuesOf();

// Their short names, in the same order (for completions and CLI checks).
template <typename Enum>
std::vector<std::string> ShortNameList();

// The same, comma-separated, for error messages: "atm, branch_server".
template <typename Enum>
std::string ShortNames();

}  // namespace atmhealth::wire

#endif  // ATMHEALTH_PROTO_NAMES_H_
