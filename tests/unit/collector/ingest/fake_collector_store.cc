#include "tests/unit/collector/ingest/fake_collector_store.h"

namespace atmhealth::collector::testing {

void FakeCollectorStore::State::Preload(const std::string& device_id, std::uint64_t seq) {
  std::lock_guard lock(mutex_);
  v1::Event event;
  event.set_seq(seq);
  events_[device_id][seq] = event;
}

void FakeCollectorStore::State::Hold() {
  std::lock_guard lock(mutex_);
  hold_ = true;
}

void FakeCollectorStore::State::Release() {
  {
    std::lock_guard lock(mutex_);
    hold_ = false;
  }
  changed_.notify_all();
}

bool FakeCollectorStore::State::WaitUntilHeld(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [this] { return held_calls_ > 0; });
}

void FakeCollectorStore::State::FailWith(Error error) {
  std::lock_guard lock(mutex_);
  failure_ = std::move(error);
}

void FakeCollectorStore::State::FailNextGroupCommit(Error error) {
  std::lock_guard lock(mutex_);
  next_group_failure_ = std::move(error);
}

std::vector<int> FakeCollectorStore::State::GroupSizes() const {
  std::lock_guard lock(mutex_);
  return group_sizes_;
}

std::vector<std::uint64_t> FakeCollectorStore::State::StoredSeqs(
    const std::string& device_id) const {
  std::lock_guard lock(mutex_);
  std::vector<std::uint64_t> seqs;
  const auto it = events_.find(device_id);
  if (it == events_.end()) return seqs;
  for (const auto& [seq, event] : it->second) seqs.push_back(seq);
  return seqs;
}

std::vector<v1::Hello> FakeCollectorStore::State::Hellos() const {
  std::lock_guard lock(mutex_);
  return hellos_;
}

std::vector<std::string> FakeCollectorStore::State::HelloPeers() const {
  std::lock_guard lock(mutex_);
  return hello_peers_;
}

std::vector<v1::Heartbeat> FakeCollectorStore::State::Heartbeats(
    const std::string& device_id) const {
  std::lock_guard lock(mutex_);
  const auto it = heartbeats_.find(device_id);
  return it == heartbeats_.end() ? std::vector<v1::Heartbeat>{} : it->second;
}

int FakeCollectorStore::State::store_events_returned() const {
  std::lock_guard lock(mutex_);
  return store_events_returned_;
}

std::optional<std::thread::id> FakeCollectorStore::State::store_thread() const {
  std::lock_guard lock(mutex_);
  return store_thread_;
}

std::uint64_t FakeCollectorStore::State::HighestLocked(const std::string& device_id) const {
  const auto it = events_.find(device_id);
  if (it == events_.end() || it->second.empty()) return 0;
  return it->second.rbegin()->first;
}

Result<std::uint64_t> FakeCollectorStore::RecordHello(const v1::Hello& hello, std::string_view peer,
                                                      std::int64_t /*now_unix_ns*/) {
  std::lock_guard lock(state_->mutex_);
  state_->store_thread_ = std::this_thread::get_id();
  ++state_->group_calls_;
  if (state_->failure_) return *state_->failure_;
  state_->hellos_.push_back(hello);
  state_->hello_peers_.emplace_back(peer);
  return state_->HighestLocked(hello.device().device_id());
}

Result<StoredBatch> FakeCollectorStore::StoreEvents(std::string_view device_id,
                                                    std::string_view /*buffer_id*/,
                                                    const std::vector<v1::Event>& events,
                                                    std::int64_t /*now_unix_ns*/) {
  std::unique_lock lock(state_->mutex_);
  state_->store_thread_ = std::this_thread::get_id();
  if (state_->hold_) {
    ++state_->held_calls_;
    state_->changed_.notify_all();
    state_->changed_.wait(lock, [this] { return !state_->hold_; });
  }
  ++state_->group_calls_;
  if (state_->failure_) return *state_->failure_;
  const std::string device(device_id);
  StoredBatch stored;
  stored.last_stored_seq = state_->HighestLocked(device);
  for (const v1::Event& event : events) {
    stored.Count(event.seq(), state_->events_[device].emplace(event.seq(), event).second);
  }
  ++state_->store_events_returned_;
  return stored;
}

Status FakeCollectorStore::RecordHeartbeat(std::string_view device_id,
                                           const v1::Heartbeat& heartbeat,
                                           std::int64_t /*now_unix_ns*/) {
  std::lock_guard lock(state_->mutex_);
  state_->store_thread_ = std::this_thread::get_id();
  ++state_->group_calls_;
  if (state_->failure_) return *state_->failure_;
  state_->heartbeats_[std::string(device_id)].push_back(heartbeat);
  return OkStatus();
}

Status FakeCollectorStore::BeginGroup() {
  std::lock_guard lock(state_->mutex_);
  state_->events_before_group_ = state_->events_;
  state_->heartbeats_before_group_ = state_->heartbeats_;
  state_->group_calls_ = 0;
  state_->group_failure_ = std::exchange(state_->next_group_failure_, std::nullopt);
  return OkStatus();
}

Status FakeCollectorStore::CommitGroup() {
  std::lock_guard lock(state_->mutex_);
  state_->group_sizes_.push_back(state_->group_calls_);
  if (!state_->group_failure_) return OkStatus();
  state_->events_ = std::move(state_->events_before_group_);
  state_->heartbeats_ = std::move(state_->heartbeats_before_group_);
  return *std::exchange(state_->group_failure_, std::nullopt);
}

}  // namespace atmhealth::collector::testing
