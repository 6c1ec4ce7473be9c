#include "collector/ingest/store_executor.h"

namespace atmhealth::collector {

StoreExecutor::StoreExecutor(std::unique_ptr<CollectorStore> store) : store_(std::move(store)) {}

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
      timeout);
}

asio::awaitable<Result<std::uint64_t>> StoreExecutor::StoreEvents(
    std::string device_id, std::vector<v1::Event> events, std::int64_t now_unix_ns,
    std::chrono::milliseconds timeout) {
  return Call<Result<std::uint64_t>>(
      [device_id = std::move(device_id), events = std::move(events), now_unix_ns](
          CollectorStore& store) { return store.StoreEvents(device_id, events, now_unix_ns); },
      timeout);
}

asio::awaitable<Status> StoreExecutor::RecordHeartbeat(std::string device_id,
                                                       v1::Heartbeat heartbeat,
                                                       std::int64_t now_unix_ns,
                                                       std::chrono::milliseconds timeout) {
  return Call<Status>(
      [device_id = std::move(device_id), heartbeat = std::move(heartbeat),
       now_unix_ns](CollectorStore& store) {
        return store.RecordHeartbeat(device_id, heartbeat, now_unix_ns);
      },
      timeout);
}

}  // namespace atmhealth::collector
