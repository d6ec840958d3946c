// Private to ingest/: move-only RAII owners for FFmpeg handles and the AVERROR → Status adapter.
// Every FFmpeg object the module creates is held by one of these; none is freed by hand.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavcodec/bsf.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/dict.h>
#include <libavutil/frame.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
}

#include "base/status.h"

namespace tcd::ingest {

struct InputContextDeleter {
  void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};
// Output contexts: the custom AVIOContext (pb) is owned separately (AvioPtr).
struct OutputContextDeleter {
  void operator()(AVFormatContext* c) const { avformat_free_context(c); }
};
struct CodecContextDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct FrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct SwsDeleter {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};
struct SwrDeleter {
  void operator()(SwrContext* s) const { swr_free(&s); }
};
struct AudioFifoDeleter {
  void operator()(AVAudioFifo* f) const { av_audio_fifo_free(f); }
};
struct CodecParametersDeleter {
  void operator()(AVCodecParameters* p) const { avcodec_parameters_free(&p); }
};
struct BsfDeleter {
  void operator()(AVBSFContext* b) const { av_bsf_free(&b); }
};
struct AvioDeleter {
  void operator()(AVIOContext* c) const {
    if (c != nullptr) av_freep(&c->buffer);
    avio_context_free(&c);
  }
};

using InputContextPtr = std::unique_ptr<AVFormatContext, InputContextDeleter>;
using OutputContextPtr = std::unique_ptr<AVFormatContext, OutputContextDeleter>;
using CodecContextPtr = std::unique_ptr<AVCodecContext, CodecContextDeleter>;
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;
using SwsPtr = std::unique_ptr<SwsContext, SwsDeleter>;
using SwrPtr = std::unique_ptr<SwrContext, SwrDeleter>;
using AudioFifoPtr = std::unique_ptr<AVAudioFifo, AudioFifoDeleter>;
using CodecParametersPtr = std::unique_ptr<AVCodecParameters, CodecParametersDeleter>;
using BsfPtr = std::unique_ptr<AVBSFContext, BsfDeleter>;
using AvioPtr = std::unique_ptr<AVIOContext, AvioDeleter>;

// An AVDictionary that frees itself. get() is for FFmpeg calls that take AVDictionary**.
class Dictionary {
 public:
  Dictionary() = default;
  Dictionary(const Dictionary&) = delete;
  Dictionary& operator=(const Dictionary&) = delete;
  ~Dictionary() { av_dict_free(&dict_); }
  void Set(const std::string& key, const std::string& value) {
    av_dict_set(&dict_, key.c_str(), value.c_str(), 0);
  }
  AVDictionary** get() { return &dict_; }

 private:
  AVDictionary* dict_ = nullptr;
};

inline constexpr AVRational kMicros = {1, 1000000};

// a + b saturated to [INT64_MIN + 1, INT64_MAX] (INT64_MIN is AV_NOPTS_VALUE: never produced).
inline int64_t SatAdd(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? INT64_MAX : INT64_MIN + 1;
  return r == INT64_MIN ? INT64_MIN + 1 : r;
}
// a - b, saturated like SatAdd.
inline int64_t SatSub(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) return b < 0 ? INT64_MAX : INT64_MIN + 1;
  return r == INT64_MIN ? INT64_MIN + 1 : r;
}

// av_strerror text of an AVERROR code.
std::string AvErrorText(int err);
// IOError "what: <av_strerror>" (what names the operation and the URL).
Status AvStatus(int err, const std::string& what);
PacketPtr MakePacket();
FramePtr MakeFrame();
// Registers devices (lavfi, v4l2, alsa) and routes FFmpeg's log to spdlog; idempotent.
void InitFfmpegOnce();

}  // namespace tcd::ingest
