// Runs the CollectorStore on a thread of its own and lets sessions co_await
// its calls, so that a slow fsync never stalls the network threads. Every
// store call happens on that one thread, which is what CollectorStore's "not
// thread-safe" contract asks for; calls run in the order they were made
// (heartbeats, coalesced, after the calls of their group).
//
// Group commit: the calls of all sessions that queued up while the store
// thread was busy run together in one group (CollectorStore::BeginGroup ..
// CommitGroup), one fsync for all of them, and each caller resumes only once
// the group's commit is durable, so an Ack never runs ahead of the disk. A
// call arriving while the store thread is idle runs at once, alone: there
// is no fixed delay waiting for a group to fill. A group holds at most
// Options::max_group_events events of its queued calls (a Hello counts
// one), and the heartbeats waiting besides.
//
// Heartbeats are coalesced, not queued: the executor keeps the latest
// heartbeat of each device that waits for the store (one per device, so at
// most one per session, bounded by listen.max_sessions), and every group
// writes those waiting when it starts, after its queued calls. A newer
// heartbeat of a device replaces the one still waiting (counted in
// heartbeats_coalesced_total) and the callers of both are answered with the
// result of the one written, once its group committed. So an idle fleet
// costs the store one heartbeat per device per commit, whatever the rate,
// and heartbeats never fill the queue nor are refused for it.
//
// Back-pressure: the queue of calls waiting for the store thread is bounded
// (Options::max_queued_calls). A call made while it is full fails at once
// with kUnavailable instead of waiting behind the others. A new session asks
// AdmitSession() first: it is turned away (the agent gets REASON_OVERLOADED
// with a retry hint) while the calls ahead of it would take longer than the
// session may wait, or fill half the queue, so the sessions already open
// keep the store for their batches and heartbeats. Ahead of it are the calls
// queued, those of the group running now, and one for every session
// admitted that has not made its first call after its Hello yet: an agent
// sends its heartbeat and backlog as soon as it has its Welcome, and a burst
// of Hellos let in while the queue looked short turned into a burst of
// batches that overflowed it. How long calls take is learnt from the groups that ran
// (GroupCommitCost: a fixed part per commit, a part per call); the
// heartbeats waiting add their part per call to that time, but take no
// place in the queue. A call (or heartbeat) whose
// caller gave up (its timeout passed) is skipped when the store thread
// reaches it, never run late behind the others.
#ifndef ATMHEALTH_COLLECTOR_INGEST_STORE_EXECUTOR_H_
#define ATMHEALTH_COLLECTOR_INGEST_STORE_EXECUTOR_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "atmhealth/v1/session.pb.h"
#include "collector/ingest/group_commit_cost.h"
#include "collector/ingest/ingest_metrics.h"
#include "collector/store/collector_store.h"
#include "platform/asio.h"
#include "platform/status.h"

namespace atmhealth::collector {

class StoreExecutor {
 public:
  struct Options {
    // Calls waiting for the store thread at most; memory is bounded by about
    // this many batches.
    std::size_t max_queued_calls = 1000;
    // A call running longer than this makes WriteHealth() fail: a disk that
    // hangs is as unwritable as a full one.
    std::chrono::milliseconds stalled_after{5000};
    // Events stored in one group commit at most (a single larger batch
    // still runs, alone); bounds the transaction and its write-ahead log.
    std::size_t max_group_events = 10'000;
  };

  // An admitted session's next call, counted ahead of new sessions until
  // the session makes it (Release() just before its first call after the
  // Hello) or ends. Move-only; the executor must outlive it.
  class StartingSession {
   public:
    StartingSession() = default;
    StartingSession(StartingSession&& other) noexcept
        : executor_(std::exchange(other.executor_, nullptr)) {}
    StartingSession& operator=(StartingSession&& other) noexcept {
      if (this != &other) {
        Release();
        executor_ = std::exchange(other.executor_, nullptr);
      }
      return *this;
    }
    StartingSession(const StartingSession&) = delete;
    StartingSession& operator=(const StartingSession&) = delete;
    ~StartingSession() { Release(); }
    void Release() {
      if (executor_ != nullptr) --std::exchange(executor_, nullptr)->starting_;
    }

   private:
    friend class StoreExecutor;
    explicit StartingSession(StoreExecutor* executor) : executor_(executor) {}
    StoreExecutor* executor_ = nullptr;
  };

  // What AdmitSession() decided.
  struct Admission {
    bool admitted = true;
    // When admitted: held by the session until its first call after Hello.
    StartingSession starting;
    // When admitted is false: how long the agent should wait before it
    // tries again, milliseconds. Each refused session gets a later time slot
    // of the store, so a fleet turned away together comes back spread out.
    std::chrono::milliseconds retry_after{0};
    std::string reason;  // one line for the log, when refused
  };

  // `metrics` (may be null) receives the queue depth, the store latency and
  // the calls skipped; it must outlive the executor.
  StoreExecutor(std::unique_ptr<CollectorStore> store, Options options, IngestMetrics* metrics);
  // Default options, no metrics.
  explicit StoreExecutor(std::unique_ptr<CollectorStore> store);
  // Runs the calls already queued, then joins the store thread.
  ~StoreExecutor();
  StoreExecutor(const StoreExecutor&) = delete;
  StoreExecutor& operator=(const StoreExecutor&) = delete;

  // The CollectorStore calls, run on the store thread. The calling coroutine
  // resumes on its own executor (its session's strand) with the result, or
  // with an Error(kTimeout) once `timeout` passed: a disk that hangs must not
  // hold a session forever, or with Error(kUnavailable) at once when the
  // queue is full (never for a heartbeat: it is coalesced, see above). A call that timed out before
  // the store thread reached it is skipped; one that was already running runs to its end and its
  // result is dropped, so events it stored are stored but never acknowledged (the agent sends them
  // again; the store keeps them once).
  asio::awaitable<Result<std::uint64_t>> RecordHello(v1::Hello hello, std::string peer,
                                                     std::int64_t now_unix_ns,
                                                     std::chrono::milliseconds timeout);
  asio::awaitable<Result<StoredBatch>> StoreEvents(std::string device_id, std::string buffer_id,
                                                   std::vector<v1::Event> events,
                                                   std::int64_t now_unix_ns,
                                                   std::chrono::milliseconds timeout);
  asio::awaitable<Status> RecordHeartbeat(std::string device_id, v1::Heartbeat heartbeat,
                                          std::int64_t now_unix_ns,
                                          std::chrono::milliseconds timeout);

  // Whether a new session may start now, given that its Hello may wait at
  // most `wait` for the store. Thread-safe.
  Admission AdmitSession(std::chrono::milliseconds wait);

  // When a session that the store failed should come back, milliseconds:
  // the time the queued calls take, at least one second. Thread-safe.
  std::chrono::milliseconds RetryHint() const;

  // OK while the store writes; the error of the last write call when it
  // failed (disk full, I/O error) and no write succeeded since, or a stall
  // when the running call has taken longer than stalled_after. Thread-safe.
  Status WriteHealth() const;

  // Calls waiting for the store thread now. Thread-safe.
  std::size_t queued_calls() const { return queued_.load(); }
  // Devices whose heartbeat waits for the next group now. Thread-safe.
  std::size_t pending_heartbeats() const;

  // The store thread's executor, for proving it alive (platform/watchdog.h).
  asio::any_io_executor executor() { return thread_.get_executor(); }

  // Waits until every queued call ran, then ends the store thread. Later
  // calls are never run. Call it after the sessions ended; idempotent.
  void Join();

 private:
  // A call waiting for the store thread, its result type erased.
  class QueuedCall {
   public:
    explicit QueuedCall(std::size_t events) : events_(events) {}
    virtual ~QueuedCall() = default;
    // Its caller was already answered with the timeout: skip it.
    virtual bool Abandoned() const = 0;
    // Runs it on the store thread inside the open group and keeps its
    // result; returns the result's status.
    virtual Status Run(CollectorStore& store) = 0;
    // Replaces a successful result with the group's failure: its work was
    // not made durable.
    virtual void Fail(const Error& error) = 0;
    // Hands the result to the caller on the caller's executor.
    virtual void Complete() = 0;
    std::size_t events() const { return events_; }

   private:
    std::size_t events_;
  };
  template <typename R, typename Work, typename Pending, typename Busy>
  class TypedCall;

  // A caller of RecordHeartbeat waiting for the heartbeat of its device
  // that the next group writes (its own, or a newer one).
  class HeartbeatWaiter {
   public:
    virtual ~HeartbeatWaiter() = default;
    // Its caller was already answered with the timeout.
    virtual bool Abandoned() const = 0;
    // Hands `result` to the caller on the caller's executor.
    virtual void Complete(Status result) = 0;
  };
  template <typename Pending, typename Busy>
  class TypedHeartbeatWaiter;

  // The latest heartbeat of a device, waiting for the next group, and every
  // caller it answers.
  struct PendingHeartbeat {
    v1::Heartbeat heartbeat;
    std::int64_t now_unix_ns = 0;
    std::vector<std::unique_ptr<HeartbeatWaiter>> waiters;
  };

  // Awaits a store result: `submit(pending, busy)` hands the caller's
  // completion on to the store thread, or returns the error it is refused
  // with at once. The coroutine resumes on its own executor with the result,
  // or with a timeout error when `timeout` passes first; `pending->abandoned`
  // then tells the store thread to skip it. `busy` keeps the caller's
  // executor from running out of work until the store answered.
  template <typename R, typename Submit>
  asio::awaitable<R> Await(Submit submit, std::chrono::milliseconds timeout);

  // Runs `work(store)` on the store thread in the next group and completes
  // the awaiting coroutine on its own executor with the result once the
  // group committed, or with a timeout error when `timeout` passes first.
  // `work` must own what it uses: after a timeout the caller's frame may be
  // gone while `work` still runs. The caller's executor is kept busy
  // (outstanding work) until the store returned, so its io_context does not
  // run out of work meanwhile. `events` is the call's weight in a group.
  template <typename R, typename Work>
  asio::awaitable<R> Call(Work work, std::size_t events, std::chrono::milliseconds timeout);

  // Queues a call and makes sure a drain of the queue is on its way.
  void Enqueue(std::unique_ptr<QueuedCall> call);
  // Makes `heartbeat` the one of `device_id` the next group writes, with
  // `waiter` among those it answers, and makes sure a drain is on its way.
  void Coalesce(std::string device_id, v1::Heartbeat heartbeat, std::int64_t now_unix_ns,
                std::unique_ptr<HeartbeatWaiter> waiter);
  // Posts a Drain unless one is queued or running. Needs mutex_.
  void PostDrainLocked();
  // On the store thread: runs the calls queued now as one group, completes
  // them after its commit, and posts itself again while calls are left.
  void Drain();

  // Bookkeeping of the store thread around one group.
  void Dequeued(bool skipped);
  // `disk`: what the group told about the disk, if anything.
  void Finished(std::chrono::steady_clock::duration took, std::size_t calls,
                const std::optional<Status>& disk);
  // Calls ahead of a new session: queued, in the group running now, and
  // the next one of each session still starting.
  std::size_t CallsAhead() const {
    return queued_.load() + running_calls_.load() + starting_.load();
  }
  // How long the store takes for `calls` calls, by what its groups cost.
  // Needs mutex_.
  std::chrono::nanoseconds EstimatedWaitLocked(std::size_t calls) const;

  std::unique_ptr<CollectorStore> store_;  // used on the store thread only
  const Options options_;
  IngestMetrics* const metrics_;
  std::atomic<std::size_t> queued_{0};
  // Calls of the group running now; 0 when none runs.
  std::atomic<std::size_t> running_calls_{0};
  // Sessions admitted that have not made their first call after Hello.
  std::atomic<std::size_t> starting_{0};
  // When the running group started (steady clock, nanoseconds); 0 when none runs.
  std::atomic<std::int64_t> running_since_ns_{0};

  mutable std::mutex mutex_;  // guards the members below
  std::optional<std::string> write_failure_;
  GroupCommitCost cost_;  // learnt from the groups that ran
  // The next time slot handed to a refused session as its retry hint.
  std::chrono::steady_clock::time_point next_retry_slot_{};
  std::deque<std::unique_ptr<QueuedCall>> calls_;  // waiting for the next group
  // The latest heartbeat of each device, waiting for the next group.
  std::map<std::string, PendingHeartbeat, std::less<>> heartbeats_;
  bool drain_posted_ = false;  // a Drain is queued or running

  asio::thread_pool thread_{1};
};

template <typename R, typename Work, typename Pending, typename Busy>
class StoreExecutor::TypedCall final : public QueuedCall {
 public:
  TypedCall(Work work, std::size_t events, std::shared_ptr<Pending> pending, Busy busy)
      : QueuedCall(events), work_(std::move(work)), pending_(std::move(pending)), busy_(busy) {}
  bool Abandoned() const override { return pending_->abandoned; }
  Status Run(CollectorStore& store) override {
    result_.emplace(work_(store));
    return result_->ok() ? OkStatus() : Status(result_->error());
  }
  void Fail(const Error& error) override {
    if (!result_ || result_->ok()) result_.emplace(error);
  }
  void Complete() override {
    asio::post(busy_, [pending = pending_, result = std::move(*result_)]() mutable {
      pending->Complete(std::move(result));
    });
  }

 private:
  Work work_;
  std::shared_ptr<Pending> pending_;
  Busy busy_;
  std::optional<R> result_;
};

template <typename Pending, typename Busy>
class StoreExecutor::TypedHeartbeatWaiter final : public HeartbeatWaiter {
 public:
  TypedHeartbeatWaiter(std::shared_ptr<Pending> pending, Busy busy)
      : pending_(std::move(pending)), busy_(busy) {}
  bool Abandoned() const override { return pending_->abandoned; }
  void Complete(Status result) override {
    asio::post(busy_, [pending = pending_, result = std::move(result)]() mutable {
      pending->Complete(std::move(result));
    });
  }

 private:
  std::shared_ptr<Pending> pending_;
  Busy busy_;
};

template <typename R, typename Submit>
asio::awaitable<R> StoreExecutor::Await(Submit submit, std::chrono::milliseconds timeout) {
  auto initiate = [timeout](auto handler, Submit submitted) {
    using Handler = decltype(handler);
    // Whichever comes first, the store's result or the deadline, completes
    // the handler; both run on the caller's executor, so they never race.
    // `abandoned` is the one thing the store thread reads: set when the
    // deadline passed, so a call still queued is skipped.
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
      std::atomic<bool> abandoned{false};
    };
    const asio::any_io_executor resume_on = asio::get_associated_executor(handler);
    auto pending = std::make_shared<Pending>(std::move(handler), resume_on);
    pending->deadline.expires_after(timeout);
    pending->deadline.async_wait([pending, timeout](const boost::system::error_code& ec) {
      if (ec) return;  // cancelled: the store answered in time, or refused
      pending->abandoned = true;
      pending->Complete(R(Error(ErrorCode::kTimeout, "the store did not answer within " +
                                                         std::to_string(timeout.count()) + " ms")));
    });
    auto busy = asio::prefer(resume_on, asio::execution::outstanding_work.tracked);
    if (std::optional<Error> refused = submitted(pending, std::move(busy))) {
      asio::post(resume_on, [pending, error = std::move(*refused)]() mutable {
        pending->Complete(R(std::move(error)));
      });
    }
  };
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(R)>(
      std::move(initiate), asio::use_awaitable, std::move(submit));
}

template <typename R, typename Work>
asio::awaitable<R> StoreExecutor::Call(Work work, std::size_t events,
                                       std::chrono::milliseconds timeout) {
  return Await<R>(
      [this, work = std::move(work), events](auto pending,
                                             auto busy) mutable -> std::optional<Error> {
        using Pending = typename decltype(pending)::element_type;
        if (queued_.load() >= options_.max_queued_calls) {
          return Error(
              ErrorCode::kUnavailable,
              "the store queue is full (" + std::to_string(options_.max_queued_calls) + " calls)");
        }
        const std::size_t depth = ++queued_;
        if (metrics_ != nullptr) metrics_->SetStoreQueueDepth(depth);
        Enqueue(std::make_unique<TypedCall<R, Work, Pending, decltype(busy)>>(
            std::move(work), events, std::move(pending), std::move(busy)));
        return std::nullopt;
      },
      timeout);
}

}  // namespace atmhealth::collector

#endif  // ATMHEALTH_COLLECTOR_INGEST_STORE_EXECUTOR_H_
