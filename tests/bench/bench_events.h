// What the benchmarks share with the tests: the sample events (shaped like
// the ones the agent really records, tests/support/sample_events.h) and the
// scratch directory (tests/support/scratch_dir.h: on the disk of $TMPDIR,
// else /tmp, so SQLite's fsyncs are real).
#ifndef ATMHEALTH_TESTS_BENCH_BENCH_EVENTS_H_
#define ATMHEALTH_TESTS_BENCH_BENCH_EVENTS_H_

#include "tests/support/sample_events.h"
#include "tests/support/scratch_dir.h"

namespace atmhealth::bench {

using testing::ScratchDir;

}  // namespace atmhealth::bench

#endif  // ATMHEALTH_TESTS_BENCH_BENCH_EVENTS_H_
