#include "collector/ingest/store_executor.h"

#include <algorithm>
#include <map>
#include <optional>
#include <vector>

namespace atmhealth::collector {
namespace {

using Clock = std::chrono::steady_clock;

// Bounds of the retry hint: never sooner than a second (a refused agent that
// comes straight back only adds load), never later than five minutes (a
// queue estimate that far out is a guess).
constexpr std::chrono::milliseconds kMinRetryAfter{1000};
constexpr std::chrono::milliseconds kMaxRetryAfter{300'000};
// Store calls a refused session will make when it comes back: its Hello and
// its first heartbeat or batch. Spaces the retry slots.
constexpr std::int64_t kCallsPerReturningSession = 2;

std::chrono::milliseconds ClampRetry(std::chrono::nanoseconds wait) {
  return std::clamp(std::chrono::ceil<std::chrono::milliseconds>(wait), kMinRetryAfter,
                    kMaxRetryAfter);
}

bool IsWriteFailure(ErrorCode code) {
  switch (code) {
    case ErrorCode::kNoSpace:
    case ErrorCode::kIo:
    case ErrorCode::kCorrupt:
    case ErrorCode::kPermissionDenied:
    case ErrorCode::kUnavailable:
      return true;
    default:
      return false;
  }
}

}  // namespace

StoreExecutor::StoreExecutor(std::unique_ptr<CollectorStore> store, Options options,
                             IngestMetrics* metrics)
    : store_(std::move(store)), options_(options), metrics_(metrics) {}

StoreExecutor::StoreExecutor(std::unique_ptr<CollectorStore> store)
    : StoreExecutor(std::move(store), Options{}, nullptr) {}

StoreExecutor::~StoreExecutor() { Join(); }

// These are not coroutines themselves: the arguments move straight into the
// work that runs on the store thread, and the awaitable Call returns is the
// one the session awaits.

void StoreExecutor::Join() { thread_.join(); }

asio::awaitable<Result<std::uint64_t>> StoreExecutor::RecordHello(
    v1::Hello hello, std::string peer, std::int64_t now_unix_ns,
    std::chrono::milliseconds timeout) {
  return Call<Result<std::uint64_t>>(
      [hello = std::move(hello), peer = std::move(peer), now_unix_ns](CollectorStore& store) {
        return store.RecordHello(hello, peer, now_unix_ns);
      },
      1, timeout);
}

asio::awaitable<Result<StoredBatch>> StoreExecutor::StoreEvents(std::string device_id,
                                                                std::string buffer_id,
                                                                std::vector<v1::Event> events,
                                                                std::int64_t now_unix_ns,
                                                                std::chrono::milliseconds timeout) {
  const std::size_t weight = std::max<std::size_t>(events.size(), 1);
  return Call<Result<StoredBatch>>(
      [device_id = std::move(device_id), buffer_id = std::move(buffer_id),
       events = std::move(events), now_unix_ns](CollectorStore& store) {
        return store.StoreEvents(device_id, buffer_id, events, now_unix_ns);
      },
      weight, timeout);
}

asio::awaitable<Status> StoreExecutor::RecordHeartbeat(std::string device_id,
                                                       v1::Heartbeat heartbeat,
                                                       std::int64_t now_unix_ns,
                                                       std::chrono::milliseconds timeout) {
  return Await<Status>(
      [this, device_id = std::move(device_id), heartbeat = std::move(heartbeat), now_unix_ns](
          auto pending, auto busy) mutable -> std::optional<Error> {
        using Pending = typename decltype(pending)::element_type;
        Coalesce(std::move(device_id), std::move(heartbeat), now_unix_ns,
                 std::make_unique<TypedHeartbeatWaiter<Pending, decltype(busy)>>(std::move(pending),
                                                                                 std::move(busy)));
        return std::nullopt;
      },
      timeout);
}

void StoreExecutor::Enqueue(std::unique_ptr<QueuedCall> call) {
  std::lock_guard lock(mutex_);
  calls_.push_back(std::move(call));
  PostDrainLocked();
}

void StoreExecutor::Coalesce(std::string device_id, v1::Heartbeat heartbeat,
                             std::int64_t now_unix_ns, std::unique_ptr<HeartbeatWaiter> waiter) {
  std::lock_guard lock(mutex_);
  const auto [it, added] = heartbeats_.try_emplace(std::move(device_id));
  PendingHeartbeat& pending = it->second;
  pending.heartbeat = std::move(heartbeat);
  pending.now_unix_ns = now_unix_ns;
  pending.waiters.push_back(std::move(waiter));
  if (metrics_ != nullptr) {
    if (!added) metrics_->CountHeartbeatCoalesced();
    metrics_->SetPendingHeartbeats(heartbeats_.size());
  }
  PostDrainLocked();
}

void StoreExecutor::PostDrainLocked() {
  if (std::exchange(drain_posted_, true)) return;
  asio::post(thread_, [this] { Drain(); });
}

std::size_t StoreExecutor::pending_heartbeats() const {
  std::lock_guard lock(mutex_);
  return heartbeats_.size();
}

void StoreExecutor::Drain() {
  std::vector<std::unique_ptr<QueuedCall>> group;
  std::map<std::string, PendingHeartbeat, std::less<>> heartbeats;
  {
    std::lock_guard lock(mutex_);
    std::size_t events = 0;
    while (!calls_.empty()) {
      const std::size_t next = calls_.front()->events();
      if (!group.empty() && events + next > options_.max_group_events) break;
      events += next;
      group.push_back(std::move(calls_.front()));
      calls_.pop_front();
    }
    // Every heartbeat waiting goes into this group: one per device, so they
    // are bounded by the sessions, not by max_group_events.
    heartbeats.swap(heartbeats_);
    if (metrics_ != nullptr && !heartbeats.empty()) metrics_->SetPendingHeartbeats(0);
  }
  // Calls whose callers were answered with the timeout are skipped, never
  // run late behind the others; so is a heartbeat none of whose callers
  // waits any more.
  std::erase_if(group, [this](const std::unique_ptr<QueuedCall>& call) {
    const bool abandoned = call->Abandoned();
    Dequeued(abandoned);
    return abandoned;
  });
  for (auto it = heartbeats.begin(); it != heartbeats.end();) {
    std::erase_if(it->second.waiters, [this](const std::unique_ptr<HeartbeatWaiter>& waiter) {
      if (!waiter->Abandoned()) return false;
      if (metrics_ != nullptr) metrics_->CountStoreCallSkipped();
      return true;
    });
    it = it->second.waiters.empty() ? heartbeats.erase(it) : std::next(it);
  }

  if (!group.empty() || !heartbeats.empty()) {
    const auto start = Clock::now();
    running_since_ns_ = start.time_since_epoch().count();
    // Heartbeats take no place in the queue, so they do not count ahead of
    // new sessions either (their time does, in EstimatedWaitLocked).
    running_calls_ = group.size();
    // `failed`: the group's own failure, which every call shares (nothing
    // of the group is stored). `disk`: what the group tells about the disk,
    // for WriteHealth(); nothing when its calls were only refused for their
    // input.
    Status failed = store_->BeginGroup();
    std::optional<Status> disk;
    const auto observe = [&disk](const Status& ran) {
      if (ran.ok()) {
        if (!disk) disk = OkStatus();
      } else if (IsWriteFailure(ran.error().code())) {
        disk = ran;
      }
    };
    // What each device's heartbeat got from the store, in the map's order.
    std::vector<Status> recorded;
    recorded.reserve(heartbeats.size());
    if (failed.ok()) {
      for (const auto& call : group) observe(call->Run(*store_));
      for (const auto& [device_id, pending] : heartbeats) {
        recorded.push_back(
            store_->RecordHeartbeat(device_id, pending.heartbeat, pending.now_unix_ns));
        observe(recorded.back());
      }
      failed = store_->CommitGroup();
    }
    if (!failed.ok()) disk = failed;
    Finished(Clock::now() - start, group.size() + heartbeats.size(), disk);
    for (const auto& call : group) {
      if (!failed.ok()) call->Fail(failed.error());
      call->Complete();
    }
    std::size_t i = 0;
    for (auto& [device_id, pending] : heartbeats) {
      const Status result = failed.ok() ? recorded[i] : failed;
      ++i;
      for (const auto& waiter : pending.waiters) waiter->Complete(result);
    }
  }

  std::lock_guard lock(mutex_);
  if (calls_.empty() && heartbeats_.empty()) {
    drain_posted_ = false;
    return;
  }
  asio::post(thread_, [this] { Drain(); });
}

std::chrono::nanoseconds StoreExecutor::EstimatedWaitLocked(std::size_t calls) const {
  // The heartbeats waiting share the next commit: each adds its part per call.
  return cost_.Drain(calls, options_.max_group_events) +
         std::chrono::nanoseconds(static_cast<std::int64_t>(
             cost_.per_call_ns() * static_cast<double>(heartbeats_.size())));
}

StoreExecutor::Admission StoreExecutor::AdmitSession(std::chrono::milliseconds wait) {
  const std::size_t ahead = CallsAhead();
  const std::size_t half = options_.max_queued_calls / 2;
  std::lock_guard lock(mutex_);
  const std::chrono::nanoseconds expected = EstimatedWaitLocked(ahead);
  Admission admission;
  if (ahead < half && expected < wait) {
    ++starting_;
    admission.starting = StartingSession(this);
    return admission;
  }

  admission.admitted = false;
  admission.reason =
      ahead >= half
          ? "the store has " + std::to_string(ahead) +
                " calls queued, running or coming, half of its " +
                std::to_string(options_.max_queued_calls) + " queued at most"
          : "the " + std::to_string(ahead) + " store calls queued, running or coming take about " +
                std::to_string(std::chrono::ceil<std::chrono::milliseconds>(expected).count()) +
                " ms, the session may wait " + std::to_string(wait.count()) + " ms";
  // Hand out slots one after another, starting when the calls ahead are
  // done, each as long as the store takes for a returning session's calls
  // when it runs them in groups as large as admission lets the queue grow.
  const std::size_t group = std::max<std::size_t>(std::min(half, options_.max_group_events), 1);
  const auto slot =
      std::max(std::chrono::nanoseconds{1}, kCallsPerReturningSession * cost_.PerCall(group));
  const auto now = Clock::now();
  next_retry_slot_ = std::max(next_retry_slot_, now + expected) + slot;
  admission.retry_after = ClampRetry(next_retry_slot_ - now);
  return admission;
}

std::chrono::milliseconds StoreExecutor::RetryHint() const {
  const std::size_t ahead = CallsAhead();
  std::lock_guard lock(mutex_);
  return ClampRetry(EstimatedWaitLocked(ahead));
}

Status StoreExecutor::WriteHealth() const {
  if (const std::int64_t since = running_since_ns_.load(); since != 0) {
    const auto running = Clock::now() - Clock::time_point(Clock::duration(since));
    if (running > options_.stalled_after) {
      return Error(ErrorCode::kTimeout,
                   "a store call has been running for " +
                       std::to_string(
                           std::chrono::duration_cast<std::chrono::milliseconds>(running).count()) +
                       " ms");
    }
  }
  std::lock_guard lock(mutex_);
  if (write_failure_) return Error(ErrorCode::kUnavailable, *write_failure_);
  return OkStatus();
}

void StoreExecutor::Dequeued(bool skipped) {
  const std::size_t depth = --queued_;
  if (metrics_ == nullptr) return;
  metrics_->SetStoreQueueDepth(depth);
  if (skipped) metrics_->CountStoreCallSkipped();
}

void StoreExecutor::Finished(Clock::duration took, std::size_t calls,
                             const std::optional<Status>& disk) {
  running_since_ns_ = 0;
  running_calls_ = 0;
  if (metrics_ != nullptr)
    metrics_->ObserveStoreGroup(std::chrono::duration<double>(took).count(), calls);
  std::lock_guard lock(mutex_);
  cost_.Observe(calls, std::chrono::duration_cast<std::chrono::nanoseconds>(took));
  // Every call writes (the Hello updates the device, a heartbeat its state),
  // so each group tells whether the store can write now.
  if (!disk) return;
  if (disk->ok()) {
    write_failure_.reset();
  } else {
    write_failure_ = disk->error().message();
  }
}

}  // namespace atmhealth::collector
