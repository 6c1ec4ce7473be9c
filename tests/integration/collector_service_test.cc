// atmhealth-collector under a service manager, seen the way systemd sees
// it: the notify protocol's datagrams on the Unix socket NOTIFY_SOCKET names,
// with WATCHDOG_USEC asking for watchdog pings. The collector is the real
// one with a store slowed on purpose, so its store thread can be made to
// hang for a while by one agent's Hello.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/harness.h"
#include "tests/support/agent_client.h"
#include "tests/support/process.h"
#include "tests/support/test_paths.h"

namespace atmhealth::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

// The service manager's end of the notify protocol.
class NotifySocket {
 public:
  explicit NotifySocket(const std::filesystem::path& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    bound_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~NotifySocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool bound() const { return bound_; }

  // The datagrams that arrive while `duration` passes.
  std::vector<std::string> Receive(std::chrono::milliseconds duration) {
    std::vector<std::string> messages;
    const auto end = std::chrono::steady_clock::now() + duration;
    for (auto now = std::chrono::steady_clock::now(); now < end;
         now = std::chrono::steady_clock::now()) {
      pollfd wait{fd_, POLLIN, 0};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - now);
      if (::poll(&wait, 1, static_cast<int>(left.count()) + 1) <= 0) continue;
      char buffer[4096];
      const ssize_t got = ::recv(fd_, buffer, sizeof buffer, 0);
      if (got > 0) messages.emplace_back(buffer, static_cast<std::size_t>(got));
    }
    return messages;
  }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  bool bound_ = false;
};

int Pings(const std::vector<std::string>& messages) {
  return static_cast<int>(std::count_if(messages.begin(), messages.end(), [](const auto& m) {
    return m.find("WATCHDOG=1") != std::string::npos;
  }));
}

// The watchdog period is half of WATCHDOG_USEC.
constexpr std::chrono::milliseconds kPeriod{150};
// Each store call of the slowed collector takes this long: the store thread
// is "stuck" for that time in one call.
constexpr std::chrono::milliseconds kStoreCall{3000};

TEST(CollectorServiceTest, ReadyOnceListeningAndWatchdogSilentWhileTheStoreThreadIsStuck) {
  ScratchDir scratch;
  NotifySocket manager(scratch / "notify.sock");
  ASSERT_TRUE(manager.bound());
  ::setenv("NOTIFY_SOCKET", (scratch / "notify.sock").c_str(), 1);
  ::setenv("WATCHDOG_USEC", std::to_string(2 * kPeriod.count() * 1000).c_str(), 1);
  // Returns once the ready file names both ports.
  auto collector = CollectorProcess::SlowStore(
      scratch / "collector", scratch / "collector.db",
      std::chrono::duration_cast<std::chrono::microseconds>(kStoreCall), "timeout = \"10s\"");
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  ASSERT_NE(collector->agent_port(), 0);

  // READY=1 came, and pings every period while every thread answers.
  std::vector<std::string> first = manager.Receive(10 * kPeriod);
  ASSERT_FALSE(first.empty()) << collector->process().Log();
  EXPECT_THAT(first.front(), HasSubstr("READY=1"));
  EXPECT_THAT(first.front(),
              HasSubstr("STATUS=agents on port " + std::to_string(collector->agent_port())));
  EXPECT_GE(Pings(first), 5);

  // An agent's Hello: the store thread is in one call for kStoreCall.
  auto agent = AgentClient::Connect(collector->agent_port());
  ASSERT_TRUE(agent.ok()) << agent.error().message();
  ASSERT_TRUE((*agent)->Send(HelloMessage(SampleHello("atm-0412"))).ok());
  const auto stuck_since = std::chrono::steady_clock::now();
  auto reply = (*agent)->ReadAsync(kStoreCall + 5s);
  // One period for the store thread to miss its question, one for the
  // watchdog to see it, one of slack for a loaded machine: then silence.
  manager.Receive(3 * kPeriod);
  EXPECT_EQ(Pings(manager.Receive(kStoreCall - 5 * kPeriod)), 0)
      << "the store thread hangs in a store call";

  // The call ends, the store thread answers, the pings come back.
  std::this_thread::sleep_until(stuck_since + kStoreCall);
  reply.wait();  // a Welcome, or a Refusal if the Hello gave up waiting
  EXPECT_GE(Pings(manager.Receive(10 * kPeriod)), 5) << "the store thread moved on";
  EXPECT_THAT(collector->process().Log(), HasSubstr("watchdog: threads not answering: store for"));
  EXPECT_THAT(collector->process().Log(), HasSubstr("watchdog: every thread answers again"));
  EXPECT_EQ(collector->process().Stop(), 0);
}

}  // namespace
}  // namespace atmhealth::testing
