// Runs the CollectorStore on a thread of its own and lets sessions co_await
// its calls, so that a slow fsync never stalls the network threads. Every
// store call happens on that one thread, which is what CollectorStore's "not
// thread-safe" contract asks for; calls run in the order they were made.
#ifndef ATMHEALTH_COLLECTOR_INGEST_STORE_EXECUTOR_H_
#define ATMHEALTH_COLLECTOR_INGEST_STORE_EXECUTOR_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "atmhealth/v1/session.pb.h"
#include "collector/store/collector_store.h"
#include "platform/asio.h"
#include "platform/status.h"

namespace atmhealth::collector {

class StoreExecutor {
 public:
  explicit StoreExecutor(std::unique_ptr<CollectorStore> store);
  // Runs the calls already queued, then joins the store thread.
  ~StoreExecutor();
  StoreExecutor(const StoreExecutor&) = delete;
  StoreExecutor& operator=(const StoreExecutor&) = delete;

  // The CollectorStore calls, run on the store thread. The calling coroutine
  // resumes on its own executor (its session's strand) with the result, or
  // with an Error(kTimeout) once `timeout` passed: a disk that hangs must not
  // hold a session forever. A call that timed out still runs to its end on
  // the store thread and its result is dropped, so events it stored are
  // stored but never acknowledged (the agent sends them again; the store
  // keeps them once).
  asio::awaitable<Result<std::uint64_t>> RecordHello(v1::Hello hello, std::string peer,
                                                     std::int64_t now_unix_ns,
                                                     std::chrono::milliseconds timeout);
  asio::awaitable<Result<std::uint64_t>> StoreEvents(std::string device_id,
                                                     std::vector<v1::Event> events,
                                                     std::int64_t now_unix_ns,
                                                     std::chrono::milliseconds timeout);
  asio::awaitable<Status> RecordHeartbeat(std::string device_id, v1::Heartbeat heartbeat,
                                          std::int64_t now_unix_ns,
                                          std::chrono::milliseconds timeout);

  // Waits until every queued call ran, then ends the store thread. Later
  // calls are never run. Call it after the sessions ended; idempotent.
  void Join();

 private:
  // Runs `work(store)` on the store thread and completes the awaiting
  // coroutine on its own executor with the result, or with a timeout error
  // when `timeout` passes first. `work` must own what it uses: after a
  // timeout the caller's frame may be gone while `work` still runs. The
  // caller's executor is kept busy (outstanding work) until the store
  // returned, so its io_context does not run out of work meanwhile.
  template <typename R, typename Work>
  asio::awaitable<R> Call(Work work, std::chrono::milliseconds timeout);

  std::unique_ptr<CollectorStore> store_;  // used on the store thread only
  asio::thread_pool thread_{1};
};

template <typename R, typename Work>
asio::awaitable<R> StoreExecutor::Call(Work work, std::chrono::milliseconds timeout) {
  auto initiate = [this, timeout](auto handler, Work queued) {
    using Handler = decltype(handler);
    // Whichever comes first, the store's result or the deadline, completes
    // the handler; both run on the caller's executor, so they never race.
    struct Pending {
      Pending(Handler h, const asio::any_io_executor& executor)
          : handler(std::move(h)), deadline(executor) {}
      void Complete(R result) {
        if (!handler) return;
        Handler resume = std::move(*handler);
        handler.reset();
        deadline.cancel();
        std::move(resume)(std::move(result));
      }
      std::optional<Handler> handler;
      asio::steady_timer deadline;
    };
    const asio::any_io_executor resume_on = asio::get_associated_executor(handler);
    auto pending = std::make_shared<Pending>(std::move(handler), resume_on);
    pending->deadline.expires_after(timeout);
    pending->deadline.async_wait([pending, timeout](const boost::system::error_code& ec) {
      if (ec) return;  // cancelled: the store answered in time
      pending->Complete(R(Error(ErrorCode::kTimeout, "the store did not answer within " +
                                                         std::to_string(timeout.count()) + " ms")));
    });
    asio::post(thread_, [this, queued = std::move(queued), pending,
                         busy = asio::prefer(resume_on,
                                             asio::execution::outstanding_work.tracked)]() mutable {
      R result = queued(*store_);
      asio::post(busy, [pending, result = std::move(result)]() mutable {
        pending->Complete(std::move(result));
      });
    });
  };
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(R)>(
      std::move(initiate), asio::use_awaitable, std::move(work));
}

}  // namespace atmhealth::collector

#endif  // ATMHEALTH_COLLECTOR_INGEST_STORE_EXECUTOR_H_
