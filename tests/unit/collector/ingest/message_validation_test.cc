#include "collector/ingest/message_validation.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "tests/support/agent_client.h"

namespace atmhealth::collector {
namespace {

using atmhealth::testing::TestBatch;
using atmhealth::testing::TestHeartbeat;
using atmhealth::testing::TestHello;

std::string BatchError(const std::function<void(v1::Event&)>& spoil) {
  v1::EventBatch batch = TestBatch(7, 9).batch();
  spoil(*batch.mutable_events(1));
  const Status status = ValidateEventBatch(batch);
  return status.ok() ? "" : status.error().message();
}

TEST(MessageValidation, AcceptsWhatTheTestAgentSends) {
  EXPECT_TRUE(ValidateHello(TestHello("atm-tokyo-0412", "shinjuku.east_2")).ok());
  EXPECT_TRUE(ValidateEventBatch(TestBatch(1, 20).batch()).ok());
  EXPECT_TRUE(ValidateHeartbeat(TestHeartbeat().heartbeat()).ok());
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
  v1::Hello hello = TestHello("atm-0412");
  hello.mutable_device()->set_site_id("");
  EXPECT_EQ(ValidateHello(hello).error().message(), "hello.device.site_id: is empty");

  hello = TestHello(std::string(65, 'a'));
  EXPECT_EQ(ValidateHello(hello).error().message(),
            "hello.device.device_id: is 65 characters, at most 64");

  hello = TestHello("atm-0412");
  hello.mutable_device()->set_kind(v1::DEVICE_KIND_UNSPECIFIED);
  EXPECT_EQ(ValidateHello(hello).error().message(),
            "hello.device.kind: 0 is not a known device kind");

  hello.clear_device();
  EXPECT_EQ(ValidateHello(hello).error().message(), "hello.device: is missing");
}

TEST(MessageValidation, BatchMustHoldEvents) {
  EXPECT_EQ(ValidateEventBatch(v1::EventBatch()).error().message(), "batch: has no events");
  const v1::EventBatch too_many = TestBatch(1, kMaxEventsPerBatch + 1).batch();
  EXPECT_EQ(ValidateEventBatch(too_many).error().message(), "batch: has 1001 events, at most 1000");
}

TEST(MessageValidation, SeqsArePositiveAndStrictlyIncreasing) {
  EXPECT_EQ(BatchError([](v1::Event& e) { e.set_seq(7); }),
            "batch.events[1] (seq 7): seq is not above the previous event's seq 7");
  EXPECT_EQ(BatchError([](v1::Event& e) { e.set_seq(3); }),
            "batch.events[1] (seq 3): seq is not above the previous event's seq 7");
  v1::EventBatch batch = TestBatch(1, 1).batch();
  batch.mutable_events(0)->set_seq(0);
  EXPECT_EQ(ValidateEventBatch(batch).error().message(),
            "batch.events[0] (seq 0): seq must be above 0");
}

TEST(MessageValidation, EnumsMustBeSetToKnownValues) {
  EXPECT_EQ(BatchError([](v1::Event& e) { e.set_severity(v1::SEVERITY_UNSPECIFIED); }),
            "batch.events[1] (seq 8): severity 0 is not a known severity");
  EXPECT_EQ(BatchError([](v1::Event& e) { e.set_severity(static_cast<v1::Severity>(99)); }),
            "batch.events[1] (seq 8): severity 99 is not a known severity");
  EXPECT_EQ(BatchError([](v1::Event& e) { e.set_kind(v1::ALERT_KIND_UNSPECIFIED); }),
            "batch.events[1] (seq 8): kind 0 is not a known alert kind");
  EXPECT_EQ(BatchError([](v1::Event& e) { e.set_state(v1::ALERT_STATE_UNSPECIFIED); }),
            "batch.events[1] (seq 8): state 0 is not a known alert state");
  EXPECT_EQ(BatchError([](v1::Event& e) { e.set_unit(v1::UNIT_UNSPECIFIED); }),
            "batch.events[1] (seq 8): unit 0 is not a known unit");
  EXPECT_EQ(BatchError([](v1::Event& e) { e.set_category(v1::FAILURE_CATEGORY_UNSPECIFIED); }),
            "batch.events[1] (seq 8): category 0 is not a known failure category");
  EXPECT_EQ(BatchError([](v1::Event& e) {
              e.mutable_impact()->add_unavailable(v1::CUSTOMER_SERVICE_UNSPECIFIED);
            }),
            "batch.events[1] (seq 8): impact.unavailable holds 0, not a known customer service");
}

TEST(MessageValidation, TextFieldsStayWithinTheSchemasLimits) {
  EXPECT_EQ(BatchError([](v1::Event& e) { e.set_summary(std::string(512, 's')); }), "");
  EXPECT_EQ(BatchError([](v1::Event& e) { e.set_summary(std::string(513, 's')); }),
            "batch.events[1] (seq 8): summary is 513 bytes, at most 512");
  EXPECT_EQ(BatchError([](v1::Event& e) { e.set_subject(std::string(257, 's')); }),
            "batch.events[1] (seq 8): subject is 257 bytes, at most 256");
  EXPECT_EQ(BatchError([](v1::Event& e) {
              for (int i = 0; i < 33; ++i) e.add_context()->set_key("k");
            }),
            "batch.events[1] (seq 8): context has 34 entries, at most 32");
  EXPECT_EQ(BatchError([](v1::Event& e) { e.add_context()->set_key(std::string(65, 'k')); }),
            "batch.events[1] (seq 8): context[1].key is 65 bytes, at most 64");
  EXPECT_EQ(BatchError([](v1::Event& e) { e.add_context()->set_value(std::string(1025, 'v')); }),
            "batch.events[1] (seq 8): context[1].value is 1025 bytes, at most 1024");
}

TEST(MessageValidation, HeartbeatServicesAreKnown) {
  v1::Heartbeat heartbeat = TestHeartbeat().heartbeat();
  heartbeat.mutable_services(1)->set_state(v1::SERVICE_STATE_UNSPECIFIED);
  EXPECT_EQ(ValidateHeartbeat(heartbeat).error().message(),
            "heartbeat.services[1].state: 0 is not a known service state");
  heartbeat = TestHeartbeat().heartbeat();
  heartbeat.mutable_services(0)->set_service(static_cast<v1::CustomerService>(42));
  EXPECT_EQ(ValidateHeartbeat(heartbeat).error().message(),
            "heartbeat.services[0].service: 42 is not a known customer service");
}

}  // namespace
}  // namespace atmhealth::collector
