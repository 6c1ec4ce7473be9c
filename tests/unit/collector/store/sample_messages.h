// Agent messages for the collector store tests, with every field set so that
// a column the store forgets shows up as a difference.
#ifndef ATMHEALTH_TESTS_UNIT_COLLECTOR_STORE_SAMPLE_MESSAGES_H_
#define ATMHEALTH_TESTS_UNIT_COLLECTOR_STORE_SAMPLE_MESSAGES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "atmhealth/v1/event.pb.h"
#include "atmhealth/v1/session.pb.h"

namespace atmhealth::testing {

// Collector receive times, nanoseconds since the Unix epoch (2023-11-14).
inline constexpr std::int64_t kReceivedAt1 = 1'700'000'000'000'000'000;
inline constexpr std::int64_t kReceivedAt2 = kReceivedAt1 + 30'000'000'000;
inline constexpr std::int64_t kReceivedAt3 = kReceivedAt1 + 60'000'000'000;

v1::Hello SampleHello(const std::string& device_id, const std::string& site_id);

// A firing critical storage alert on /var with `seq`, impact and context.
v1::Event SampleEvent(std::uint64_t seq);

// SampleEvent(first) ... SampleEvent(last), in order.
std::vector<v1::Event> SampleBatch(std::uint64_t first_seq, std::uint64_t last_seq);

v1::ServiceStatus Service(v1::CustomerService service, v1::ServiceState state,
                          const std::string& reason);

}  // namespace atmhealth::testing

#endif  // ATMHEALTH_TESTS_UNIT_COLLECTOR_STORE_SAMPLE_MESSAGES_H_
