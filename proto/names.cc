#include "proto/names.h"

#include <algorithm>
#include <cctype>

namespace atmhealth::wire {
namespace {

// What names need of an enum, from the helpers protoc generates for the lite
// runtime (no descriptors): X_Name, X_Parse, X_IsValid, X_MIN, X_MAX.
struct EnumTable {
  int min;
  int max;
  bool (*is_valid)(int);
  const std::string& (*name)(int);
  bool (*parse)(const std::string&, int*);
};

template <typename Enum>
EnumTable TableOf();

#define ATMHEALTH_ENUM_TABLE(Enum)                                   \
  template <>                                                        \
  EnumTable TableOf<v1::Enum>() {                                    \
    return {v1::Enum##_MIN, v1::Enum##_MAX, v1::Enum##_IsValid,      \
            [](int number) -> const std::string& {                   \
              return v1::Enum##_Name(static_cast<v1::Enum>(number)); \
            },                                                       \
            [](const std::string& name, int* number) {               \
              v1::Enum value{};                                      \
              if (!v1::Enum##_Parse(name, &value)) return false;     \
              *number = value;                                       \
              return true;                                           \
            }};                                                      \
  }
ATMHEALTH_ENUM_TABLE(CustomerService)
ATMHEALTH_ENUM_TABLE(DeviceKind)
ATMHEALTH_ENUM_TABLE(Severity)
ATMHEALTH_ENUM_TABLE(AlertKind)
ATMHEALTH_ENUM_TABLE(AlertState)
ATMHEALTH_ENUM_TABLE(FailureCategory)
ATMHEALTH_ENUM_TABLE(Unit)
ATMHEALTH_ENUM_TABLE(ServiceState)
#undef ATMHEALTH_ENUM_TABLE

// The common prefix of an enum's value names is the enum's name in
// UPPER_SNAKE_CASE followed by '_': the value of UNSPECIFIED minus its tail.
std::string_view Prefix(const EnumTable& table) {
  const std::string& unspecified = table.name(0);
  return std::string_view(unspecified)
      .substr(0, unspecified.size() - std::string_view("UNSPECIFIED").size());
}

std::string Short(const EnumTable& table, int number) {
  if (!table.is_valid(number)) return "unknown(" + std::to_string(number) + ")";
  std::string name = table.name(number).substr(Prefix(table).size());
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return name;
}

template <typename Enum>
std::optional<Enum> ParseAs(std::string_view name) {
  const EnumTable table = TableOf<Enum>();
  std::string full(Prefix(table));
  for (char c : name)
    full.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  int number = 0;
  if (!table.parse(full, &number) || number == 0) return std::nullopt;
  return static_cast<Enum>(number);
}

template <typename Enum>
std::string ShortOf(Enum value) {
  return Short(TableOf<Enum>(), value);
}

}  // namespace

std::string ShortName(v1::CustomerService v) { return ShortOf(v); }
std::string ShortName(v1::DeviceKind v) { return ShortOf(v); }
std::string ShortName(v1::Severity v) { return ShortOf(v); }
std::string ShortName(v1::AlertKind v) { return ShortOf(v); }
std::string ShortName(v1::AlertState v) { return ShortOf(v); }
std::string ShortName(v1::FailureCategory v) { return ShortOf(v); }
std::string ShortName(v1::Unit v) { return ShortOf(v); }
std::string ShortName(v1::ServiceState v) { return ShortOf(v); }

std::optional<v1::CustomerService> ParseCustomerService(std::string_view name) {
  return ParseAs<v1::CustomerService>(name);
}
std::optional<v1::DeviceKind> ParseDeviceKind(std::string_view name) {
  return ParseAs<v1::DeviceKind>(name);
}
std::optional<v1::Severity> ParseSeverity(std::string_view name) {
  return ParseAs<v1::Severity>(name);
}
std::optional<v1::FailureCategory> ParseFailureCategory(std::string_view name) {
  return ParseAs<v1::FailureCategory>(name);
}
std::optional<v1::AlertKind> ParseAlertKind(std::string_view name) {
  return ParseAs<v1::AlertKind>(name);
}

// The .proto files declare every enum's values in increasing order, so
// numeric order is declaration order.
template <typename Enum>
std::vector<Enum> ValuesOf() {
  const EnumTable table = TableOf<Enum>();
  std::vector<Enum> values;
  for (int number = table.min; number <= table.max; ++number) {
    if (number != 0 && table.is_valid(number)) values.push_back(static_cast<Enum>(number));
  }
  return values;
}

template <typename Enum>
std::vector<std::string> ShortNameList() {
  std::vector<std::string> names;
  for (Enum value : ValuesOf<Enum>()) names.push_back(ShortOf(value));
  return names;
}

template <typename Enum>
std::string ShortNames() {
  std::string out;
  for (const std::string& name : ShortNameList<Enum>()) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

#define ATMHEALTH_ENUM_NAMES(Enum)                             \
  template std::vector<v1::Enum> ValuesOf<v1::Enum>();         \
  template std::vector<std::string> ShortNameList<v1::Enum>(); \
  template std::string ShortNames<v1::Enum>();
ATMHEALTH_ENUM_NAMES(CustomerService)
ATMHEALTH_ENUM_NAMES(DeviceKind)
ATMHEALTH_ENUM_NAMES(Severity)
ATMHEALTH_ENUM_NAMES(AlertKind)
ATMHEALTH_ENUM_NAMES(AlertState)
ATMHEALTH_ENUM_NAMES(FailureCategory)
ATMHEALTH_ENUM_NAMES(Unit)
ATMHEALTH_ENUM_NAMES(ServiceState)
#undef ATMHEALTH_ENUM_NAMES

}  // namespace atmhealth::wire
