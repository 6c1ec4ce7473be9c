// Named pipes (FIFOs) another program writes its news into, such as
// keepalived's notify FIFO.
#ifndef ATMHEALTH_PLATFORM_FIFO_H_
#define ATMHEALTH_PLATFORM_FIFO_H_

#include <string>

#include "platform/asio.h"
#include "platform/status.h"

namespace atmhealth::platform {

// Opens the FIFO at `path` for reading, in non-blocking mode: it opens at
// once whether a writer has it open or not, so a writer that is not running
// never blocks the caller. Reading it: wait until readable, then read_some
// until would_block; eof means every writer closed its end (a new writer is
// seen by opening the FIFO again). kNotFound when there is no such file,
// kInvalidArgument when it is not a FIFO (a regular file would read as
// endless end-of-file).
Result<asio::posix::stream_descriptor> OpenFifoForReading(const asio::any_io_executor& executor,
                                                          const std::string& path);

// Whether `path` still names the FIFO open as `fifo`: false once it was
// removed or replaced by another file (a writer that made it anew), when a
// reader must open it again to hear the new writer.
bool IsStillAt(asio::posix::stream_descriptor& fifo, const std::string& path);

}  // namespace atmhealth::platform

#endif  // ATMHEALTH_PLATFORM_FIFO_H_
