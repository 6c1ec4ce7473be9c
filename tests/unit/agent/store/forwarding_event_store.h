// An EventStore that forwards every call to a real one: the base of the
// fault-injecting wrappers of the tests (leveldb's SpecialEnv idea), each of
// which overrides only the call it makes fail.
#ifndef ATMHEALTH_TESTS_UNIT_AGENT_STORE_FORWARDING_EVENT_STORE_H_
#define ATMHEALTH_TESTS_UNIT_AGENT_STORE_FORWARDING_EVENT_STORE_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "agent/store/event_store.h"

namespace atmhealth::agent::testing {

class ForwardingEventStore : public EventStore {
 public:
  explicit ForwardingEventStore(std::unique_ptr<EventStore> real) : real_(std::move(real)) {}

  std::uint64_t Append(v1::Event event) override { return real_->Append(std::move(event)); }
  Status Commit() override { return real_->Commit(); }
  Result<std::vector<v1::Event>> ReadAfter(std::uint64_t after_seq, std::size_t max_events,
                                           std::size_t max_bytes) override {
    return real_->ReadAfter(after_seq, max_events, max_bytes);
  }
  Status MarkDelivered(std::uint64_t seq) override { return real_->MarkDelivered(seq); }
  Status RenewBufferId() override { return real_->RenewBufferId(); }
  Status SetAside(std::uint64_t seq, const std::string& reason) override {
    return real_->SetAside(seq, reason);
  }
  Result<std::vector<v1::Event>> FiringAlerts() override { return real_->FiringAlerts(); }
  Result<std::vector<BaselineHour>> LoadThroughputBaseline() override {
    return real_->LoadThroughputBaseline();
  }
  Status SaveThroughputBaselineHour(const BaselineHour& hour) override {
    return real_->SaveThroughputBaselineHour(hour);
  }
  EventStoreStats Stats() const override { return real_->Stats(); }

 protected:
  EventStore& real() { return *real_; }

 private:
  std::unique_ptr<EventStore> real_;
};

}  // namespace atmhealth::agent::testing

#endif  // ATMHEALTH_TESTS_UNIT_AGENT_STORE_FORWARDING_EVENT_STORE_H_
