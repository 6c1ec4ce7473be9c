#include "collector/http/event_stream.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/beast/http.hpp>

namespace atmhealth::collector {
namespace {

namespace beast = boost::beast;
using asio::redirect_error;
using asio::use_awaitable;

std::string Frame(std::uint64_t id, const std::string& event, const std::string& data) {
  return fmt::format("id: {}\nevent: {}\ndata: {}\n\n", id, event, data);
}

}  // namespace

struct EventStream::Subscriber {
  explicit Subscriber(const asio::any_io_executor& executor) : wake(executor) {}
  asio::steady_timer wake;        // on the stream's strand; cancelled to wake the writer
  std::deque<std::string> queue;  // frames; guarded by EventStream::mutex_
  bool overflowed = false;        // guarded by EventStream::mutex_
  bool closed = false;            // guarded by EventStream::mutex_
};

EventStream::EventStream(Options options, prometheus::Registry& registry)
    : options_(options),
      open_(prometheus::BuildGauge()
                .Name("atmhealth_collector_event_streams")
                .Help("Server-sent event streams open now")
                .Register(registry)
                .Add({})),
      ended_(prometheus::BuildCounter()
                 .Name("atmhealth_collector_event_streams_ended_total")
                 .Help("Event streams ended or refused, by reason (client_gone, overflow, "
                       "shutdown, refused_full)")
                 .Register(registry)) {
  for (const char* reason : {"client_gone", "overflow", "shutdown", "refused_full"}) {
    ended_.Add({{"reason", reason}});
  }
}

std::size_t EventStream::subscribers() const {
  std::lock_guard lock(mutex_);
  return subscribers_.size();
}

void EventStream::Publish(const std::string& event, const std::string& data) {
  std::lock_guard lock(mutex_);
  if (subscribers_.empty()) return;
  const std::string frame = Frame(++next_id_, event, data);
  for (const std::shared_ptr<Subscriber>& subscriber : subscribers_) {
    if (subscriber->overflowed || subscriber->closed) continue;
    if (subscriber->queue.size() >= options_.max_queued) {
      subscriber->overflowed = true;
      subscriber->queue.clear();
    } else {
      subscriber->queue.push_back(frame);
    }
    asio::post(subscriber->wake.get_executor(), [subscriber] { subscriber->wake.cancel(); });
  }
}

void EventStream::Close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  for (const std::shared_ptr<Subscriber>& subscriber : subscribers_) {
    subscriber->closed = true;
    asio::post(subscriber->wake.get_executor(), [subscriber] { subscriber->wake.cancel(); });
  }
}

asio::awaitable<void> EventStream::Serve(beast::tcp_stream& stream, const std::string& snapshot) {
  auto subscriber = std::make_shared<Subscriber>(stream.get_executor());
  bool accepted = false;
  std::uint64_t first_id = 0;
  {
    std::lock_guard lock(mutex_);
    accepted = !closed_ && subscribers_.size() < options_.max_subscribers;
    if (accepted) {
      subscribers_.insert(subscriber);
      first_id = ++next_id_;
    }
  }
  boost::system::error_code ec;
  if (!accepted) {
    ended_.Add({{"reason", "refused_full"}}).Increment();
    spdlog::warn(
        "event stream refused (503): {} streams are open, the most this collector "
        "serves",
        options_.max_subscribers);
    HttpResponse refusal = MakeResponse(
        http::status::service_unavailable,
        fmt::format("{} event streams are open, the most this collector serves; retry later\n",
                    options_.max_subscribers));
    refusal.set(http::field::retry_after, "10");
    refusal.keep_alive(false);
    refusal.prepare_payload();
    stream.expires_after(options_.write_timeout);
    co_await http::async_write(stream, refusal, redirect_error(use_awaitable, ec));
    co_return;
  }
  open_.Increment();

  http::response<http::empty_body> head(http::status::ok, 11);
  head.set(http::field::server, "atmhealth-collector");
  head.set(http::field::content_type, "text/event-stream; charset=utf-8");
  head.set(http::field::cache_control, "no-cache");
  head.set("X-Accel-Buffering", "no");
  head.keep_alive(false);
  http::response_serializer<http::empty_body> serializer(head);
  stream.expires_after(options_.write_timeout);
  co_await http::async_write_header(stream, serializer, redirect_error(use_awaitable, ec));

  std::string pending = "retry: 2000\n" + Frame(first_id, "snapshot", snapshot);
  const char* reason = "client_gone";
  while (!ec) {
    if (!pending.empty()) {
      stream.expires_after(options_.write_timeout);
      co_await asio::async_write(stream, asio::buffer(pending), redirect_error(use_awaitable, ec));
      if (ec) break;
      pending.clear();
    }
    {
      // Checked and waited for without a suspension in between, on the
      // stream's strand, where Publish's wake-up runs too: no wake-up is lost.
      std::lock_guard lock(mutex_);
      if (subscriber->closed) {
        reason = "shutdown";
        break;
      }
      if (subscriber->overflowed) {
        reason = "overflow";
        pending = "event: overflow\ndata: {}\n\n";
      }
      while (!subscriber->queue.empty()) {
        pending += subscriber->queue.front();
        subscriber->queue.pop_front();
      }
    }
    if (std::string_view(reason) == "overflow") {
      stream.expires_after(options_.write_timeout);
      co_await asio::async_write(stream, asio::buffer(pending), redirect_error(use_awaitable, ec));
      spdlog::warn("event stream ended: the subscriber fell {} events behind", options_.max_queued);
      break;
    }
    if (!pending.empty()) continue;
    subscriber->wake.expires_after(options_.keepalive);
    boost::system::error_code waited;
    co_await subscriber->wake.async_wait(redirect_error(use_awaitable, waited));
    if (!waited) pending = ": keepalive\n\n";
  }
  {
    std::lock_guard lock(mutex_);
    subscribers_.erase(subscriber);
  }
  open_.Decrement();
  ended_.Add({{"reason", reason}}).Increment();
  stream.expires_never();
}

}  // namespace atmhealth::collector
