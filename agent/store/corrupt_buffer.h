// A buffer file that fails its checks at start (a damaged disk, a file that
// is not SQLite, inconsistent bookkeeping) must neither be deleted — it may
// hold undelivered alerts someone can still read out — nor stop the agent,
// which would then fail the same way at every restart. It is set aside under
// a name with the time, a new buffer starts in its place, and the first event
// of the new buffer says what happened.
#ifndef ATMHEALTH_AGENT_STORE_CORRUPT_BUFFER_H_
#define ATMHEALTH_AGENT_STORE_CORRUPT_BUFFER_H_

#include <memory>
#include <optional>
#include <string>

#include "agent/store/event_store.h"
#include "platform/clock.h"
#include "platform/status.h"

namespace atmhealth::agent {

struct SetAsideBuffer {
  std::string file;    // where the corrupt buffer is now, "<path>.corrupt-<UTC time>"
  std::string reason;  // the check it failed, as EventStore::Open said
};

struct OpenedBuffer {
  std::unique_ptr<EventStore> store;
  std::optional<SetAsideBuffer> set_aside;  // set when a corrupt buffer was replaced
};

// EventStore::Open; when that fails with kCorrupt, the file and its -wal and
// -shm companions are renamed to "<path>.corrupt-<YYYYmmddTHHMMSS.mmmZ>"
// (the wall clock of `clock`, UTC) and a new, empty buffer is opened. Other
// failures (permissions, a full disk at creation) are returned as they are.
Result<OpenedBuffer> OpenEventStoreSettingAsideCorrupt(const EventStoreOptions& options,
                                                       platform::Clock& clock);

// The agent-health notice recorded as the new buffer's first event.
v1::Event SetAsideNotice(const SetAsideBuffer& set_aside, platform::Clock& clock);

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_STORE_CORRUPT_BUFFER_H_
