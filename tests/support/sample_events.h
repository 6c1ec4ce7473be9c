// The one sample event of the tests and benchmarks: a critical storage alert
// on the electronic-journal spool as ThresholdRule builds it from a
// StorageWatcher measurement (about 450 bytes serialized), with the batches
// and the heartbeat built from it, and the Hello that opens a session. Header only, so benchmarks
// use it without linking the test support library.
#ifndef ATMHEALTH_TESTS_SUPPORT_SAMPLE_EVENTS_H_
#define ATMHEALTH_TESTS_SUPPORT_SAMPLE_EVENTS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "atmhealth/v1/event.pb.h"
#include "atmhealth/v1/session.pb.h"

namespace atmhealth::testing {

// Collector receive times, nanoseconds since the Unix epoch (2023-11-14).
inline constexpr std::int64_t kReceivedAt1 = 1'700'000'000'000'000'000;
inline constexpr std::int64_t kReceivedAt2 = kReceivedAt1 + 30'000'000'000;
inline constexpr std::int64_t kReceivedAt3 = kReceivedAt1 + 60'000'000'000;

// A valid Hello of an ATM speaking protocol version 1, nothing sent yet.
inline v1::Hello SampleHello(const std::string& device_id,
                             const std::string& site_id = "shinjuku") {
  v1::Hello hello;
  hello.mutable_device()->set_device_id(device_id);
  hello.mutable_device()->set_site_id(site_id);
  hello.mutable_device()->set_kind(v1::DEVICE_KIND_ATM);
  hello.set_protocol_version(v1::PROTOCOL_VERSION_1);
  hello.set_agent_version("0.1.0");
  hello.set_agent_last_seq(0);
  return hello;
}

// The alert with sequence `seq`; 0 leaves the sequence for the agent's store
// to assign. Its times move with `seq`, one microsecond apart (starting over
// every 10^12 sequences, so that any seq a test sends, up to the largest,
// gives valid times).
inline v1::Event SampleEvent(std::uint64_t seq = 0) {
  const auto offset_ns = static_cast<std::int64_t>(seq % 1'000'000'000'000) * 1000;
  v1::Event event;
  event.set_seq(seq);
  event.set_wall_time_unix_ns(1'700'000'000'000'000'000 + offset_ns);
  event.set_monotonic_ns(86'400'000'000'000 + offset_ns);
  event.set_boot_id("3f1c9a52-7d1e-4c55-9e1b-0a2b3c4d5e6f");
  event.set_severity(v1::SEVERITY_CRITICAL);
  event.set_kind(v1::ALERT_KIND_STORAGE);
  event.set_state(v1::ALERT_STATE_FIRING);
  event.set_subject("/var/spool/ej");
  event.set_alert_key("storage:/var/spool/ej");
  event.set_value(93.4);
  event.set_threshold(90);
  event.set_unit(v1::UNIT_PERCENT);
  event.set_category(v1::FAILURE_CATEGORY_DAILY_OPERATION_STORAGE);
  event.mutable_impact()->add_unavailable(v1::CUSTOMER_SERVICE_WITHDRAWAL);
  event.mutable_impact()->add_unavailable(v1::CUSTOMER_SERVICE_DEPOSIT);
  event.mutable_impact()->add_degraded(v1::CUSTOMER_SERVICE_INQUIRY);
  event.set_summary("/var/spool/ej: space used 93.4% is at or above critical 90% (warning 75%)");
  const std::pair<const char*, const char*> context[] = {
      {"mount_point", "/var"},       {"mount_device", "/dev/mapper/vg0-var"},
      {"fs_type", "ext4"},           {"total_bytes", "42949672960"},
      {"used_bytes", "40114954240"}, {"available_bytes", "2834718720"},
      {"total_inodes", "2621440"},   {"free_inodes", "1983322"},
      {"read_only", "false"},
  };
  for (const auto& [key, value] : context) {
    v1::ContextEntry& entry = *event.add_context();
    entry.set_key(key);
    entry.set_value(value);
  }
  return event;
}

// The same alert on `subject` at `severity`, sequence left to the store;
// `padding_bytes` of extra context make its payload about that much bigger.
inline v1::Event SampleEvent(v1::Severity severity, const std::string& subject,
                             std::size_t padding_bytes = 0) {
  v1::Event event = SampleEvent();
  event.set_severity(severity);
  event.set_subject(subject);
  event.set_alert_key("storage:" + subject);
  event.set_summary(subject + " is " + v1::Severity_Name(severity));
  if (padding_bytes > 0) {
    v1::ContextEntry& entry = *event.add_context();
    entry.set_key("padding");
    entry.set_value(std::string(padding_bytes, 'p'));
  }
  return event;
}

// SampleEvent(first_seq) ... SampleEvent(last_seq), in order.
inline std::vector<v1::Event> SampleEvents(std::uint64_t first_seq, std::uint64_t last_seq) {
  std::vector<v1::Event> events;
  for (std::uint64_t seq = first_seq; seq <= last_seq; ++seq) events.push_back(SampleEvent(seq));
  return events;
}

// The same events as one EventBatch frame.
inline v1::AgentMessage SampleBatch(std::uint64_t first_seq, std::uint64_t last_seq) {
  v1::AgentMessage message;
  v1::EventBatch& batch = *message.mutable_batch();
  for (std::uint64_t seq = first_seq; seq <= last_seq; ++seq)
    *batch.add_events() = SampleEvent(seq);
  return message;
}

// A heartbeat of an ATM with four services in service and an empty backlog.
inline v1::Heartbeat SampleHeartbeat() {
  v1::Heartbeat heartbeat;
  for (const v1::CustomerService service :
       {v1::CUSTOMER_SERVICE_WITHDRAWAL, v1::CUSTOMER_SERVICE_DEPOSIT,
        v1::CUSTOMER_SERVICE_TRANSFER, v1::CUSTOMER_SERVICE_INQUIRY}) {
    v1::ServiceStatus& status = *heartbeat.add_services();
    status.set_service(service);
    status.set_state(v1::SERVICE_STATE_IN_SERVICE);
  }
  v1::AgentHealth& health = *heartbeat.mutable_health();
  health.set_buffer_bytes(98'304);
  health.set_buffer_limit_bytes(64 * 1024 * 1024);
  health.set_last_seq(1234);
  health.set_wall_time_unix_ns(1'700'000'000'000'000'000);
  health.set_monotonic_ns(86'400'000'000'000);
  health.set_uptime_s(86'400);
  heartbeat.set_interval_ms(10'000);
  return heartbeat;
}

// One service's state as a heartbeat reports it.
inline v1::ServiceStatus Service(v1::CustomerService service, v1::ServiceState state,
                                 const std::string& reason = "") {
  v1::ServiceStatus status;
  status.set_service(service);
  status.set_state(state);
  status.set_reason(reason);
  return status;
}

// The heartbeat as a frame.
inline v1::AgentMessage SampleHeartbeatMessage() {
  v1::AgentMessage message;
  *message.mutable_heartbeat() = SampleHeartbeat();
  return message;
}

}  // namespace atmhealth::testing

#endif  // ATMHEALTH_TESTS_SUPPORT_SAMPLE_EVENTS_H_
