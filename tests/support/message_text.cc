#include "tests/support/message_text.h"

#include <fmt/format.h>

#include "proto/names.h"

namespace atmhealth::testing {
namespace {

std::string Services(const google::protobuf::RepeatedField<int>& services) {
  std::string out;
  for (int service : services) {
    if (!out.empty()) out += ",";
    out += wire::ShortName(static_cast<v1::CustomerService>(service));
  }
  return out;
}

}  // namespace

std::string Describe(const v1::Event& event) {
  std::string context;
  for (const v1::ContextEntry& entry : event.context()) {
    if (!context.empty()) context += ", ";
    context += fmt::format("{:?}: {:?}", entry.key(), entry.value());
  }
  return fmt::format(
      "Event{{seq: {}, wall_time_unix_ns: {}, monotonic_ns: {}, boot_id: {:?}, severity: {}, "
      "kind: {}, state: {}, subject: {:?}, alert_key: {:?}, value: {}, threshold: {}, unit: {}, "
      "category: {}, impact: {{unavailable: [{}], degraded: [{}]}}, summary: {:?}, "
      "context: {{{}}}}}",
      event.seq(), event.wall_time_unix_ns(), event.monotonic_ns(), event.boot_id(),
      wire::ShortName(event.severity()), wire::ShortName(event.kind()),
      wire::ShortName(event.state()), event.subject(), event.alert_key(), event.value(),
      event.threshold(), wire::ShortName(event.unit()), wire::ShortName(event.category()),
      Services(event.impact().unavailable()), Services(event.impact().degraded()), event.summary(),
      context);
}

std::string Describe(const v1::CollectorMessage& message) {
  switch (message.body_case()) {
    case v1::CollectorMessage::kWelcome: {
      const v1::Welcome& welcome = message.welcome();
      return fmt::format(
          "Welcome{{last_stored_seq: {}, protocol_version: {}, collector_id: {:?}, "
          "collector_time_unix_ns: {}, max_frame_bytes: {}, max_batch_events: {}}}",
          welcome.last_stored_seq(), v1::ProtocolVersion_Name(welcome.protocol_version()),
          welcome.collector_id(), welcome.collector_time_unix_ns(), welcome.max_frame_bytes(),
          welcome.max_batch_events());
    }
    case v1::CollectorMessage::kAck:
      return fmt::format("Ack{{seq: {}}}", message.ack().seq());
    case v1::CollectorMessage::kRefusal: {
      const v1::Refusal& refusal = message.refusal();
      return fmt::format("Refusal{{reason: {}, detail: {:?}, retry_after_ms: {}, refused_seq: {}}}",
                         v1::Refusal::Reason_Name(refusal.reason()), refusal.detail(),
                         refusal.retry_after_ms(), refusal.refused_seq());
    }
    case v1::CollectorMessage::BODY_NOT_SET:
      break;
  }
  return "CollectorMessage{no body}";
}

bool SameMessage(const google::protobuf::MessageLite& a, const google::protobuf::MessageLite& b) {
  return a.GetTypeName() == b.GetTypeName() && a.SerializeAsString() == b.SerializeAsString();
}

}  // namespace atmhealth::testing
