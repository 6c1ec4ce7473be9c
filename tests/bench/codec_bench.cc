// The wire codec: encoding an EventBatch into a delimited frame
// (AppendFrame), and splitting a byte stream back into frames and parsing
// them (FrameDecoder + ParseFromArray), as the collector does for every
// batch it receives. Batches of 1, 16 and 256 realistic events.
//
//   build/bench/tests/bench/codec_bench --benchmark_repetitions=5
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "atmhealth/v1/session.pb.h"
#include "proto/frame_codec.h"
#include "tests/bench/bench_events.h"

namespace atmhealth::bench {
namespace {

void BM_AppendFrame(benchmark::State& state) {
  const auto events = static_cast<std::uint64_t>(state.range(0));
  const v1::AgentMessage batch = testing::SampleBatch(1, events);
  std::string out;
  for (auto _ : state) {
    out.clear();  // keeps its capacity, as a connection's send buffer does
    if (!wire::AppendFrame(batch, wire::kDefaultMaxFrameBytes, out)) {
      state.SkipWithError("AppendFrame refused the batch");
      return;
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * out.size()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * events));
  state.counters["frame_bytes"] = static_cast<double>(out.size());
}
BENCHMARK(BM_AppendFrame)->ArgName("events")->Arg(1)->Arg(16)->Arg(256);

// One frame per iteration through a long-lived decoder, as a socket read
// that carries one whole frame hands it over.
void BM_DecodeAndParse(benchmark::State& state) {
  const auto events = static_cast<std::uint64_t>(state.range(0));
  std::string frame;
  if (!wire::AppendFrame(testing::SampleBatch(1, events), wire::kDefaultMaxFrameBytes, frame)) {
    state.SkipWithError("AppendFrame refused the batch");
    return;
  }
  wire::FrameDecoder decoder;
  v1::AgentMessage message;
  for (auto _ : state) {
    decoder.Append(frame);
    std::string_view body;
    if (decoder.Next(body) != wire::FrameDecoder::Result::kFrame ||
        !message.ParseFromArray(body.data(), static_cast<int>(body.size())) ||
        message.batch().events_size() != static_cast<int>(events)) {
      state.SkipWithError("the frame did not decode");
      return;
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * frame.size()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * events));
  state.counters["frame_bytes"] = static_cast<double>(frame.size());
}
BENCHMARK(BM_DecodeAndParse)->ArgName("events")->Arg(1)->Arg(16)->Arg(256);

}  // namespace
}  // namespace atmhealth::bench

BENCHMARK_MAIN();
