#include "platform/log_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>
#include <string>

namespace atmhealth::platform {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

TEST(EscapeControlCharactersTest, PrintableTextIsUnchanged) {
  EXPECT_EQ(EscapeControlCharacters("atm-0412 /var/spool/ej 91.5 % \"quoted\""),
            "atm-0412 /var/spool/ej 91.5 % \"quoted\"");
  EXPECT_EQ(EscapeControlCharacters("新宿支店 ATM"), "新宿支店 ATM");
}

TEST(EscapeControlCharactersTest, LineBreaksAndTerminalEscapesBecomeVisibleEscapes) {
  EXPECT_EQ(EscapeControlCharacters("a\nb\rc\td"), "a\\nb\\rc\\td");
  EXPECT_EQ(EscapeControlCharacters(std::string("nul\0esc\x1b[2Jdel\x7f", 15)),
            "nul\\x00esc\\x1b[2Jdel\\x7f");
  // A backslash is doubled, so "\\n" in a log line always was a backslash.
  EXPECT_EQ(EscapeControlCharacters("C:\\n"), "C:\\\\n");
}

TEST(EscapeControlCharactersTest, UnicodeLineBreaksAndBidiOverridesAreEscaped) {
  EXPECT_EQ(EscapeControlCharacters("a\xc2\x85z"), "a\\u0085z");      // NEL
  EXPECT_EQ(EscapeControlCharacters("a\xe2\x80\xa8z"), "a\\u2028z");  // LINE SEPARATOR
  EXPECT_EQ(EscapeControlCharacters("a\xe2\x80\xaez"), "a\\u202ez");  // RIGHT-TO-LEFT OVERRIDE
  EXPECT_EQ(EscapeControlCharacters("a\xe2\x81\xa6z"), "a\\u2066z");  // LEFT-TO-RIGHT ISOLATE
}

TEST(EscapeControlCharactersTest, BytesThatAreNotUtf8AreEscapedOneByOne) {
  EXPECT_EQ(EscapeControlCharacters("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(EscapeControlCharacters("\xc0\xaf"), "\\xc0\\xaf");           // overlong '/'
  EXPECT_EQ(EscapeControlCharacters("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate
  EXPECT_EQ(EscapeControlCharacters("cut\xe6\x96"), "cut\\xe6\\x96");     // truncated sequence
}

TEST(EscapeEveryLogMessageTest, PeerTextWithANewlineCannotStartAForgedLogLine) {
  std::ostringstream out;
  auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>(
      "atmhealth-test", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  spdlog::set_default_logger(logger);
  EscapeEveryLogMessage();
  const std::string device_id = "atm-1\n[2026-01-01 00:00:00.000] [atmhealth-test] [error] FORGED";
  spdlog::warn("device {} refused", device_id);
  spdlog::set_default_logger(previous);

  const std::string text = out.str();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  EXPECT_THAT(text, StartsWith("["));
  EXPECT_THAT(text, HasSubstr("[warning] device atm-1\\n[2026-01-01"));
  EXPECT_THAT(text, HasSubstr("FORGED refused\n"));
  EXPECT_THAT(text, Not(HasSubstr("\n[2026-01-01")));
}

}  // namespace
}  // namespace atmhealth::platform
