#include "proto/schema_limits.h"

#include <gtest/gtest.h>

#include <string>

namespace atmhealth::wire {
namespace {

TEST(SchemaText, CutsAtACharacterBoundaryAndMarksTheCut) {
  EXPECT_EQ(SchemaText("short", 10), "short");
  EXPECT_EQ(SchemaText("abcdefghij", 10), "abcdefghij");
  EXPECT_EQ(SchemaText("abcdefghijk", 10), "abcdefg\xE2\x80\xA6");
  // A three-byte character is never split.
  EXPECT_EQ(SchemaText("ab\xE3\x81\x82\xE3\x81\x82", 7), "ab\xE2\x80\xA6");
  EXPECT_EQ(SchemaText("bad\xFF", 10), "bad\xEF\xBF\xBD");
}

TEST(ClampEventToSchema, EveryBoundedFieldEndsWithinItsBound) {
  v1::Event event;
  event.set_boot_id(std::string(100, 'b'));
  event.set_subject(std::string(300, 's'));
  event.set_alert_key(std::string(400, 'k'));
  event.set_summary(std::string(600, 'm'));
  for (int i = 0; i < 40; ++i) {
    v1::ContextEntry* entry = event.add_context();
    entry->set_key(std::string(70, 'c'));
    entry->set_value(std::string(2000, 'v'));
  }
  for (int i = 0; i < 20; ++i)
    event.mutable_impact()->add_unavailable(v1::CUSTOMER_SERVICE_DEPOSIT);
  EXPECT_TRUE(ClampEventToSchema(event));
  EXPECT_EQ(event.boot_id().size(), kMaxBootIdBytes);
  EXPECT_EQ(event.subject().size(), kMaxSubjectBytes);
  EXPECT_EQ(event.alert_key().size(), kMaxAlertKeyBytes);
  EXPECT_EQ(event.summary().size(), kMaxSummaryBytes);
  EXPECT_EQ(static_cast<std::size_t>(event.context_size()), kMaxContextEntries);
  EXPECT_EQ(event.context(0).key().size(), kMaxContextKeyBytes);
  EXPECT_EQ(event.context(0).value().size(), kMaxContextValueBytes);
  EXPECT_EQ(static_cast<std::size_t>(event.impact().unavailable_size()), kMaxImpactEntries);
  EXPECT_FALSE(ClampEventToSchema(event));  // nothing more to cut
}

TEST(FitEventInBytes, DropsContextThenCutsTheSummaryAndSaysSo) {
  v1::Event event;
  event.set_seq(7);
  event.set_summary("disk full");
  for (int i = 0; i < 10; ++i) event.add_context()->set_value(std::string(1000, 'v'));
  ASSERT_TRUE(FitEventInBytes(event, 4096));
  EXPECT_LE(event.ByteSizeLong(), 4096u);
  EXPECT_LT(event.context_size(), 10);
  EXPECT_NE(event.summary().find("context entries left out"), std::string::npos);
}

TEST(BufferId, IsRandomLowercaseHex) {
  const std::string a = NewBufferId();
  const std::string b = NewBufferId();
  EXPECT_TRUE(IsValidBufferId(a)) << a;
  EXPECT_EQ(a.size(), kBufferIdHexDigits);
  EXPECT_NE(a, b);
  EXPECT_TRUE(IsValidBufferId(""));
  EXPECT_FALSE(IsValidBufferId(std::string(32, 'A')));
  EXPECT_FALSE(IsValidBufferId(std::string(31, 'a')));
}

}  // namespace
}  // namespace atmhealth::wire
