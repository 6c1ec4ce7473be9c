// Arbitrary bytes from an agent, the way the collector takes them: split
// into frames, parsed, validated. Nothing may crash, hang or read out of
// bounds; the decoder never buffers beyond its limit.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "atmhealth/v1/session.pb.h"
#include "collector/ingest/message_validation.h"
#include "proto/frame_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t kLimit = 64 * 1024;
  atmhealth::wire::FrameDecoder decoder(kLimit);
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // The first byte chooses how the stream is cut into reads.
  const std::size_t chunk = input.empty() ? 1 : 1 + static_cast<unsigned char>(input[0]) % 64;
  while (!input.empty()) {
    decoder.Append(input.substr(0, chunk));
    input.remove_prefix(std::min(chunk, input.size()));
    if (decoder.buffered_bytes() > kLimit + atmhealth::wire::kMaxLengthPrefixBytes + chunk) {
      std::abort();  // the bound the decoder promises
    }
    std::string_view frame;
    for (;;) {
      const auto result = decoder.Next(frame);
      if (result == atmhealth::wire::FrameDecoder::Result::kNeedMore) break;
      if (result != atmhealth::wire::FrameDecoder::Result::kFrame) return 0;  // stream refused
      atmhealth::v1::AgentMessage message;
      if (!message.ParseFromArray(frame.data(), static_cast<int>(frame.size()))) continue;
      if (message.has_hello()) (void)atmhealth::collector::ValidateHello(message.hello());
      if (message.has_batch()) (void)atmhealth::collector::ValidateEventBatch(message.batch());
      if (message.has_heartbeat()) {
        (void)atmhealth::collector::ValidateHeartbeat(message.heartbeat());
      }
    }
  }
  return 0;
}
