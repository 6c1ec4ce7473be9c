// Arbitrary text as keepalived's notify FIFO (line by line, and as a stream
// in reads of every size), a notify script's state file and keepalived's
// data dump. Never a crash; errors name their line; the stream stays within
// its bounds.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "platform/keepalived.h"
#include "platform/text_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace atmhealth::platform;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  TextLines lines(text);
  while (const auto line = lines.Next()) {
    const auto notice = ParseVrrpNoticeLine(*line, "fifo", lines.number());
    if (!notice.ok() && notice.error().message().rfind("fifo:", 0) != 0) std::abort();
    if (notice.ok() && notice->has_value() && (*notice)->priority &&
        (*(*notice)->priority < 0 || *(*notice)->priority > 255)) {
      std::abort();
    }
  }
  // The stream, in reads whose sizes the input's first byte chooses.
  VrrpNoticeStream stream("fifo");
  const std::size_t step = size == 0 ? 1 : 1 + data[0] % 64;
  for (std::size_t at = 0; at < text.size(); at += step) stream.Feed(text.substr(at, step));
  stream.WriterGone();
  if (stream.instances().size() > VrrpNoticeStream::kMaxInstances) std::abort();
  if (stream.malformed() > stream.lines()) std::abort();
  if (stream.last_error() && stream.last_error()->message().rfind("fifo:", 0) != 0) std::abort();
  for (const auto& [name, notice] : stream.instances()) {
    if (name != notice.name || notice.group) std::abort();
  }

  const auto state = ParseVrrpStateFile(text, "VI_1", "state");
  if (!state.ok() && state.error().message().rfind("state", 0) != 0) std::abort();
  const auto dump = ParseKeepalivedData(text, "data");
  if (!dump.ok() && dump.error().message().rfind("data:", 0) != 0) std::abort();
  return 0;
}
