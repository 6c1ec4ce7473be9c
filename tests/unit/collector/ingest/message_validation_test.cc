#include "collector/ingest/message_validation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <string>

#include "tests/support/agent_client.h"

namespace atmhealth::collector {
namespace {

using atmhealth::testing::SampleBatch;
using atmhealth::testing::SampleHeartbeatMessage;
using atmhealth::testing::SampleHello;

std::string BatchError(const std::function<void(v1::Event&)>& spoil) {
  v1::EventBatch batch = SampleBatch(7, 9).batch();
  spoil(*batch.mutable_events(1));
  const Status status = ValidateEventBatch(batch);
  return status.ok() ? "" : status.error().message();
}

TEST(MessageValidation, AcceptsWhatTheTestAgentSends) {
  EXPECT_TRUE(ValidateHello(SampleHello("atm-tokyo-0412", "shinjuku.east_2")).ok());
  EXPECT_TRUE(ValidateEventBatch(SampleBatch(1, 20).batch()).ok());
  EXPECT_TRUE(ValidateHeartbeat(SampleHeartbeatMessage().heartbeat()).ok());
}

TEST(MessageValidation, IdsAreOneTo64CharactersOfASafeSet) {
  EXPECT_TRUE(IsValidId("a"));
  EXPECT_TRUE(IsValidId(std::string(64, 'x')));
  EXPECT_FALSE(IsValidId(""));
  EXPECT_FALSE(IsValidId(std::string(65, 'x')));
  EXPECT_FALSE(IsValidId("atm 0412"));
  EXPECT_FALSE(IsValidId("atm/0412"));
  EXPECT_FALSE(IsValidId("atm\n0412"));
  EXPECT_FALSE(IsValidId("ätm"));
}

TEST(MessageValidation, HelloErrorsNameTheField) {
  v1::Hello hello = SampleHello("atm-0412");
  hello.mutable_device()->set_site_id("");
  EXPECT_EQ(ValidateHello(hello).error().message(), "hello.device.site_id: is empty");

  hello = SampleHello(std::string(65, 'a'));
  EXPECT_EQ(ValidateHello(hello).error().message(),
            "hello.device.device_id: is 65 characters, at most 64");

  hello = SampleHello("atm-0412");
  hello.mutable_device()->set_kind(v1::DEVICE_KIND_UNSPECIFIED);
  EXPECT_EQ(ValidateHello(hello).error().message(), "hello.device.kind: 0 is unspecified");

  hello.clear_device();
  EXPECT_EQ(ValidateHello(hello).error().message(), "hello.device: is missing");
}

TEST(MessageValidation, BatchMustHoldEvents) {
  EXPECT_EQ(ValidateEventBatch(v1::EventBatch()).error().message(), "batch: has no events");
  const v1::EventBatch too_many = SampleBatch(1, kMaxEventsPerBatch + 1).batch();
  EXPECT_EQ(ValidateEventBatch(too_many).error().message(), "batch: has 1001 events, at most 1000");
}

TEST(MessageValidation, SeqsArePositiveAndStrictlyIncreasing) {
  EXPECT_EQ(BatchError([](v1::Event& e) { e.set_seq(7); }),
            "batch.events[1] (seq 7): seq is not above the previous event's seq 7");
  EXPECT_EQ(BatchError([](v1::Event& e) { e.set_seq(3); }),
            "batch.events[1] (seq 3): seq is not above the previous event's seq 7");
  v1::EventBatch batch = SampleBatch(1, 1).batch();
  batch.mutable_events(0)->set_seq(0);
  EXPECT_EQ(ValidateEventBatch(batch).error().message(),
            "batch.events[0] (seq 0): seq must be above 0");
}

TEST(MessageValidation, EnumsMustBeSpecified) {
  EXPECT_EQ(BatchError([](v1::Event& e) { e.set_severity(v1::SEVERITY_UNSPECIFIED); }),
            "batch.events[1] (seq 8): severity 0 is unspecified");
  EXPECT_EQ(BatchError([](v1::Event& e) { e.set_kind(v1::ALERT_KIND_UNSPECIFIED); }),
            "batch.events[1] (seq 8): kind 0 is unspecified");
  EXPECT_EQ(BatchError([](v1::Event& e) { e.set_state(v1::ALERT_STATE_UNSPECIFIED); }),
            "batch.events[1] (seq 8): state 0 is unspecified");
  EXPECT_EQ(BatchError([](v1::Event& e) { e.set_unit(v1::UNIT_UNSPECIFIED); }),
            "batch.events[1] (seq 8): unit 0 is unspecified");
  EXPECT_EQ(BatchError([](v1::Event& e) { e.set_category(v1::FAILURE_CATEGORY_UNSPECIFIED); }),
            "batch.events[1] (seq 8): category 0 is unspecified");
  EXPECT_EQ(BatchError([](v1::Event& e) {
              e.mutable_impact()->add_unavailable(v1::CUSTOMER_SERVICE_UNSPECIFIED);
            }),
            "batch.events[1] (seq 8): impact.unavailable holds 0 (unspecified)");
}

// Regression: an enum value from a newer agent made the whole batch a poison
// batch, refused on every reconnect. It is stored as unknown(<number>).
TEST(MessageValidation, UnknownEnumValuesFromANewerAgentAreAccepted) {
  EXPECT_EQ(BatchError([](v1::Event& e) {
              e.set_severity(static_cast<v1::Severity>(99));
              e.set_kind(static_cast<v1::AlertKind>(40));
              e.set_state(static_cast<v1::AlertState>(7));
              e.set_unit(static_cast<v1::Unit>(30));
              e.set_category(static_cast<v1::FailureCategory>(12));
              e.mutable_impact()->add_unavailable(static_cast<v1::CustomerService>(9));
            }),
            "");
  v1::Heartbeat heartbeat = SampleHeartbeatMessage().heartbeat();
  heartbeat.mutable_services(0)->set_service(static_cast<v1::CustomerService>(42));
  heartbeat.mutable_services(0)->set_state(static_cast<v1::ServiceState>(8));
  EXPECT_TRUE(ValidateHeartbeat(heartbeat).ok());
  v1::Hello hello = SampleHello("atm-0001");
  hello.mutable_device()->set_kind(static_cast<v1::DeviceKind>(5));
  EXPECT_TRUE(ValidateHello(hello).ok());
}

// Regression: strings and lists the schema bounds were stored unbounded.
TEST(MessageValidation, DocumentedBoundsOfKeysIdsReasonsAndListsAreEnforced) {
  EXPECT_EQ(BatchError([](v1::Event& e) { e.set_alert_key(std::string(320, 'k')); }), "");
  EXPECT_EQ(BatchError([](v1::Event& e) { e.set_alert_key(std::string(321, 'k')); }),
            "batch.events[1] (seq 8): alert_key is 321 bytes, at most 320");
  EXPECT_EQ(BatchError([](v1::Event& e) { e.set_boot_id(std::string(65, 'b')); }),
            "batch.events[1] (seq 8): boot_id is 65 bytes, at most 64");
  EXPECT_EQ(BatchError([](v1::Event& e) {
              e.mutable_impact()->clear_degraded();
              for (int i = 0; i < 17; ++i) {
                e.mutable_impact()->add_degraded(v1::CUSTOMER_SERVICE_DEPOSIT);
              }
            }),
            "batch.events[1] (seq 8): impact.degraded has 17 entries, at most 16");

  v1::Hello hello = SampleHello("atm-0001");
  hello.set_agent_version(std::string(65, 'v'));
  EXPECT_EQ(ValidateHello(hello).error().message(), "hello: agent_version is 65 bytes, at most 64");
  hello = SampleHello("atm-0001");
  hello.set_buffer_id("not-hex");
  EXPECT_EQ(ValidateHello(hello).error().message(),
            "hello.buffer_id: is not 32 lowercase hex digits (7 bytes)");

  v1::Heartbeat heartbeat = SampleHeartbeatMessage().heartbeat();
  heartbeat.mutable_services(1)->set_reason(std::string(321, 'r'));
  EXPECT_EQ(ValidateHeartbeat(heartbeat).error().message(),
            "heartbeat.services[1]: reason is 321 bytes, at most 320");
}

// The Refusal names the one event at fault, so that the agent can set it
// aside instead of being refused forever.
TEST(MessageValidation, RefusedEventIsNamedBySeq) {
  v1::EventBatch batch = SampleBatch(7, 9).batch();
  batch.mutable_events(2)->set_summary(std::string(600, 's'));
  std::uint64_t refused_seq = 0;
  EXPECT_FALSE(ValidateEventBatch(batch, kMaxEventsPerBatch, &refused_seq).ok());
  EXPECT_EQ(refused_seq, 9u);
}

// Regression: a seq above 2^63-1 reached the store, failed there and was
// answered REASON_STORE_UNAVAILABLE: the agent retried it forever.
TEST(MessageValidation, SeqAboveTheLargestSqliteIntegerIsRefused) {
  v1::EventBatch batch = SampleBatch(7, 7).batch();
  batch.mutable_events(0)->set_seq(9'223'372'036'854'775'808ULL);
  EXPECT_EQ(ValidateEventBatch(batch).error().message(),
            "batch.events[0] (seq 9223372036854775808): seq is above the highest sequence "
            "2^63-1");
}

// The collector's announced batch limit is what it checks.
TEST(MessageValidation, BatchAboveTheAnnouncedLimitIsRefused) {
  const v1::EventBatch batch = SampleBatch(1, 11).batch();
  EXPECT_TRUE(ValidateEventBatch(batch, 11).ok());
  EXPECT_EQ(ValidateEventBatch(batch, 10).error().message(), "batch: has 11 events, at most 10");
}

TEST(MessageValidation, TextFieldsStayWithinTheSchemasLimits) {
  EXPECT_EQ(BatchError([](v1::Event& e) { e.set_summary(std::string(512, 's')); }), "");
  EXPECT_EQ(BatchError([](v1::Event& e) { e.set_summary(std::string(513, 's')); }),
            "batch.events[1] (seq 8): summary is 513 bytes, at most 512");
  EXPECT_EQ(BatchError([](v1::Event& e) { e.set_subject(std::string(257, 's')); }),
            "batch.events[1] (seq 8): subject is 257 bytes, at most 256");
  EXPECT_EQ(BatchError([](v1::Event& e) {
              e.clear_context();
              for (int i = 0; i < 34; ++i) e.add_context()->set_key("k");
            }),
            "batch.events[1] (seq 8): context has 34 entries, at most 32");
  EXPECT_EQ(BatchError([](v1::Event& e) { e.mutable_context(1)->set_key(std::string(65, 'k')); }),
            "batch.events[1] (seq 8): context[1].key is 65 bytes, at most 64");
  EXPECT_EQ(
      BatchError([](v1::Event& e) { e.mutable_context(1)->set_value(std::string(1025, 'v')); }),
      "batch.events[1] (seq 8): context[1].value is 1025 bytes, at most 1024");
}

TEST(MessageValidation, HeartbeatFeedIsBoundedAndItsMeasuresAreNumbers) {
  v1::Heartbeat heartbeat = SampleHeartbeatMessage().heartbeat();
  v1::FeedHealth& feed = *heartbeat.mutable_health()->mutable_feed();
  feed.set_tps(12.5);
  feed.set_error_ratio(0.25);
  feed.add_bad_lines()->set_reason("bad_value");
  feed.add_types()->set_type("withdrawal");
  EXPECT_TRUE(ValidateHeartbeat(heartbeat).ok());

  feed.set_error_ratio(1.5);
  EXPECT_EQ(ValidateHeartbeat(heartbeat).error().message(),
            "heartbeat.health.feed: error_ratio is 1.5, not a number in [0, 1]");
  feed.set_error_ratio(0);
  feed.mutable_types(0)->set_tps(std::numeric_limits<double>::quiet_NaN());
  EXPECT_THAT(ValidateHeartbeat(heartbeat).error().message(),
              ::testing::StartsWith("heartbeat.health.feed.types[0]: tps is nan"));
  feed.mutable_types(0)->set_tps(1);
  feed.mutable_types(0)->set_type(std::string(129, 't'));
  EXPECT_EQ(ValidateHeartbeat(heartbeat).error().message(),
            "heartbeat.health.feed.types[0]: type is 129 bytes, at most 128");
  feed.mutable_types(0)->set_type("withdrawal");
  feed.mutable_bad_lines(0)->set_reason(std::string(33, 'r'));
  EXPECT_EQ(ValidateHeartbeat(heartbeat).error().message(),
            "heartbeat.health.feed.bad_lines[0]: reason is 33 bytes, at most 32");
  feed.mutable_bad_lines(0)->set_reason("bad_value");
  for (int i = 0; i < 256; ++i) feed.add_types()->set_type("t");
  EXPECT_EQ(ValidateHeartbeat(heartbeat).error().message(),
            "heartbeat.health.feed.types: has 257 entries, at most 256");
}

TEST(MessageValidation, HeartbeatServicesAreSpecified) {
  v1::Heartbeat heartbeat = SampleHeartbeatMessage().heartbeat();
  heartbeat.mutable_services(1)->set_state(v1::SERVICE_STATE_UNSPECIFIED);
  EXPECT_EQ(ValidateHeartbeat(heartbeat).error().message(),
            "heartbeat.services[1].state: 0 is unspecified");
  heartbeat = SampleHeartbeatMessage().heartbeat();
  heartbeat.mutable_services(0)->set_service(v1::CUSTOMER_SERVICE_UNSPECIFIED);
  EXPECT_EQ(ValidateHeartbeat(heartbeat).error().message(),
            "heartbeat.services[0].service: 0 is unspecified");
}

}  // namespace
}  // namespace atmhealth::collector
