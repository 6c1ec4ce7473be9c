#include "agent/store_thread.h"

#include <spdlog/spdlog.h>

namespace atmhealth::agent {

StoreThread::StoreThread(std::unique_ptr<EventStore> store) : store_(std::move(store)) {}

StoreThread::~StoreThread() {
  // No timer may be armed once this ran, or join() would wait for it; and
  // on_commit_ may point into objects already destroyed.
  asio::post(pool_, [this] {
    stopping_ = true;
    on_commit_ = nullptr;
    commit_timer_.cancel();
  });
  pool_.join();
}

void StoreThread::set_on_commit(
    std::function<void(const Status&, const EventStoreStats&)> on_commit) {
  on_commit_ = std::move(on_commit);
}

void StoreThread::Append(std::vector<v1::Event> events) {
  asio::post(pool_, [this, events = std::move(events)]() mutable { AppendOnStoreThread(events); });
}

asio::awaitable<std::uint64_t> StoreThread::AppendAndSequence(std::vector<v1::Event> events) {
  auto append = [this, events = std::move(events)](EventStore&) mutable {
    return AppendOnStoreThread(events);
  };
  co_return co_await Run(std::move(append));
}

std::uint64_t StoreThread::AppendOnStoreThread(std::vector<v1::Event>& events) {
  std::uint64_t last = 0;
  for (auto& event : events) last = store_->Append(std::move(event));
  if (commit_scheduled_ || stopping_) return last;
  commit_scheduled_ = true;
  commit_timer_.expires_after(commit_delay_);
  commit_timer_.async_wait([this](boost::system::error_code ec) {
    // A cancelled wait leaves the mark alone: whoever cancelled it (CommitNow)
    // owns the mark now and may have scheduled a retry since.
    if (ec == asio::error::operation_aborted) return;
    commit_scheduled_ = false;
    (void)CommitOnStoreThread();  // reported through on_commit_
  });
  return last;
}

Status StoreThread::CommitNow() {
  return RunNow([this](EventStore&) {
    commit_timer_.cancel();
    commit_scheduled_ = false;
    return CommitOnStoreThread();
  });
}

Status StoreThread::CommitOnStoreThread() {
  Status status = store_->Commit();
  const EventStoreStats stats = store_->Stats();
  if (on_commit_) on_commit_(status, stats);
  // A failed commit keeps its events queued; try again after the delay so a
  // full disk that frees up is noticed without a new event arriving.
  if (!status.ok() && !commit_scheduled_ && !stopping_) {
    commit_scheduled_ = true;
    commit_timer_.expires_after(std::max(commit_delay_, std::chrono::milliseconds(1000)));
    commit_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec == asio::error::operation_aborted) return;  // as in Append
      commit_scheduled_ = false;
      (void)CommitOnStoreThread();  // reported through on_commit_
    });
  }
  return status;
}

}  // namespace atmhealth::agent
