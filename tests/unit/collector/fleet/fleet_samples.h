// Stored rows for the fleet unit tests, built the way the store returns them.
#ifndef ATMHEALTH_TESTS_UNIT_COLLECTOR_FLEET_FLEET_SAMPLES_H_
#define ATMHEALTH_TESTS_UNIT_COLLECTOR_FLEET_FLEET_SAMPLES_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "collector/fleet/fleet_state.h"

namespace atmhealth::collector::fleet {

inline constexpr std::int64_t kSecond = 1'000'000'000;
inline constexpr std::int64_t kT0 = 1'800'000'000 * kSecond;  // 2027-01-15T08:00:00Z

// A device that said Hello at kT0 and sent a heartbeat at `heartbeat_at`
// announcing `interval_ms`, with withdrawal and deposit in service.
StoredDevice SampleDevice(const std::string& id, const std::string& site,
                          std::int64_t heartbeat_at = kT0, std::int64_t interval_ms = 10'000);

// Sets a service's state (and its since time and reason).
void SetService(StoredDevice& device, const std::string& service, const std::string& state,
                std::int64_t since, const std::string& reason = "storage:/var");

}  // namespace atmhealth::collector::fleet

#endif  // ATMHEALTH_TESTS_UNIT_COLLECTOR_FLEET_FLEET_SAMPLES_H_
