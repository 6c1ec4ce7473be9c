#include "proto/frame_codec.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/message_lite.h>

namespace atmhealth::wire {

bool AppendFrame(const google::protobuf::MessageLite& message, std::size_t max_frame_bytes,
                 std::string& out) {
  const std::size_t size = message.ByteSizeLong();
  if (size > max_frame_bytes) return false;
  const std::size_t prefix =
      google::protobuf::io::CodedOutputStream::VarintSize32(static_cast<std::uint32_t>(size));
  const std::size_t old_size = out.size();
  out.resize(old_size + prefix + size);
  auto* target = reinterpret_cast<std::uint8_t*>(out.data() + old_size);
  target = google::protobuf::io::CodedOutputStream::WriteVarint32ToArray(
      static_cast<std::uint32_t>(size), target);
  if (!message.SerializeWithCachedSizesToArray(target)) {
    out.resize(old_size);
    return false;
  }
  return true;
}

FrameDecoder::FrameDecoder(std::size_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

void FrameDecoder::Append(std::string_view bytes) {
  // Drop what was already handed out before growing the buffer, so it holds
  // at most one partial frame plus the new bytes.
  if (consumed_ > 0) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  buffer_.append(bytes);
}

FrameDecoder::Result FrameDecoder::Next(std::string_view& frame) {
  const std::size_t available = buffer_.size() - consumed_;
  const auto* begin = reinterpret_cast<const std::uint8_t*>(buffer_.data() + consumed_);

  // Decode the varint by hand so that a partial prefix is told apart from a
  // malformed one without copying.
  std::uint64_t length = 0;
  std::size_t prefix = 0;
  for (;; ++prefix) {
    if (prefix == available) return Result::kNeedMore;
    if (prefix == kMaxLengthPrefixBytes) return Result::kMalformedLength;
    const std::uint8_t byte = begin[prefix];
    length |= static_cast<std::uint64_t>(byte & 0x7f) << (7 * prefix);
    if ((byte & 0x80) == 0) {
      ++prefix;
      break;
    }
  }
  if (length > max_frame_bytes_) {
    refused_length_ = length;
    return Result::kOversized;
  }
  if (available - prefix < length) return Result::kNeedMore;
  frame = std::string_view(buffer_.data() + consumed_ + prefix, static_cast<std::size_t>(length));
  consumed_ += prefix + static_cast<std::size_t>(length);
  return Result::kFrame;
}

}  // namespace atmhealth::wire
