// Private to ingest/: the Capture implementation. capture.cc holds the read loop, pacing and
// reconnection; capture_output.cc the output side (stream setup, segment cutting, emission).
//
// Timeline: every packet is converted to microseconds on one capture timeline that starts at 0
// (per input: timeline = packet_us - origin_us + offset_us). After a dropout the offset is set
// to the timeline end plus the real outage, so the MP4 timeline maps to real time.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ingest/av_util.h"
#include "ingest/capture.h"
#include "ingest/fmp4_muxer.h"
#include "ingest/input.h"
#include "ingest/transcoder.h"

namespace tcd::ingest {

class CaptureImpl final : public Capture {
 public:
  CaptureImpl(const CaptureOptions& options, Env* env);
  Status OpenInputs();
  Status Run(SegmentSink* sink, const std::atomic<bool>* stop) override;

 private:
  struct InputState {
    SourceSpec spec;
    bool main = false;  // the video input; its end ends the capture
    std::unique_ptr<Input> input;
    int out_video = -1;  // output stream fed by the input's video / audio stream, or -1
    int out_audio = -1;
    PacketPtr pending;  // next packet (timeline µs), read ahead to interleave inputs
    int64_t pending_us = 0;
    bool done = false;
    int64_t origin_us = AV_NOPTS_VALUE;  // source µs of this connection's first packet
    int64_t offset_us = 0;               // timeline position of origin_us
    int64_t pace_mono_us = AV_NOPTS_VALUE;
    int64_t pace_ts_us = 0;
  };
  struct OutStream {
    AVMediaType type = AVMEDIA_TYPE_UNKNOWN;
    CodecParametersPtr par;
    std::unique_ptr<Transcoder> transcoder;  // null: packets are copied
    BsfPtr adts_to_asc;  // copied AAC in ADTS framing (MPEG-TS, raw .aac) → MP4 framing
    int64_t default_duration_us = 0;
  };

  // capture.cc
  Status Loop();
  Status Fill(InputState& in);
  Status Reconnect(InputState& in, const std::string& reason);
  bool SameParameters(const InputState& in, const Input& fresh) const;
  void Pace(InputState& in);
  void SleepInterruptible(int64_t micros);
  bool Stopped() const { return stop_ != nullptr && stop_->load(); }
  Status Process(InputState& in, AVPacket* pkt);

  // capture_output.cc
  Status BuildOutputs();
  std::string DescribeOutputs() const;
  Status WriteOut(int out, AVPacket* pkt);     // pkt in timeline µs
  Status WriteCopied(int out, AVPacket* pkt);  // through the bitstream filter, if any
  Status EmitSegment(bool final);
  Status Finish();

  const CaptureOptions options_;
  Env* const env_;
  const int64_t segment_us_;
  const int64_t max_us_;  // INT64_MAX without max_duration
  SegmentSink* sink_ = nullptr;
  const std::atomic<bool>* stop_ = nullptr;
  bool sink_failed_ = false;
  bool ended_ = false;  // main input ended, max reached or stopped
  bool live_ = false;   // segments' wall clock = arrival time (else start + media offset)

  std::vector<InputState> inputs_;  // [0] main, [1] separate audio (optional)
  std::vector<OutStream> outs_;     // [0] video, [1] audio (optional)
  std::unique_ptr<Fmp4Muxer> muxer_;
  std::string codecs_;
  uint32_t run_ = 0;
  int64_t run_base_us_ = 0;  // timeline position of the current run's time 0
  uint64_t next_index_ = 0;
  bool init_sent_ = false;
  int64_t start_wall_us_ = 0;
  int64_t timeline_end_us_ = 0;  // end of the latest packet written
  bool video_started_ = false;   // a video keyframe was written since the start/reconnect
  bool seg_open_ = false;
  int64_t seg_start_us_ = 0;
  int64_t seg_end_us_ = 0;
  int64_t seg_wall_us_ = 0;
};

}  // namespace tcd::ingest
