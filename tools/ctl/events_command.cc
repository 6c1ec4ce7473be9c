#include "tools/ctl/events_command.h"

#include <thread>
#include <vector>

namespace atmhealth::ctl {
namespace {

// At most this many events are written per poll, so a burst shows up in
// steps instead of one long read.
constexpr std::size_t kTailBatch = 1000;

}  // namespace

int RunEvents(const EventsRequest& request, std::ostream& out, std::ostream& err) {
  Result<EventHistory> history = EventHistory::Open(request.buffer_path);
  if (!history.ok()) {
    err << "atmhealthctl: " << history.error().message() << "\n";
    return kExitFailure;
  }
  Result<std::vector<StoredEvent>> events = request.last > 0
                                                ? history->Last(request.last, request.filter)
                                                : history->After(0, request.filter, 0);
  if (!events.ok()) {
    err << "atmhealthctl: " << events.error().message() << "\n";
    return kExitFailure;
  }
  WriteEvents(out, *events, request.style);
  out.flush();
  return kExitOk;
}

int RunTail(const EventsRequest& request, std::chrono::milliseconds poll_interval,
            const std::atomic<bool>& stop, std::ostream& out, std::ostream& err) {
  Result<EventHistory> history = EventHistory::Open(request.buffer_path);
  if (!history.ok()) {
    err << "atmhealthctl: " << history.error().message() << "\n";
    return kExitFailure;
  }
  Result<std::uint64_t> from = history->LastSeq();
  if (!from.ok()) {
    err << "atmhealthctl: " << from.error().message() << "\n";
    return kExitFailure;
  }
  std::uint64_t last_seq = *from;
  OutputStyle style = request.style;
  std::vector<StoredEvent> earlier;
  if (request.last > 0) {
    Result<std::vector<StoredEvent>> read = history->Last(request.last, request.filter);
    if (!read.ok()) {
      err << "atmhealthctl: " << read.error().message() << "\n";
      return kExitFailure;
    }
    earlier = std::move(read).value();
  }
  // With no earlier events, the header alone, so the columns are named from
  // the start.
  WriteEvents(out, earlier, style);
  style.header = false;
  out.flush();
  while (!stop.load()) {
    std::this_thread::sleep_for(poll_interval);
    // Each poll is a few short reads: the daemon's checkpoints go on.
    Result<std::vector<StoredEvent>> events = history->After(last_seq, {}, kTailBatch);
    if (!events.ok()) {
      err << "atmhealthctl: " << events.error().message() << "\n";
      return kExitFailure;
    }
    if (events->empty()) continue;
    last_seq = events->back().event.seq();
    std::vector<StoredEvent> matching;
    for (StoredEvent& stored : *events) {
      if (request.filter.Matches(stored.event)) matching.push_back(std::move(stored));
    }
    if (matching.empty()) continue;
    WriteEvents(out, matching, style);
    style.header = false;
    out.flush();
  }
  return kExitOk;
}

}  // namespace atmhealth::ctl
