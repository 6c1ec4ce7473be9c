// The columns both stores write for an event, as the HTTP API and operators'
// SQL read them: context_json must stay byte for byte what the JSON library
// writes for the snapshot object, whichever way the store builds it, and a
// reused EventColumns must hold nothing of the event before.
#include "collector/store/store_rows.h"

#include <google/protobuf/stubs/logging.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace atmhealth::collector {
namespace {

// The snapshot as the JSON library writes the ordered object: the form the
// column has had since it exists (a repeated key keeps its first place and
// its last value; bytes that are not UTF-8 become U+FFFD).
std::string LibraryContextJson(const v1::Event& event) {
  nlohmann::ordered_json context = nlohmann::ordered_json::object();
  for (const v1::ContextEntry& entry : event.context()) context[entry.key()] = entry.value();
  return context.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

v1::Event EventWithContext(const std::vector<std::pair<std::string, std::string>>& context) {
  v1::Event event;
  event.set_seq(7);
  event.set_severity(v1::SEVERITY_CRITICAL);
  event.set_kind(v1::ALERT_KIND_STORAGE);
  event.set_state(v1::ALERT_STATE_FIRING);
  event.set_unit(v1::UNIT_PERCENT);
  event.set_category(v1::FAILURE_CATEGORY_DAILY_OPERATION_STORAGE);
  event.set_alert_key("storage:/var");
  for (const auto& [key, value] : context) {
    v1::ContextEntry& entry = *event.add_context();
    entry.set_key(key);
    entry.set_value(value);
  }
  return event;
}

std::string ContextColumn(const v1::Event& event) {
  Result<EventColumns> columns = ColumnsOf(event, "test.db", "atm-1");
  EXPECT_TRUE(columns.ok());
  return columns.ok() ? columns->context_json : std::string();
}

TEST(StoreRowsTest, ContextJsonIsTheLibrarysFormForPlainText) {
  const v1::Event event = EventWithContext({{"mount_point", "/var"},
                                            {"statvfs.f_bavail", "1024"},
                                            {"read_only", "false"},
                                            {"top dirs", "/var/log 3.1G; /var/spool 120M"}});
  EXPECT_EQ(ContextColumn(event), LibraryContextJson(event));
  EXPECT_EQ(ContextColumn(event),
            R"({"mount_point":"/var","statvfs.f_bavail":"1024","read_only":"false",)"
            R"("top dirs":"/var/log 3.1G; /var/spool 120M"})");
}

TEST(StoreRowsTest, ContextJsonIsTheLibrarysFormForEscapesAndBadUtf8) {
  google::protobuf::LogSilencer quiet;  // protobuf logs each string that is not UTF-8
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"quote\"d", "back\\slash"},
      {"lines", "/var/log/journal 3.1G\n/var/spool 120M\r\t\b\f"},
      {"control", std::string("nul\0and\x01\x1f", 9)},
      {"delete", "\x7f"},
      {"utf-8", "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8f\xa7"},
      {"not utf-8", "\xff\xfe ok \xc3"},
      {"\xc3\x28", "a truncated sequence in the key"},
      {"", ""},
  };
  for (const auto& entry : cases) {
    const v1::Event event = EventWithContext({entry, {"after", "plain"}});
    EXPECT_EQ(ContextColumn(event), LibraryContextJson(event)) << entry.first;
  }
}

TEST(StoreRowsTest, ContextJsonKeepsARepeatedKeyOnceWithItsLastValue) {
  const v1::Event event = EventWithContext({{"a", "1"}, {"b", "2"}, {"a", "3"}});
  EXPECT_EQ(ContextColumn(event), R"({"a":"3","b":"2"})");
  EXPECT_EQ(ContextColumn(event), LibraryContextJson(event));
}

TEST(StoreRowsTest, ContextJsonOfNoContextAndOfManyEntries) {
  EXPECT_EQ(ContextColumn(EventWithContext({})), "{}");
  std::vector<std::pair<std::string, std::string>> many;
  for (int i = 0; i < 200; ++i) many.emplace_back("k" + std::to_string(i % 150), "v");
  const v1::Event event = EventWithContext(many);
  EXPECT_EQ(ContextColumn(event), LibraryContextJson(event));
}

TEST(StoreRowsTest, ContextJsonIsTheLibrarysFormForRandomBytes) {
  google::protobuf::LogSilencer quiet;  // protobuf logs each string that is not UTF-8
  std::mt19937 random(20261130);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> length(0, 12);
  std::uniform_int_distribution<int> entries(0, 6);
  // Mostly printable bytes, sometimes anything, and few distinct keys so
  // that repeated keys happen.
  auto text = [&](bool key) {
    std::string out;
    const int n = key ? 1 + length(random) % 2 : length(random);
    for (int i = 0; i < n; ++i) {
      const int b = byte(random);
      out.push_back(static_cast<char>(b < 200 ? 'a' + b % (key ? 3 : 26) : byte(random)));
    }
    return out;
  };
  for (int round = 0; round < 3000; ++round) {
    std::vector<std::pair<std::string, std::string>> context;
    for (int i = entries(random); i > 0; --i) context.emplace_back(text(true), text(false));
    const v1::Event event = EventWithContext(context);
    ASSERT_EQ(ContextColumn(event), LibraryContextJson(event)) << "round " << round;
  }
}

TEST(StoreRowsTest, ReusedColumnsHoldNothingOfTheEventBefore) {
  v1::Event big = EventWithContext({{"mount_point", "/var/spool/electronic-journal"}});
  big.mutable_impact()->add_unavailable(v1::CUSTOMER_SERVICE_WITHDRAWAL);
  big.mutable_impact()->add_unavailable(v1::CUSTOMER_SERVICE_DEPOSIT);
  big.mutable_impact()->add_degraded(v1::CUSTOMER_SERVICE_INQUIRY);
  big.set_summary(std::string(300, 's'));
  v1::Event small;
  small.set_seq(8);
  small.set_severity(v1::SEVERITY_INFO);
  small.set_kind(v1::ALERT_KIND_CONFIG_CHANGE);
  small.set_unit(static_cast<v1::Unit>(99));  // a value from a newer agent

  EventColumns reused;
  ASSERT_TRUE(FillColumns(big, "test.db", "atm-1", reused).ok());
  ASSERT_TRUE(FillColumns(small, "test.db", "atm-1", reused).ok());
  Result<EventColumns> fresh = ColumnsOf(small, "test.db", "atm-1");
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(reused.severity, fresh->severity);
  EXPECT_EQ(reused.kind, fresh->kind);
  EXPECT_EQ(reused.state, fresh->state);
  EXPECT_EQ(reused.unit, "unknown(99)");
  EXPECT_EQ(reused.unit, fresh->unit);
  EXPECT_EQ(reused.category, fresh->category);
  EXPECT_EQ(reused.impact_unavailable, "");
  EXPECT_EQ(reused.impact_degraded, "");
  EXPECT_EQ(reused.context_json, "{}");
  EXPECT_EQ(reused.payload, small.SerializeAsString());
  EXPECT_FALSE(reused.moves_alert);
}

}  // namespace
}  // namespace atmhealth::collector
