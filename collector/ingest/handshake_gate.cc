#include "collector/ingest/handshake_gate.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace atmhealth::collector {

HandshakeGate::Slot& HandshakeGate::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    Release();
    gate_ = other.gate_;
    other.gate_ = nullptr;
  }
  return *this;
}

void HandshakeGate::Slot::Release() {
  if (gate_ == nullptr) return;
  HandshakeGate* gate = gate_;
  gate_ = nullptr;
  gate->Give();
}

HandshakeGate::HandshakeGate(asio::any_io_executor executor, std::size_t limit,
                             IngestMetrics& metrics)
    : limit_(std::max<std::size_t>(limit, 1)), metrics_(metrics), wake_(std::move(executor)) {}

asio::awaitable<bool> HandshakeGate::WaitForRoom() {
  while (!cancelled_.load() && in_flight_.load() >= limit_) {
    wake_.expires_at(asio::steady_timer::time_point::max());
    boost::system::error_code ignored;
    co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  co_return !cancelled_.load();
}

HandshakeGate::Slot HandshakeGate::Take() {
  in_flight_.fetch_add(1);
  metrics_.HandshakeStarted();
  return Slot(this);
}

void HandshakeGate::Cancel() {
  cancelled_.store(true);
  asio::post(wake_.get_executor(), [this] { wake_.cancel(); });
}

void HandshakeGate::Give() {
  metrics_.HandshakeEnded();
  // Only a release from a full gate can unblock a waiting WaitForRoom(). Its
  // check and its wait run in one step on the executor, and the wake-up is
  // posted there too, so it cannot slip in between and be lost.
  if (in_flight_.fetch_sub(1) == limit_) {
    asio::post(wake_.get_executor(), [this] { wake_.cancel(); });
  }
}

namespace {

template <std::size_t... I>
std::array<platform::RepeatedCondition, sizeof...(I)> Conditions(const platform::Clock& clock,
                                                                 std::index_sequence<I...>) {
  return {((void)I, platform::RepeatedCondition(clock))...};
}

}  // namespace

HandshakeFailureLog::HandshakeFailureLog(IngestMetrics& metrics, const platform::Clock& clock)
    : metrics_(metrics), conditions_(Conditions(clock, std::make_index_sequence<kReasons>())) {}

std::optional<std::uint64_t> HandshakeFailureLog::Occurred(std::size_t reason) {
  std::lock_guard lock(mutex_);
  return conditions_[std::min(reason, kReasons - 1)].Occurred();
}

void HandshakeFailureLog::Failed(std::string_view who, wire::HandshakeFailure reason,
                                 std::string_view detail) {
  metrics_.CountHandshakeFailure(reason);
  if (const auto repeats = Occurred(static_cast<std::size_t>(reason))) {
    spdlog::warn("{}: TLS handshake failed ({}): {}{}", who, wire::HandshakeFailureName(reason),
                 detail, platform::RepeatedCondition::Note(*repeats));
  }
}

void HandshakeFailureLog::Abandoned(std::string_view who) {
  metrics_.CountHandshakeAbandoned();
  if (const auto repeats = Occurred(kReasons - 1)) {
    spdlog::warn(
        "{}: closed without a TLS handshake (abandoned): the agent gave up while the "
        "connection waited for one of the collector's handshake slots (listen.max_handshakes){}",
        who, platform::RepeatedCondition::Note(*repeats));
  }
}

}  // namespace atmhealth::collector
