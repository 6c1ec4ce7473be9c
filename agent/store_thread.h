// Runs the agent's EventStore on a thread of its own, so that a slow fsync on
// a filling disk never stalls the uplink or the samplers, and gives the other
// stages awaitable access to it. Every store call happens on that one thread,
// which is what EventStore's "not thread-safe" contract asks for.
#ifndef ATMHEALTH_AGENT_STORE_THREAD_H_
#define ATMHEALTH_AGENT_STORE_THREAD_H_

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <vector>

#include "agent/store/event_store.h"
#include "platform/asio.h"

namespace atmhealth::agent {

class StoreThread {
 public:
  explicit StoreThread(std::unique_ptr<EventStore> store);
  ~StoreThread();  // joins the thread after the queued work ran
  StoreThread(const StoreThread&) = delete;
  StoreThread& operator=(const StoreThread&) = delete;

  // Runs `work` on the store thread; the calling coroutine resumes on its own
  // executor with the result. GCC 12 destroys a lambda temporary inside a
  // co_await expression twice: a `work` that captures anything with a
  // destructor (a string, a vector) must be a named variable, std::move'd in.
  template <typename Work>
  auto Run(Work work) -> asio::awaitable<decltype(work(std::declval<EventStore&>()))> {
    using R = decltype(work(std::declval<EventStore&>()));
    // A named local, not a temporary in the co_await expression, for the
    // GCC 12 bug above: as a temporary it freed `work`'s captures twice.
    // co_spawn's result must be default-constructible; Result<T> is not.
    auto on_store_thread = [this,
                            work = std::move(work)]() mutable -> asio::awaitable<std::optional<R>> {
      co_return work(*store_);
    };
    std::optional<R> result = co_await asio::co_spawn(
        pool_.get_executor(), std::move(on_store_thread), asio::use_awaitable);
    co_return std::move(*result);
  }

  // Queues events for the next group commit, which runs `commit_delay` after
  // the first of them at the latest; `on_commit` is then called on the store
  // thread with the result. Safe to call from any thread.
  void Append(std::vector<v1::Event> events);
  // As Append, from a coroutine: resumes once `events` are queued, with the
  // sequence of the last of them (0 for none). For a drill, which waits for
  // that sequence's acknowledgement.
  asio::awaitable<std::uint64_t> AppendAndSequence(std::vector<v1::Event> events);

  // Runs `work` on the store thread and blocks the caller until it is done.
  // For start-up, shutdown and tests, never from the store thread itself.
  template <typename Work>
  auto RunNow(Work work) -> decltype(work(std::declval<EventStore&>())) {
    using R = decltype(work(std::declval<EventStore&>()));
    std::packaged_task<R()> task([this, &work] { return work(*store_); });
    auto result = task.get_future();
    asio::post(pool_, [&task] { task(); });
    return result.get();
  }

  // Commits whatever is queued now, on the store thread, and waits for it.
  Status CommitNow();

  // Called on the store thread after every commit attempt.
  void set_on_commit(std::function<void(const Status&, const EventStoreStats&)> on_commit);
  void set_commit_delay(std::chrono::milliseconds delay) { commit_delay_ = delay; }

  // The store thread's executor, for proving it alive (platform/watchdog.h).
  asio::any_io_executor executor() { return pool_.get_executor(); }

 private:
  Status CommitOnStoreThread();
  // Queues `events` and schedules the group commit; returns the last seq.
  std::uint64_t AppendOnStoreThread(std::vector<v1::Event>& events);

  std::unique_ptr<EventStore> store_;
  asio::thread_pool pool_{1};
  asio::steady_timer commit_timer_{pool_.get_executor()};
  bool commit_scheduled_ = false;  // store thread only
  bool stopping_ = false;          // store thread only: arm no more timers
  std::chrono::milliseconds commit_delay_{200};
  std::function<void(const Status&, const EventStoreStats&)> on_commit_;
};

// The throughput baseline of the store for the sampling thread: each call
// runs on the store thread and waits for it (once an hour, and at start).
class StoreThreadBaseline final : public ThroughputBaselineStore {
 public:
  explicit StoreThreadBaseline(StoreThread& store) : store_(store) {}
  Result<std::vector<BaselineHour>> LoadThroughputBaseline() override {
    return store_.RunNow([](EventStore& store) { return store.LoadThroughputBaseline(); });
  }
  Status SaveThroughputBaselineHour(const BaselineHour& hour) override {
    return store_.RunNow(
        [hour](EventStore& store) { return store.SaveThroughputBaselineHour(hour); });
  }

 private:
  StoreThread& store_;
};

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_STORE_THREAD_H_
