#include "platform/config_values.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace atmhealth::platform {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

TEST(ParseDuration, AcceptsEachUnit) {
  EXPECT_EQ(ParseDuration("250ms").value(), milliseconds(250));
  EXPECT_EQ(ParseDuration("30s").value(), milliseconds(30'000));
  EXPECT_EQ(ParseDuration("5m").value(), milliseconds(300'000));
  EXPECT_EQ(ParseDuration("2h").value(), milliseconds(7'200'000));
  EXPECT_EQ(ParseDuration("30d").value(), milliseconds(2'592'000'000));
  EXPECT_EQ(ParseDuration("0s").value(), milliseconds(0));
}

TEST(ParseDuration, RefusesWhatIsNotADuration) {
  for (const char* text : {"", "s", "30", "30 s", "-5s", "1.5s", "5w", "30S",
                           "99999999999999999999s", "9223372036854775807h"}) {
    SCOPED_TRACE(text);
    auto duration = ParseDuration(text);
    ASSERT_FALSE(duration.ok());
    EXPECT_EQ(duration.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_THAT(duration.error().message(), HasSubstr('"' + std::string(text) + '"'));
  }
  EXPECT_EQ(ParseDuration("5w").error().message(),
            R"("5w": unknown unit "w" (units ms, s, m, h, d))");
  EXPECT_EQ(ParseDuration("30").error().message(),
            R"("30" has no unit: write e.g. "30s" (units ms, s, m, h, d))");
}

TEST(ParseByteSize, AcceptsPowersOf1024AndPlainBytes) {
  EXPECT_EQ(ParseByteSize("1000").value(), 1000u);
  EXPECT_EQ(ParseByteSize("1000B").value(), 1000u);
  EXPECT_EQ(ParseByteSize("512KiB").value(), 512u * 1024);
  EXPECT_EQ(ParseByteSize("64MiB").value(), 64u * 1024 * 1024);
  EXPECT_EQ(ParseByteSize("1GiB").value(), 1024ull * 1024 * 1024);
  EXPECT_EQ(ParseByteSize("2TiB").value(), 2ull << 40);
}

TEST(ParseByteSize, RefusesDecimalUnitsAndOverflow) {
  EXPECT_EQ(ParseByteSize("64MB").error().message(),
            R"("64MB": unknown unit "MB" (units B, KiB, MiB, GiB, TiB; powers of 1024))");
  EXPECT_EQ(ParseByteSize("20000000TiB").error().message(), R"("20000000TiB" is too large)");
  EXPECT_FALSE(ParseByteSize("").ok());
  EXPECT_FALSE(ParseByteSize("MiB").ok());
  EXPECT_FALSE(ParseByteSize("-1").ok());
}

TEST(ParseHostPort, TakesHostNamesIpv4AndBracketedIpv6) {
  auto name = ParseHostPort("collector-a.bank.example:7411");
  ASSERT_TRUE(name.ok()) << name.error().message();
  EXPECT_EQ(name->host, "collector-a.bank.example");
  EXPECT_EQ(name->port, 7411);
  auto v4 = ParseHostPort("10.20.0.2:1");
  ASSERT_TRUE(v4.ok()) << v4.error().message();
  EXPECT_EQ(v4->host, "10.20.0.2");
  EXPECT_EQ(v4->port, 1);
  auto v6 = ParseHostPort("[2001:db8::7]:65535");
  ASSERT_TRUE(v6.ok()) << v6.error().message();
  EXPECT_EQ(v6->host, "2001:db8::7");
  EXPECT_EQ(v6->port, 65535);
}

TEST(ParseHostPort, PortZeroOnlyWhereAllowed) {
  EXPECT_EQ(ParseHostPort("collector-a:0").error().message(),
            R"("collector-a:0": the port must be a number 1..65535; write "host:port", e.g. )"
            R"("collector.example:7411")");
  auto any_port = ParseHostPort("0.0.0.0:0", PortZero::kAllowed);
  ASSERT_TRUE(any_port.ok()) << any_port.error().message();
  EXPECT_EQ(any_port->host, "0.0.0.0");
  EXPECT_EQ(any_port->port, 0);
  EXPECT_EQ(ParseHostPort("0.0.0.0:70000", PortZero::kAllowed).error().message(),
            R"("0.0.0.0:70000": the port must be a number 0..65535; write "host:port", e.g. )"
            R"("collector.example:7411")");
}

TEST(ParseHostPort, SaysWhichPartIsWrong) {
  struct Case {
    const char* text;
    HostPortFault fault;
  };
  for (const Case& c :
       {Case{"collector-a", HostPortFault::kNoPort}, Case{"[2001:db8::7]", HostPortFault::kNoPort},
        Case{"[2001:db8::7]7411", HostPortFault::kNoPort}, Case{":7411", HostPortFault::kBadHost},
        Case{"collector a:7411", HostPortFault::kBadHost},
        Case{"2001:db8::7:7411", HostPortFault::kBadHost}, Case{"[]:7411", HostPortFault::kBadHost},
        Case{"[collector-a]:7411", HostPortFault::kBadHost},
        Case{"collector-a:", HostPortFault::kBadPort},
        Case{"collector-a:70000", HostPortFault::kBadPort},
        Case{"collector-a:-1", HostPortFault::kBadPort},
        Case{"collector-a:74 11", HostPortFault::kBadPort},
        Case{"collector-a:http", HostPortFault::kBadPort}}) {
    SCOPED_TRACE(c.text);
    // Anything but the expected fault, to see that it is set.
    HostPortFault fault =
        c.fault == HostPortFault::kNoPort ? HostPortFault::kBadPort : HostPortFault::kNoPort;
    auto endpoint = ParseHostPort(c.text, PortZero::kRefused, &fault);
    ASSERT_FALSE(endpoint.ok());
    EXPECT_EQ(endpoint.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_THAT(endpoint.error().message(), HasSubstr('"' + std::string(c.text) + "\": "));
    EXPECT_EQ(fault, c.fault);
  }
  EXPECT_EQ(ParseHostPort("collector-a").error().message(),
            R"("collector-a": no port; write "host:port", e.g. "collector.example:7411")");
}

}  // namespace
}  // namespace atmhealth::platform
