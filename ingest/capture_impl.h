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
    int64_t pending_mono_us = 0;  // when `pending` was read (monotonic)
    bool done = false;
    int64_t origin_us = AV_NOPTS_VALUE;  // source µs of this connection's first packet
    int64_t offset_us = 0;               // timeline position of origin_us
    int64_t pace_mono_us = AV_NOPTS_VALUE;
    int64_t pace_ts_us = 0;
    // Source timestamp discontinuities (publisher restart inside one connection): the last
    // timeline µs per stream (0 video, 1 audio) and the end of this input's latest packet.
    int64_t last_ts_us[2] = {AV_NOPTS_VALUE, AV_NOPTS_VALUE};
    int64_t end_us = 0;
    // Reconnection. An outage lasts from the loss of real media until a reconnection delivers
    // media again; connections that deliver none (connect, header, close) extend it.
    int64_t backoff_us = 0;             // next wait before retrying; grows until media flows
    bool backoff_armed = false;         // wait backoff_us before the next reconnect attempt
    bool outage = false;                // lost; OnGap not reported yet
    int64_t loss_mono_us = 0;           // when the outage began (monotonic / wall)
    int64_t loss_wall_us = 0;
    int64_t resume_wall_us = 0;         // connection time of the latest connection
    std::string loss_reason;
    int64_t media_mono_us = AV_NOPTS_VALUE;  // first media written on the current connection
    int64_t last_pkt_mono_us = AV_NOPTS_VALUE;  // arrival of the latest packet (monotonic/wall)
    int64_t last_pkt_wall_us = 0;
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
  int64_t ReadTimeoutUs() const;
  Status Reconnect(InputState& in, const std::string& reason);
  bool SameParameters(const InputState& in, const Input& fresh) const;
  bool Usable(const Input& fresh) const;
  void Pace(InputState& in);
  void SleepInterruptible(int64_t micros);
  bool Stopped() const { return stop_ != nullptr && stop_->load(); }
  Status Process(InputState& in, AVPacket* pkt);
  Status OnMedia(InputState& in);  // real media of `in` is about to be written
  InputState* InputOf(int out);

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
  int64_t seg_mono_us_ = 0;        // monotonic time the open segment started
  int64_t seg_bytes_ = 0;          // packet bytes buffered in the open segment
  // Arrival (monotonic) of the input packet being processed, and of the latest one that went
  // into the open segment. A transcoded packet counts from the input packet that released it
  // from the encoder: the latency then includes the encoding.
  int64_t cur_arrival_mono_us_ = 0;
  int64_t seg_arrival_mono_us_ = 0;
  bool cut_pending_ = false;       // cut at the next video keyframe (timestamp discontinuity)
  bool overdue_warned_ = false;    // the open segment is overdue and no keyframe came yet
};

}  // namespace tcd::ingest
