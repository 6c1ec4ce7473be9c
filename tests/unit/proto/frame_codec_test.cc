#include "proto/frame_codec.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <gtest/gtest.h>

#include "atmhealth/v1/session.pb.h"

namespace atmhealth::wire {
namespace {

v1::AgentMessage SampleHello() {
  v1::AgentMessage message;
  auto* hello = message.mutable_hello();
  hello->mutable_device()->set_device_id("atm-0412");
  hello->mutable_device()->set_site_id("shinjuku");
  hello->set_protocol_version(v1::PROTOCOL_VERSION_1);
  return message;
}

TEST(FrameCodec, RoundTripsOneFrame) {
  std::string wire;
  ASSERT_TRUE(AppendFrame(SampleHello(), kDefaultMaxFrameBytes, wire));
  FrameDecoder decoder;
  decoder.Append(wire);
  std::string_view frame;
  ASSERT_EQ(decoder.Next(frame), FrameDecoder::Result::kFrame);
  v1::AgentMessage parsed;
  ASSERT_TRUE(parsed.ParseFromArray(frame.data(), static_cast<int>(frame.size())));
  EXPECT_EQ(parsed.hello().device().device_id(), "atm-0412");
  EXPECT_EQ(decoder.Next(frame), FrameDecoder::Result::kNeedMore);
}

TEST(FrameCodec, IsTheStandardDelimitedForm) {
  // What protobuf's own writeDelimitedTo writes, this decoder reads: the
  // size as a varint, then the message, both written by protobuf's coded
  // stream as util::SerializeDelimitedToCodedStream does (that helper is
  // only in the full runtime; the project links the lite one).
  std::string wire;
  {
    google::protobuf::io::StringOutputStream out(&wire);
    google::protobuf::io::CodedOutputStream coded(&out);
    const v1::AgentMessage hello = SampleHello();
    coded.WriteVarint32(static_cast<std::uint32_t>(hello.ByteSizeLong()));
    ASSERT_TRUE(hello.SerializeToCodedStream(&coded));
    ASSERT_FALSE(coded.HadError());
  }
  FrameDecoder decoder;
  decoder.Append(wire);
  std::string_view frame;
  ASSERT_EQ(decoder.Next(frame), FrameDecoder::Result::kFrame);
  std::string ours;
  ASSERT_TRUE(AppendFrame(SampleHello(), kDefaultMaxFrameBytes, ours));
  EXPECT_EQ(ours, wire);
}

TEST(FrameCodec, ReassemblesFramesSplitAcrossReads) {
  std::string wire;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(AppendFrame(SampleHello(), kDefaultMaxFrameBytes, wire));
  FrameDecoder decoder;
  int frames = 0;
  std::string_view frame;
  for (char byte : wire) {
    decoder.Append(std::string_view(&byte, 1));
    while (decoder.Next(frame) == FrameDecoder::Result::kFrame) ++frames;
  }
  EXPECT_EQ(frames, 3);
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
}

TEST(FrameCodec, RefusesOversizedPrefixBeforeItsBodyArrives) {
  FrameDecoder decoder(1000);
  // Length 1001 as a varint, and no body at all.
  std::string prefix;
  {
    google::protobuf::io::StringOutputStream out(&prefix);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.WriteVarint32(1001);
  }
  decoder.Append(prefix);
  std::string_view frame;
  EXPECT_EQ(decoder.Next(frame), FrameDecoder::Result::kOversized);
  EXPECT_EQ(decoder.refused_length(), 1001u);
}

TEST(FrameCodec, RefusesAPrefixLongerThanFiveBytes) {
  FrameDecoder decoder;
  decoder.Append(std::string(6, '\x80'));
  std::string_view frame;
  EXPECT_EQ(decoder.Next(frame), FrameDecoder::Result::kMalformedLength);
}

TEST(FrameCodec, WaitsForAPartialPrefix) {
  FrameDecoder decoder;
  decoder.Append("\x80\x80");
  std::string_view frame;
  EXPECT_EQ(decoder.Next(frame), FrameDecoder::Result::kNeedMore);
}

TEST(FrameCodec, WriterRefusesMessagesAboveTheLimit) {
  v1::AgentMessage message = SampleHello();
  message.mutable_hello()->set_agent_version(std::string(2000, 'x'));
  std::string wire = "keep";
  EXPECT_FALSE(AppendFrame(message, 1000, wire));
  EXPECT_EQ(wire, "keep");
}

TEST(FrameCodec, ZeroLengthFrameIsAnEmptyMessage) {
  FrameDecoder decoder;
  decoder.Append(std::string_view("\0", 1));
  std::string_view frame;
  ASSERT_EQ(decoder.Next(frame), FrameDecoder::Result::kFrame);
  EXPECT_TRUE(frame.empty());
}

}  // namespace
}  // namespace atmhealth::wire
