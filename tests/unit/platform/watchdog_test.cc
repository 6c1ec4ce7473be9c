// The watchdog with real threads: an io_context thread that runs it, and a
// sampler and a store thread (thread pools of one, as in the agent) that can
// be made to hang. The collector's, with its real store thread, is tested in
// tests/integration/collector_service_test.cc.
#include "platform/watchdog.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

namespace atmhealth::platform {
namespace {

using namespace std::chrono_literals;

constexpr std::chrono::milliseconds kPeriod{40};

class WatchdogTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    watchdog_.Watch("sampler", sampler_.get_executor());
    watchdog_.Watch("store", store_.get_executor());
    asio::co_spawn(io_, watchdog_.Run(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    io_.stop();
    thread_.join();
    sampler_.join();
    store_.join();
  }

  // Pings counted while `duration` passes.
  int PingsDuring(std::chrono::milliseconds duration) {
    const int before = pings_.load();
    std::this_thread::sleep_for(duration);
    return pings_.load() - before;
  }

  asio::thread_pool& Thread(const std::string& name) {
    return name == "sampler" ? sampler_ : store_;
  }

  std::atomic<int> pings_{0};
  asio::io_context io_;
  asio::thread_pool sampler_{1};
  asio::thread_pool store_{1};
  Watchdog watchdog_{io_.get_executor(), kPeriod, [this] { ++pings_; }};
  std::thread thread_;
};

TEST_P(WatchdogTest, StuckThreadStopsThePingsAndTheyResumeWhenItMovesOn) {
  EXPECT_GE(PingsDuring(10 * kPeriod), 5) << "every thread answers: pings every period";

  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  asio::post(Thread(GetParam()), [released] { released.wait(); });  // a hung probe or fsync
  // One period for the thread to miss its question, one for the watchdog to
  // see it (and one of slack for a loaded machine): then silence.
  std::this_thread::sleep_for(3 * kPeriod);
  EXPECT_EQ(PingsDuring(15 * kPeriod), 0) << "the " << GetParam() << " thread hangs";

  release.set_value();
  EXPECT_GE(PingsDuring(10 * kPeriod), 5) << "the " << GetParam() << " thread moved on";
}

INSTANTIATE_TEST_SUITE_P(SamplerAndStore, WatchdogTest, ::testing::Values("sampler", "store"));

// The collector's io_context returns from run() once its work is done: a
// watchdog still waiting for its next period would keep it running forever.
TEST(WatchdogStopTest, StopEndsRunSoTheIoContextReturns) {
  asio::io_context io;
  asio::thread_pool store{1};
  int pings = 0;
  Watchdog watchdog(io.get_executor(), std::chrono::hours(1), [&pings] { ++pings; });
  watchdog.Watch("store", store.get_executor());
  asio::co_spawn(io, watchdog.Run(), asio::detached);
  asio::steady_timer later(io, std::chrono::milliseconds(20));
  later.async_wait([&watchdog](const boost::system::error_code&) { watchdog.Stop(); });
  std::thread([&io] { io.run(); }).join();  // returns: nothing is left to run
  EXPECT_EQ(pings, 1);
  store.join();
}

}  // namespace
}  // namespace atmhealth::platform
