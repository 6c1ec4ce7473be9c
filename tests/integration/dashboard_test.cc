// The operations dashboard in a real browser: headless Chromium loads the
// page from a real collector, the operator enters a token, and a real agent's
// storage alert fires and resolves while the page stays open. The page must
// follow both over the event stream alone (one snapshot, no reload).
// Screenshots are kept in <build>/test-artifacts/.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/integration/fleet_support.h"
#include "tests/integration/harness.h"
#include "tests/support/headless_chromium.h"
#include "tests/support/test_paths.h"
#include "tests/support/tmpfs.h"

namespace atmhealth::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

constexpr std::size_t kMiB = 1024 * 1024;
constexpr char kDevice[] = "atm-dash-01";

class DashboardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (HeadlessChromium::Find().empty()) {
      GTEST_SKIP() << "chromium is not installed: the dashboard cannot be tested in a browser "
                      "(scripts/install-deps.sh installs Debian's chromium package)";
    }
  }

  void TearDown() override {
    if (HasFailure()) PrintLogs(scratch_.path());
  }

  // The value of `expression` in the page, as text ("" when it throws).
  std::string Text(HeadlessChromium& browser, const std::string& expression) {
    Result<json> value = browser.Evaluate(expression);
    if (!value) return "";
    return value->is_string() ? value->get<std::string>() : value->dump();
  }

  bool WaitForText(HeadlessChromium& browser, const std::string& expression,
                   const std::string& expected, seconds timeout = seconds(20)) {
    const bool seen = WaitFor([&] { return Text(browser, expression) == expected; }, timeout);
    if (!seen) {
      ADD_FAILURE() << expression << " is \"" << Text(browser, expression) << "\", not \""
                    << expected << "\"; page:\n"
                    << Text(browser, "document.querySelector('main').innerText");
    }
    return seen;
  }

  ScratchDir scratch_;
};

TEST_F(DashboardTest, PageFollowsAnAgentsAlertFiringAndResolvingLive) {
  TmpfsMount fs(scratch_ / "fs", "size=4m");
  ASSERT_TRUE(fs.mounted());
  CollectorProcess collector(scratch_ / "collector", scratch_ / "collector" / "collector.db", 0,
                             "[listen]\nplaintext = true\n\n" + FleetConfigToml() +
                                 "[fleet]\nevaluate_interval = \"200ms\"\n");
  ASSERT_NE(collector.http_port(), 0);
  AgentOptions options;
  options.device_id = kDevice;
  options.site_id = "branch-ginza";
  options.collector_port = collector.agent_port();
  options.watched = fs.path();
  options.store = scratch_ / "agent.events.db";
  options.heartbeat_interval = "300ms";
  AgentProcess agent(scratch_ / "agent", options);

  HeadlessChromium browser(scratch_ / "browser", 1600, 1000);
  ASSERT_TRUE(browser.ok()) << browser.error();
  const std::string url = fmt::format("http://127.0.0.1:{}/", collector.http_port());
  ASSERT_TRUE(browser.Navigate(url).ok());
  EXPECT_EQ(Text(browser, "location.pathname"), "/dashboard/");

  // No token yet: the page asks for one. A wrong one is refused by the
  // collector and the page says so.
  ASSERT_TRUE(WaitForText(browser, "document.querySelector('#connection').dataset.state", "login"));
  EXPECT_EQ(Text(browser, "document.querySelector('#login-dialog').open"), "true");
  const auto submit = [&](const std::string& token) {
    return browser
        .Evaluate(fmt::format("document.querySelector('#token').value = {};"
                              "document.querySelector('#login').requestSubmit(); true",
                              json(token).dump()))
        .ok();
  };
  ASSERT_TRUE(submit("not-a-token"));
  ASSERT_TRUE(WaitForText(browser, "document.querySelector('#login-error').hidden", "false"));
  EXPECT_NE(Text(browser, "document.querySelector('#login-error').textContent").find("token"),
            std::string::npos);
  EXPECT_EQ(Text(browser, "sessionStorage.length"), "0");

  ASSERT_TRUE(submit(kReadToken));
  ASSERT_TRUE(WaitForText(browser, "document.querySelector('#connection').dataset.state", "live"));
  const std::string row =
      fmt::format("document.querySelector('#devices tr[data-device-id=\"{}\"]')", kDevice);
  ASSERT_TRUE(WaitForText(browser, row + "?.dataset.state", "in_service"));
  EXPECT_EQ(Text(browser, "document.querySelector('[data-count=\"in_service\"]').textContent"),
            "1");
  EXPECT_EQ(Text(browser, "document.querySelector('#incidents tbody').children.length"), "0");
  EXPECT_EQ(Text(browser, "document.body.dataset.snapshots"), "1");

  // The disk fills: the agent's critical storage alert takes withdrawal and
  // deposit away, an incident opens.
  ASSERT_GE(FillFile(fs / "journal.dat", 4 * kMiB * 95 / 100), 4 * kMiB * 85 / 100);
  ASSERT_TRUE(WaitForText(browser, row + "?.dataset.state", "out_of_service"));
  EXPECT_NE(Text(browser, row + ".innerText").find("withdrawal"), std::string::npos);
  ASSERT_TRUE(
      WaitForText(browser, "document.querySelector('#incidents tbody').children.length", "1"));
  EXPECT_NE(Text(browser, "document.querySelector('#incidents tbody tr').innerText")
                .find("daily_operation_storage"),
            std::string::npos);
  EXPECT_NE(Text(browser, "document.querySelector('#incidents .bar')?.dataset.level"), "");
  EXPECT_EQ(Text(browser, "document.querySelector('[data-count=\"out_of_service\"]').textContent"),
            "1");
  EXPECT_TRUE(WaitForText(browser,
                          "document.querySelector('#categories tr[data-category="
                          "\"daily_operation_storage\"] td:nth-child(2)')?.textContent",
                          "1"));
  EXPECT_NE(Text(browser, "document.querySelector('#log').innerText").find("firing"),
            std::string::npos);
  // Availability by site: the device's site with withdrawal lost.
  EXPECT_TRUE(WaitFor(
      [&] {
        return Text(browser,
                    "document.querySelector('#sites tr[data-site-id=\"branch-ginza\"]')?.innerText")
                   .find("withdrawal 0/1") != std::string::npos;
      },
      seconds(10)))
      << Text(browser, "document.querySelector('#sites').innerText");
  // The device's detail: its alert history with the alert's diagnostic
  // context.
  ASSERT_TRUE(browser.Evaluate(row + ".click(); true").ok());
  ASSERT_TRUE(WaitForText(
      browser,
      "String(document.querySelectorAll('#detail tr[data-alert-state=\"firing\"]').length > 0)",
      "true"));
  EXPECT_EQ(Text(browser, "document.querySelector('#detail-id').textContent"), kDevice);
  EXPECT_NE(Text(browser, "document.querySelector('#detail').innerText").find(fs.path().string()),
            std::string::npos);
  EXPECT_EQ(Text(browser, "document.body.dataset.snapshots"), "1") << "the page reloaded";
  ASSERT_TRUE(browser.Screenshot(Binary("test-artifacts/dashboard-alert-firing.png")).ok());

  // Room again: the alert resolves, the device is back, the incident closes.
  std::filesystem::remove(fs / "journal.dat");
  ASSERT_TRUE(WaitForText(browser, row + "?.dataset.state", "in_service"));
  ASSERT_TRUE(
      WaitForText(browser, "document.querySelector('#incidents tbody').children.length", "0"));
  EXPECT_EQ(Text(browser, "document.querySelector('#no-incidents').hidden"), "false");
  EXPECT_EQ(Text(browser, "document.querySelector('[data-count=\"in_service\"]').textContent"),
            "1");
  EXPECT_NE(Text(browser, "document.querySelector('#log').innerText").find("resolved"),
            std::string::npos);
  EXPECT_TRUE(WaitForText(
      browser,
      "String(document.querySelectorAll('#detail tr[data-alert-state=\"resolved\"]').length > 0)",
      "true"));
  EXPECT_TRUE(WaitForText(browser,
                          "document.querySelector('#categories tr[data-category="
                          "\"daily_operation_storage\"] td:nth-child(3)')?.textContent",
                          "1"));
  EXPECT_TRUE(WaitFor(
      [&] {
        return Text(browser,
                    "document.querySelector('#sites tr[data-site-id=\"branch-ginza\"]')?.innerText")
                   .find("withdrawal 1/1") != std::string::npos;
      },
      seconds(10)));
  EXPECT_EQ(Text(browser, "document.body.dataset.snapshots"), "1") << "the page reloaded";
  EXPECT_GT(std::stoi(Text(browser, "document.body.dataset.events")), 4);
  const std::filesystem::path resolved = Binary("test-artifacts/dashboard-alert-resolved.png");
  ASSERT_TRUE(browser.Screenshot(resolved).ok());
  EXPECT_EQ(ReadFile(resolved).substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));

  // The token went in a header: never in a URL the collector logged.
  EXPECT_EQ(collector.process().Log().find(kReadToken), std::string::npos);
  EXPECT_EQ(agent.process().Stop(), 0);
  EXPECT_EQ(collector.process().Stop(), 0);
}

}  // namespace
}  // namespace atmhealth::testing
