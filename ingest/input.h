// Private to ingest/: one opened FFmpeg input (file, network URL, device or lavfi graph) with
// its selected video and/or audio stream, and an interrupt callback so that no FFmpeg call
// blocks past the stop flag or an I/O deadline.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "base/env.h"
#include "base/status.h"
#include "ingest/av_util.h"
#include "ingest/capture.h"

namespace tcd::ingest {

class Input {
 public:
  // Opens `spec` and probes its streams. `want_video`: a video stream is required (the main
  // input); otherwise an audio stream is required (a separate audio input).
  // Errors: Unavailable (cannot open/probe: names the URL and FFmpeg's reason), InvalidArgument
  // (unknown format name, missing required stream). `env` must outlive the Input.
  static Result<std::unique_ptr<Input>> Open(const SourceSpec& spec, bool want_video, Env* env,
                                             const std::atomic<bool>* stop);
  Input(const Input&) = delete;
  Input& operator=(const Input&) = delete;
  ~Input() = default;

  // Reads the next packet of a selected stream into *pkt. Sets *eof at a clean end of stream.
  // Non-OK: a read error or timeout (IOError naming the URL), or Aborted when `stop` was raised.
  Status Read(AVPacket* pkt, bool* eof);

  // Makes blocking reads return Aborted once *stop is true. `stop` may be null.
  void set_stop(const std::atomic<bool>* stop) { interrupt_->stop = stop; }
  // A Read() that gets no packet within this long fails (the source is treated as lost).
  void set_read_timeout_us(int64_t us) { read_timeout_us_ = us; }

  AVStream* video() const { return video_index_ < 0 ? nullptr : ctx_->streams[video_index_]; }
  AVStream* audio() const { return audio_index_ < 0 ? nullptr : ctx_->streams[audio_index_]; }
  const std::string& url() const { return url_; }
  // When the connection was established (before probing, which already reads media):
  // monotonic and wall-clock µs.
  int64_t connected_mono_us() const { return connected_mono_us_; }
  int64_t connected_wall_us() const { return connected_wall_us_; }
  // rtmp/rtsp/srt/http/udp/tcp…: EOF is a dropout, not the end of the recording.
  bool is_network() const { return is_network_; }
  // A source that produces media in real time (network, device, lavfi): segments' wall clock
  // is the arrival time rather than capture start + media offset.
  bool is_live() const { return is_live_; }

 private:
  struct Interrupt {
    Env* env = nullptr;
    const std::atomic<bool>* stop = nullptr;
    int64_t deadline_us = 0;  // monotonic; 0 = none
  };
  static int OnInterrupt(void* opaque);

  explicit Input(Env* env) : interrupt_(std::make_unique<Interrupt>()) { interrupt_->env = env; }

  std::unique_ptr<Interrupt> interrupt_;  // stable address for the callback
  int64_t read_timeout_us_ = 10'000'000;
  InputContextPtr ctx_;
  int video_index_ = -1;
  int audio_index_ = -1;
  std::string url_;
  bool is_network_ = false;
  bool is_live_ = false;
  int64_t connected_mono_us_ = 0;
  int64_t connected_wall_us_ = 0;
};

}  // namespace tcd::ingest
