// What the benchmarks send and store: events shaped like the ones the agent
// really records (a storage alert with the StorageWatcher's diagnostic
// snapshot, about 450 bytes serialized), and a scratch directory on the disk
// the temporary directory is on ($TMPDIR, else /tmp), so SQLite's fsyncs are
// real.
#ifndef ATMHEALTH_TESTS_BENCH_BENCH_EVENTS_H_
#define ATMHEALTH_TESTS_BENCH_BENCH_EVENTS_H_

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <system_error>

#include "atmhealth/v1/event.pb.h"
#include "atmhealth/v1/session.pb.h"

namespace atmhealth::bench {

// A critical storage alert on the electronic-journal spool, as ThresholdRule
// builds it from a StorageWatcher measurement. `seq` 0 leaves the sequence
// for the agent's store to assign.
inline v1::Event RealisticEvent(std::uint64_t seq) {
  v1::Event event;
  event.set_seq(seq);
  event.set_wall_time_unix_ns(1'700'000'000'000'000'000 + static_cast<std::int64_t>(seq) * 1000);
  event.set_monotonic_ns(86'400'000'000'000 + static_cast<std::int64_t>(seq) * 1000);
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

// An EventBatch of `count` events with sequences first_seq, first_seq + 1, ...
inline v1::AgentMessage RealisticBatch(std::uint64_t first_seq, std::uint64_t count) {
  v1::AgentMessage message;
  v1::EventBatch& batch = *message.mutable_batch();
  for (std::uint64_t i = 0; i < count; ++i) *batch.add_events() = RealisticEvent(first_seq + i);
  return message;
}

// A heartbeat of an ATM with four services in service and an empty backlog.
inline v1::Heartbeat RealisticHeartbeat() {
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

// A fresh directory under the system's temporary directory, removed with
// everything in it when the object goes away.
class ScratchDir {
 public:
  ScratchDir() {
    std::random_device random;
    for (int attempt = 0; attempt < 100; ++attempt) {
      path_ =
          std::filesystem::temp_directory_path() / ("atmhealth-bench-" + std::to_string(random()));
      if (std::filesystem::create_directory(path_)) return;
    }
    std::abort();  // a temporary directory that refuses 100 new names is broken
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace atmhealth::bench

#endif  // ATMHEALTH_TESTS_BENCH_BENCH_EVENTS_H_
