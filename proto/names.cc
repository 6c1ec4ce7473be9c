#include "proto/names.h"

#include <algorithm>
#include <cctype>

namespace atmhealth::wire {
namespace {

namespace pb = google::protobuf;

// The common prefix of an enum's value names is the enum's name in
// UPPER_SNAKE_CASE followed by '_': the value of UNSPECIFIED minus its tail.
std::string_view Prefix(const pb::EnumDescriptor* descriptor) {
  const std::string& unspecified = descriptor->value(0)->name();
  return std::string_view(unspecified)
      .substr(0, unspecified.size() - std::string_view("UNSPECIFIED").size());
}

std::string Short(const pb::EnumDescriptor* descriptor, int number) {
  const pb::EnumValueDescriptor* value = descriptor->FindValueByNumber(number);
  if (value == nullptr) return "unknown(" + std::to_string(number) + ")";
  std::string name = value->name().substr(Prefix(descriptor).size());
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return name;
}

std::optional<int> Parse(const pb::EnumDescriptor* descriptor, std::string_view name) {
  std::string full(Prefix(descriptor));
  for (char c : name)
    full.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  const pb::EnumValueDescriptor* value = descriptor->FindValueByName(full);
  if (value == nullptr || value->number() == 0) return std::nullopt;
  return value->number();
}

template <typename Enum>
std::optional<Enum> ParseAs(const pb::EnumDescriptor* descriptor, std::string_view name) {
  auto number = Parse(descriptor, name);
  if (!number) return std::nullopt;
  return static_cast<Enum>(*number);
}

}  // namespace

std::string ShortName(v1::CustomerService v) { return Short(v1::CustomerService_descriptor(), v); }
std::string ShortName(v1::DeviceKind v) { return Short(v1::DeviceKind_descriptor(), v); }
std::string ShortName(v1::Severity v) { return Short(v1::Severity_descriptor(), v); }
std::string ShortName(v1::AlertKind v) { return Short(v1::AlertKind_descriptor(), v); }
std::string ShortName(v1::AlertState v) { return Short(v1::AlertState_descriptor(), v); }
std::string ShortName(v1::FailureCategory v) { return Short(v1::FailureCategory_descriptor(), v); }
std::string ShortName(v1::Unit v) { return Short(v1::Unit_descriptor(), v); }
std::string ShortName(v1::ServiceState v) { return Short(v1::ServiceState_descriptor(), v); }

std::optional<v1::CustomerService> ParseCustomerService(std::string_view name) {
  return ParseAs<v1::CustomerService>(v1::CustomerService_descriptor(), name);
}
std::optional<v1::DeviceKind> ParseDeviceKind(std::string_view name) {
  return ParseAs<v1::DeviceKind>(v1::DeviceKind_descriptor(), name);
}
std::optional<v1::Severity> ParseSeverity(std::string_view name) {
  return ParseAs<v1::Severity>(v1::Severity_descriptor(), name);
}
std::optional<v1::FailureCategory> ParseFailureCategory(std::string_view name) {
  return ParseAs<v1::FailureCategory>(v1::FailureCategory_descriptor(), name);
}
std::optional<v1::AlertKind> ParseAlertKind(std::string_view name) {
  return ParseAs<v1::AlertKind>(v1::AlertKind_descriptor(), name);
}

std::string ShortNames(const pb::EnumDescriptor* descriptor) {
  std::string out;
  for (int i = 0; i < descriptor->value_count(); ++i) {
    if (descriptor->value(i)->number() == 0) continue;
    if (!out.empty()) out += ", ";
    out += Short(descriptor, descriptor->value(i)->number());
  }
  return out;
}

}  // namespace atmhealth::wire
