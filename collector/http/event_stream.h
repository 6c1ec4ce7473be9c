// Server-sent events (text/event-stream) for the dashboard: each subscriber
// first gets an `event: snapshot` with the whole state, then every change as
// it is published (`device`, `alert`, `incident`, `incident_merged`,
// `tolerance`, `fleet`), each with an increasing `id:`, and a comment line
// every `keepalive` so that proxies keep the connection open.
//
// Bounded: at most `max_subscribers` streams at once (more get 503), and at
// most `max_queued` events waiting per subscriber; a subscriber that falls
// that far behind is sent `event: overflow` and disconnected (EventSource
// reconnects and starts over from a new snapshot). Disconnections and
// refusals are counted.
#ifndef ATMHEALTH_COLLECTOR_HTTP_EVENT_STREAM_H_
#define ATMHEALTH_COLLECTOR_HTTP_EVENT_STREAM_H_

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "collector/http/http_server.h"
#include "platform/asio.h"

namespace atmhealth::collector {

class EventStream {
 public:
  struct Options {
    std::size_t max_subscribers = 32;
    std::size_t max_queued = 1024;                    // events per subscriber
    std::chrono::milliseconds keepalive{15'000};      // comment line when idle
    std::chrono::milliseconds write_timeout{10'000};  // one write to a subscriber
  };

  EventStream(Options options, prometheus::Registry& registry);

  // Sends `data` (one line of JSON) as event `event` to every subscriber.
  // Thread-safe; never blocks on a subscriber.
  void Publish(const std::string& event, const std::string& data);

  // Serves one subscriber on `stream` until it goes away or Close(): writes
  // the response head, `snapshot` as the first event, then published events.
  // Answers 503 when max_subscribers streams are open.
  asio::awaitable<void> Serve(boost::beast::tcp_stream& stream, const std::string& snapshot);

  // Ends every stream and refuses new ones. Thread-safe.
  void Close();

  std::size_t subscribers() const;

 private:
  struct Subscriber;

  const Options options_;
  mutable std::mutex mutex_;  // guards the members below
  std::set<std::shared_ptr<Subscriber>> subscribers_;
  std::uint64_t next_id_ = 0;
  bool closed_ = false;

  prometheus::Gauge& open_;
  prometheus::Family<prometheus::Counter>& ended_;
};

}  // namespace atmhealth::collector

#endif  // ATMHEALTH_COLLECTOR_HTTP_EVENT_STREAM_H_
