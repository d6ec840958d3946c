#include "ingest/transcoder.h"

#include <cmath>
#include <functional>
#include <string>

extern "C" {
#include <libavutil/opt.h>
}

namespace tcd::ingest {
namespace {

// Decoding half shared by the video and audio transcoders.
class Decoder {
 public:
  Status Open(const AVStream* in, const std::string& url) {
    url_ = url;
    const AVCodec* codec = avcodec_find_decoder(in->codecpar->codec_id);
    if (codec == nullptr) {
      return Status::InvalidArgument("no decoder for " +
                                     std::string(avcodec_get_name(in->codecpar->codec_id)) +
                                     " in '" + url + "'");
    }
    dec_.reset(avcodec_alloc_context3(codec));
    int err = avcodec_parameters_to_context(dec_.get(), in->codecpar);
    if (err < 0) return AvStatus(err, "decoder parameters for '" + url + "'");
    dec_->pkt_timebase = kMicros;
    err = avcodec_open2(dec_.get(), codec, nullptr);
    if (err < 0) return AvStatus(err, "cannot open decoder for '" + url + "'");
    return Status::OK();
  }

  // Sends `pkt` (nullptr drains) and calls on_frame for each decoded frame.
  Status Decode(const AVPacket* pkt, const std::function<Status(AVFrame*)>& on_frame) {
    int err = avcodec_send_packet(dec_.get(), pkt);
    if (err < 0 && err != AVERROR_EOF) {
      // A corrupt packet is not fatal for a live recording: skip it.
      if (pkt != nullptr && err == AVERROR_INVALIDDATA) return Status::OK();
      return AvStatus(err, "decoding '" + url_ + "'");
    }
    for (;;) {
      err = avcodec_receive_frame(dec_.get(), frame_.get());
      if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return Status::OK();
      if (err < 0) return AvStatus(err, "decoding '" + url_ + "'");
      Status s = on_frame(frame_.get());
      av_frame_unref(frame_.get());
      TCD_RETURN_IF_ERROR(s);
    }
  }

 private:
  std::string url_;
  CodecContextPtr dec_;
  FramePtr frame_ = MakeFrame();
};

}  // namespace

int64_t NextKeyUs(int64_t next_key_us, int64_t pts_us, int64_t segment_us) {
  if (segment_us <= 0) segment_us = 1;
  if (next_key_us == AV_NOPTS_VALUE) return SatAdd(pts_us, segment_us);  // first frame
  if (pts_us < next_key_us) {
    // Not due yet; unless the clock went back more than two segments: restart the grid here.
    return pts_us >= SatSub(next_key_us, SatAdd(segment_us, segment_us))
               ? next_key_us
               : SatAdd(pts_us, segment_us);
  }
  // pts_us - (pts_us - next_key_us) % segment_us + segment_us, without overflow.
  const uint64_t since = static_cast<uint64_t>(pts_us) - static_cast<uint64_t>(next_key_us);
  const auto into = static_cast<int64_t>(since % static_cast<uint64_t>(segment_us));
  return SatAdd(pts_us - into, segment_us);
}

namespace {

int64_t FramePtsMicros(const AVFrame* f) {
  return f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
}

// Sends `frame` (nullptr drains) to `enc` and appends the packets, rescaled to µs, to *out.
Status Encode(AVCodecContext* enc, const AVFrame* frame, std::vector<PacketPtr>* out,
              const std::string& url) {
  int err = avcodec_send_frame(enc, frame);
  if (err < 0 && err != AVERROR_EOF) return AvStatus(err, "encoding '" + url + "'");
  for (;;) {
    PacketPtr pkt = MakePacket();
    err = avcodec_receive_packet(enc, pkt.get());
    if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return Status::OK();
    if (err < 0) return AvStatus(err, "encoding '" + url + "'");
    av_packet_rescale_ts(pkt.get(), enc->time_base, kMicros);
    out->push_back(std::move(pkt));
  }
}

class VideoTranscoder final : public Transcoder {
 public:
  VideoTranscoder(double segment_seconds, std::string url)
      : segment_us_(std::llround(segment_seconds * 1e6)), url_(std::move(url)) {}

  Status Init(const AVStream* in) {
    TCD_RETURN_IF_ERROR(decoder_.Open(in, url_));
    const AVCodec* codec = avcodec_find_encoder_by_name("libx264");
    if (codec == nullptr) return Status::InvalidArgument("libx264 encoder not available");
    enc_.reset(avcodec_alloc_context3(codec));
    AVRational fps = StreamFrameRate(in);
    enc_->width = in->codecpar->width & ~1;
    enc_->height = in->codecpar->height & ~1;
    enc_->pix_fmt = AV_PIX_FMT_YUV420P;
    enc_->time_base = av_inv_q(fps);
    enc_->framerate = fps;
    enc_->gop_size = std::max(1, static_cast<int>(std::lround(segment_us_ / 1e6 * av_q2d(fps))));
    enc_->max_b_frames = 0;
    enc_->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    Dictionary opts;
    opts.Set("preset", "veryfast");
    opts.Set("tune", "zerolatency");
    opts.Set("forced-idr", "0");  // KEYFRAME: IDR in a closed GOP
    int err = avcodec_open2(enc_.get(), codec, opts.get());
    if (err < 0) return AvStatus(err, "cannot open libx264 for '" + url_ + "'");
    scaled_->format = AV_PIX_FMT_YUV420P;
    scaled_->width = enc_->width;
    scaled_->height = enc_->height;
    err = av_frame_get_buffer(scaled_.get(), 0);
    if (err < 0) return AvStatus(err, "frame buffer for '" + url_ + "'");
    return Status::OK();
  }

  Status Send(const AVPacket* pkt, std::vector<PacketPtr>* out) override {
    return decoder_.Decode(pkt, [&](AVFrame* f) { return OnFrame(f, out); });
  }

  Status Drain(std::vector<PacketPtr>* out) override {
    TCD_RETURN_IF_ERROR(Send(nullptr, out));
    return Encode(enc_.get(), nullptr, out, url_);
  }

  Status ResetDecoder(const AVStream* in) override {
    decoder_ = Decoder();
    return decoder_.Open(in, url_);
  }

  const AVCodecContext* encoder() const override { return enc_.get(); }

 private:
  Status OnFrame(AVFrame* f, std::vector<PacketPtr>* out) {
    int64_t pts_us = FramePtsMicros(f);
    if (pts_us == AV_NOPTS_VALUE) return Status::OK();
    int64_t pts = av_rescale_q(pts_us, kMicros, enc_->time_base);
    if (last_pts_ != AV_NOPTS_VALUE && pts <= last_pts_) return Status::OK();  // duplicate slot
    last_pts_ = pts;
    sws_.reset(sws_getCachedContext(
        sws_.release(), f->width, f->height, static_cast<AVPixelFormat>(f->format), enc_->width,
        enc_->height, AV_PIX_FMT_YUV420P, SWS_BILINEAR, nullptr, nullptr, nullptr));
    if (sws_ == nullptr) return Status::InvalidArgument("cannot convert video of '" + url_ + "'");
    int err = av_frame_make_writable(scaled_.get());
    if (err < 0) return AvStatus(err, "frame buffer for '" + url_ + "'");
    sws_scale(sws_.get(), f->data, f->linesize, 0, f->height, scaled_->data, scaled_->linesize);
    scaled_->pts = pts;
    scaled_->pict_type = AV_PICTURE_TYPE_NONE;
    if (next_key_us_ == AV_NOPTS_VALUE || pts_us >= next_key_us_ ||
        pts_us < SatSub(next_key_us_, SatAdd(segment_us_, segment_us_))) {
      // Force a keyframe at every segment boundary so segments are cut on time. The next
      // boundary is computed, not stepped to: a huge timestamp jump must not loop or overflow.
      // A jump backwards by more than two segments restarts the grid at this frame.
      scaled_->pict_type = AV_PICTURE_TYPE_I;
      next_key_us_ = NextKeyUs(next_key_us_, pts_us, segment_us_);
    }
    return Encode(enc_.get(), scaled_.get(), out, url_);
  }

  const int64_t segment_us_;
  const std::string url_;
  Decoder decoder_;
  CodecContextPtr enc_;
  SwsPtr sws_;
  FramePtr scaled_ = MakeFrame();
  int64_t last_pts_ = AV_NOPTS_VALUE;
  int64_t next_key_us_ = AV_NOPTS_VALUE;
};

class AudioTranscoder final : public Transcoder {
 public:
  explicit AudioTranscoder(std::string url) : url_(std::move(url)) {}

  Status Init(const AVStream* in) {
    TCD_RETURN_IF_ERROR(decoder_.Open(in, url_));
    const AVCodec* codec = avcodec_find_encoder_by_name("aac");
    if (codec == nullptr) return Status::InvalidArgument("aac encoder not available");
    enc_.reset(avcodec_alloc_context3(codec));
    int rate = in->codecpar->sample_rate > 0 ? in->codecpar->sample_rate : 48000;
    bool supported = false;
    for (const int* r = codec->supported_samplerates; r != nullptr && *r != 0; ++r) {
      supported = supported || *r == rate;
    }
    enc_->sample_rate = supported ? rate : 48000;
    av_channel_layout_default(&enc_->ch_layout, in->codecpar->ch_layout.nb_channels >= 2 ? 2 : 1);
    enc_->sample_fmt = AV_SAMPLE_FMT_FLTP;
    enc_->bit_rate = 128000;
    enc_->time_base = {1, enc_->sample_rate};
    enc_->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    int err = avcodec_open2(enc_.get(), codec, nullptr);
    if (err < 0) return AvStatus(err, "cannot open aac encoder for '" + url_ + "'");
    fifo_.reset(
        av_audio_fifo_alloc(enc_->sample_fmt, enc_->ch_layout.nb_channels, enc_->frame_size * 4));
    return Status::OK();
  }

  Status Send(const AVPacket* pkt, std::vector<PacketPtr>* out) override {
    return decoder_.Decode(pkt, [&](AVFrame* f) { return OnFrame(f, out); });
  }

  Status Drain(std::vector<PacketPtr>* out) override {
    TCD_RETURN_IF_ERROR(Send(nullptr, out));
    if (swr_ != nullptr) TCD_RETURN_IF_ERROR(Convert(nullptr, 0));
    while (av_audio_fifo_size(fifo_.get()) > 0) {
      TCD_RETURN_IF_ERROR(EncodeFromFifo(out));
    }
    return Encode(enc_.get(), nullptr, out, url_);
  }

  Status ResetDecoder(const AVStream* in) override {
    swr_.reset();
    decoder_ = Decoder();
    return decoder_.Open(in, url_);
  }

  const AVCodecContext* encoder() const override { return enc_.get(); }

 private:
  Status OnFrame(AVFrame* f, std::vector<PacketPtr>* out) {
    int64_t pts_us = FramePtsMicros(f);
    if (swr_ == nullptr) {
      AVChannelLayout in_layout;
      if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) {
        av_channel_layout_default(&in_layout, f->ch_layout.nb_channels);
      } else {
        av_channel_layout_copy(&in_layout, &f->ch_layout);
      }
      SwrContext* swr = nullptr;
      int err = swr_alloc_set_opts2(&swr, &enc_->ch_layout, enc_->sample_fmt, enc_->sample_rate,
                                    &in_layout, static_cast<AVSampleFormat>(f->format),
                                    f->sample_rate, 0, nullptr);
      av_channel_layout_uninit(&in_layout);
      swr_.reset(swr);
      if (err >= 0) err = swr_init(swr);
      if (err < 0) return AvStatus(err, "cannot resample audio of '" + url_ + "'");
    }
    if (pts_us != AV_NOPTS_VALUE) {
      int64_t pts = av_rescale_q(pts_us, kMicros, enc_->time_base);
      int64_t expected = next_pts_ + av_audio_fifo_size(fifo_.get());
      // First frame, or a jump (a reconnect gap): restart the sample clock at this frame.
      if (next_pts_ == AV_NOPTS_VALUE || std::llabs(SatSub(pts, expected)) > 4 * enc_->frame_size) {
        next_pts_ = pts - av_audio_fifo_size(fifo_.get());
      }
    }
    TCD_RETURN_IF_ERROR(Convert(const_cast<const uint8_t**>(f->extended_data), f->nb_samples));
    while (av_audio_fifo_size(fifo_.get()) >= enc_->frame_size) {
      TCD_RETURN_IF_ERROR(EncodeFromFifo(out));
    }
    return Status::OK();
  }

  // Resamples `n` input samples (nullptr flushes the resampler) into the FIFO.
  Status Convert(const uint8_t** in, int n) {
    FramePtr tmp = MakeFrame();
    tmp->format = enc_->sample_fmt;
    av_channel_layout_copy(&tmp->ch_layout, &enc_->ch_layout);
    tmp->sample_rate = enc_->sample_rate;
    tmp->nb_samples = swr_get_out_samples(swr_.get(), n) + 32;
    int err = av_frame_get_buffer(tmp.get(), 0);
    if (err < 0) return AvStatus(err, "audio buffer for '" + url_ + "'");
    int got = swr_convert(swr_.get(), tmp->data, tmp->nb_samples, in, n);
    if (got < 0) return AvStatus(got, "resampling audio of '" + url_ + "'");
    if (got > 0 &&
        av_audio_fifo_write(fifo_.get(), reinterpret_cast<void**>(tmp->data), got) < got) {
      return Status::IOError("audio fifo write failed for '" + url_ + "'");
    }
    return Status::OK();
  }

  Status EncodeFromFifo(std::vector<PacketPtr>* out) {
    int n = std::min(av_audio_fifo_size(fifo_.get()), enc_->frame_size);
    FramePtr frame = MakeFrame();
    frame->format = enc_->sample_fmt;
    av_channel_layout_copy(&frame->ch_layout, &enc_->ch_layout);
    frame->sample_rate = enc_->sample_rate;
    frame->nb_samples = n;
    int err = av_frame_get_buffer(frame.get(), 0);
    if (err < 0) return AvStatus(err, "audio buffer for '" + url_ + "'");
    av_audio_fifo_read(fifo_.get(), reinterpret_cast<void**>(frame->data), n);
    if (next_pts_ == AV_NOPTS_VALUE) next_pts_ = 0;
    frame->pts = next_pts_;
    next_pts_ += n;
    return Encode(enc_.get(), frame.get(), out, url_);
  }

  const std::string url_;
  Decoder decoder_;
  CodecContextPtr enc_;
  SwrPtr swr_;
  AudioFifoPtr fifo_;
  int64_t next_pts_ = AV_NOPTS_VALUE;  // encoder time base: pts of the FIFO's first sample
};

}  // namespace

AVRational StreamFrameRate(const AVStream* st) {
  if (st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0) return st->avg_frame_rate;
  if (st->r_frame_rate.num > 0 && st->r_frame_rate.den > 0) return st->r_frame_rate;
  return {25, 1};
}

Result<std::unique_ptr<Transcoder>> NewVideoTranscoder(const AVStream* in, double segment_seconds,
                                                       const std::string& url) {
  auto t = std::make_unique<VideoTranscoder>(segment_seconds, url);
  TCD_RETURN_IF_ERROR(t->Init(in));
  return std::unique_ptr<Transcoder>(std::move(t));
}

Result<std::unique_ptr<Transcoder>> NewAudioTranscoder(const AVStream* in, const std::string& url) {
  auto t = std::make_unique<AudioTranscoder>(url);
  TCD_RETURN_IF_ERROR(t->Init(in));
  return std::unique_ptr<Transcoder>(std::move(t));
}

}  // namespace tcd::ingest
