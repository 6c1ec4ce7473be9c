// The evidence gathered for one firing alert: the diagnostic snapshot, sent
// as a notice of the same alert (same kind, subject and alert key) right
// behind the firing event, so that the firing event itself is never held
// back. The firing event carries its watcher's own facts (the statvfs
// figures of a filesystem, the mdstat text of an array); the snapshot adds
// what takes time to gather:
//   top_directories   the largest directories of a filesystem that fills up
//   command.<name>    the end of each configured command's output
//   file.<name>       the end of each configured file
// and "fired_at_unix_ns" / "fired_severity", which tie it to its firing event.
#ifndef ATMHEALTH_AGENT_DIAGNOSTICS_SNAPSHOT_H_
#define ATMHEALTH_AGENT_DIAGNOSTICS_SNAPSHOT_H_

#include "agent/diagnostics/diagnostics_config.h"
#include "atmhealth/v1/event.pb.h"
#include "platform/clock.h"

namespace atmhealth::agent {

// Takes the snapshot of `firing` now, on the calling thread: as long as the
// walk and the commands take, each bounded by its limit. Every entry stays
// within the schema's bounds (32 entries, 1 KiB each: a command's output
// and a file keep their last KiB).
v1::Event TakeSnapshot(const DiagnosticsConfig& config, const v1::Event& firing,
                       const platform::Clock& clock);

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_DIAGNOSTICS_SNAPSHOT_H_
