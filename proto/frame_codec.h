// The wire codec: varint-length-delimited protobuf frames, the standard
// "delimited" form any protobuf library reads (writeDelimitedTo /
// parseDelimitedFrom). Frames above a fixed limit are refused.
#ifndef ATMHEALTH_PROTO_FRAME_CODEC_H_
#define ATMHEALTH_PROTO_FRAME_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace google::protobuf {
class MessageLite;
}

namespace atmhealth::wire {

// Largest frame a peer accepts unless configured otherwise: bytes of the
// message, without the length prefix.
inline constexpr std::size_t kDefaultMaxFrameBytes = 1024 * 1024;
// A varint32 takes at most five bytes.
inline constexpr std::size_t kMaxLengthPrefixBytes = 5;

// Appends the length prefix and the serialized message to `out`. Returns
// false, leaving `out` unchanged, when the message is larger than
// `max_frame_bytes` or cannot be serialized.
bool AppendFrame(const google::protobuf::MessageLite& message, std::size_t max_frame_bytes,
                 std::string& out);

// Splits a byte stream into frames. Not thread-safe; one per connection.
//
//   FrameDecoder decoder(limit);
//   decoder.Append(bytes_read);
//   std::string_view frame;
//   while (decoder.Next(frame) == FrameDecoder::Result::kFrame) { ... }
//
// The buffered bytes never exceed max_frame_bytes plus one read, because a
// length prefix above the limit is refused before its body is read.
class FrameDecoder {
 public:
  enum class Result {
    kFrame,           // `frame` holds one message body, valid until the next call
    kNeedMore,        // no whole frame buffered yet
    kOversized,       // the length prefix is above the limit; the stream is unusable
    kMalformedLength  // the length prefix is not a valid varint32; the stream is unusable
  };

  explicit FrameDecoder(std::size_t max_frame_bytes = kDefaultMaxFrameBytes);

  void Append(std::string_view bytes);
  Result Next(std::string_view& frame);

  // Length announced by the last refused prefix (for the error message).
  std::uint64_t refused_length() const { return refused_length_; }
  std::size_t buffered_bytes() const { return buffer_.size() - consumed_; }
  std::size_t max_frame_bytes() const { return max_frame_bytes_; }

 private:
  std::size_t max_frame_bytes_;
  std::string buffer_;
  std::size_t consumed_ = 0;  // bytes at the front of buffer_ already returned
  std::uint64_t refused_length_ = 0;
};

}  // namespace atmhealth::wire

#endif  // ATMHEALTH_PROTO_FRAME_CODEC_H_
