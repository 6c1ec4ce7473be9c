#include "tests/unit/collector/store/sample_messages.h"

namespace atmhealth::testing {

v1::Hello SampleHello(const std::string& device_id, const std::string& site_id) {
  v1::Hello hello;
  hello.mutable_device()->set_device_id(device_id);
  hello.mutable_device()->set_site_id(site_id);
  hello.mutable_device()->set_kind(v1::DEVICE_KIND_ATM);
  hello.set_protocol_version(v1::PROTOCOL_VERSION_1);
  hello.set_agent_version("0.1.0");
  hello.set_agent_last_seq(0);
  return hello;
}

v1::Event SampleEvent(std::uint64_t seq) {
  v1::Event event;
  event.set_seq(seq);
  event.set_wall_time_unix_ns(1'699'999'990'000'000'000 + static_cast<std::int64_t>(seq));
  event.set_monotonic_ns(86'400'000'000'000 + static_cast<std::int64_t>(seq));
  event.set_boot_id("0f8c6e1a-5b2d-4c3e-9a7f-2d1e0c9b8a76");
  event.set_severity(v1::SEVERITY_CRITICAL);
  event.set_kind(v1::ALERT_KIND_STORAGE);
  event.set_state(v1::ALERT_STATE_FIRING);
  event.set_subject("/var");
  event.set_alert_key("storage:/var");
  event.set_value(97.5);
  event.set_threshold(95.0);
  event.set_unit(v1::UNIT_PERCENT);
  event.set_category(v1::FAILURE_CATEGORY_DAILY_OPERATION_STORAGE);
  event.mutable_impact()->add_unavailable(v1::CUSTOMER_SERVICE_DEPOSIT);
  event.mutable_impact()->add_unavailable(v1::CUSTOMER_SERVICE_PASSBOOK);
  event.mutable_impact()->add_degraded(v1::CUSTOMER_SERVICE_WITHDRAWAL);
  event.set_summary("/var is 97.5% full (critical above 95%)");
  v1::ContextEntry* free_blocks = event.add_context();
  free_blocks->set_key("statvfs.f_bavail");
  free_blocks->set_value("1024");
  v1::ContextEntry* top_dirs = event.add_context();
  top_dirs->set_key("top_dirs");
  top_dirs->set_value("/var/log/journal 3.1G\n/var/spool 120M");
  return event;
}

std::vector<v1::Event> SampleBatch(std::uint64_t first_seq, std::uint64_t last_seq) {
  std::vector<v1::Event> batch;
  for (std::uint64_t seq = first_seq; seq <= last_seq; ++seq) batch.push_back(SampleEvent(seq));
  return batch;
}

v1::ServiceStatus Service(v1::CustomerService service, v1::ServiceState state,
                          const std::string& reason) {
  v1::ServiceStatus status;
  status.set_service(service);
  status.set_state(state);
  status.set_reason(reason);
  return status;
}

}  // namespace atmhealth::testing
