// Output side of CaptureImpl: which streams are copied or transcoded, cutting segments at
// keyframes and handing init/segments to the sink.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "ingest/capture_impl.h"

namespace tcd::ingest {
namespace {

constexpr int64_t kMaxSegmentBytes = int64_t{64} << 20;  // cut at the next keyframe beyond this

bool CopyableVideo(AVCodecID id) { return id == AV_CODEC_ID_H264 || id == AV_CODEC_ID_HEVC; }
bool CopyableAudio(AVCodecID id) {
  return id == AV_CODEC_ID_AAC || id == AV_CODEC_ID_MP3 || id == AV_CODEC_ID_OPUS;
}

CodecParametersPtr CopyParameters(const AVCodecParameters* from) {
  CodecParametersPtr p(avcodec_parameters_alloc());
  avcodec_parameters_copy(p.get(), from);
  return p;
}

Status NewAdtsToAsc(const AVStream* st, BsfPtr* out) {
  AVBSFContext* bsf = nullptr;
  int err = av_bsf_alloc(av_bsf_get_by_name("aac_adtstoasc"), &bsf);
  if (err < 0) return AvStatus(err, "aac_adtstoasc");
  out->reset(bsf);
  avcodec_parameters_copy(bsf->par_in, st->codecpar);
  bsf->time_base_in = kMicros;
  err = av_bsf_init(bsf);
  if (err < 0) return AvStatus(err, "aac_adtstoasc");
  return Status::OK();
}

}  // namespace

Status CaptureImpl::WriteCopied(int out, AVPacket* pkt) {
  AVBSFContext* bsf = outs_[out].adts_to_asc.get();
  if (bsf == nullptr) return WriteOut(out, pkt);
  int err = av_bsf_send_packet(bsf, pkt);
  if (err < 0) return AvStatus(err, "aac_adtstoasc");
  for (;;) {
    err = av_bsf_receive_packet(bsf, pkt);
    if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return Status::OK();
    if (err < 0) return AvStatus(err, "aac_adtstoasc");
    TCD_RETURN_IF_ERROR(WriteOut(out, pkt));
  }
}

Status CaptureImpl::BuildOutputs() {
  outs_.clear();
  muxer_.reset();  // on failure below, no stale (finished) muxer is left behind
  std::vector<const AVCodecParameters*> pars;
  std::vector<AVRational> time_bases;
  for (auto& in : inputs_) in.out_video = in.out_audio = -1;
  std::vector<std::pair<InputState*, AVStream*>> sources;
  sources.emplace_back(&inputs_[0], inputs_[0].input->video());
  if (inputs_.size() > 1) {
    sources.emplace_back(&inputs_[1], inputs_[1].input->audio());
  } else if (inputs_[0].input->audio() != nullptr) {
    sources.emplace_back(&inputs_[0], inputs_[0].input->audio());
  }
  for (auto [in, st] : sources) {
    OutStream out;
    out.type = st->codecpar->codec_type;
    const bool video = out.type == AVMEDIA_TYPE_VIDEO;
    AVRational tb = st->time_base;
    if (video ? CopyableVideo(st->codecpar->codec_id) : CopyableAudio(st->codecpar->codec_id)) {
      out.par = CopyParameters(st->codecpar);
      if (st->codecpar->codec_id == AV_CODEC_ID_AAC && st->codecpar->extradata_size == 0) {
        TCD_RETURN_IF_ERROR(NewAdtsToAsc(st, &out.adts_to_asc));
      }
    } else {
      auto t = video ? NewVideoTranscoder(st, options_.segment_seconds, in->spec.url)
                     : NewAudioTranscoder(st, in->spec.url);
      if (!t.ok()) return t.status();
      out.transcoder = std::move(t).value();
      out.par.reset(avcodec_parameters_alloc());
      avcodec_parameters_from_context(out.par.get(), out.transcoder->encoder());
      tb = out.transcoder->encoder()->time_base;
    }
    if (video) {
      out.default_duration_us = std::llround(1e6 / av_q2d(StreamFrameRate(st)));
    } else {
      int rate = out.par->sample_rate > 0 ? out.par->sample_rate : 48000;
      int samples = out.par->frame_size > 0 ? out.par->frame_size : 1024;
      out.default_duration_us = int64_t{samples} * 1'000'000 / rate;
    }
    (video ? in->out_video : in->out_audio) = static_cast<int>(outs_.size());
    pars.push_back(out.par.get());
    time_bases.push_back(tb);
    outs_.push_back(std::move(out));
  }
  codecs_ = DescribeOutputs();
  auto m = Fmp4Muxer::Create(pars, time_bases);
  if (!m.ok()) return m.status();
  muxer_ = std::move(m).value();
  init_sent_ = false;
  spdlog::info("ingest: run {}: {}", run_, codecs_);
  return Status::OK();
}

std::string CaptureImpl::DescribeOutputs() const {
  std::string s;
  for (const auto& out : outs_) {
    const AVCodecParameters* p = out.par.get();
    if (!s.empty()) s += ", ";
    s += avcodec_get_name(p->codec_id);
    // Appended piece by piece: g++ 12 at -O3 reports a false -Wrestrict for `" " + string`.
    if (out.type == AVMEDIA_TYPE_VIDEO) {
      s += ' ';
      s += std::to_string(p->width) + "x" + std::to_string(p->height);
      s += ' ';
      s += std::to_string(std::lround(1e6 / std::max<int64_t>(1, out.default_duration_us)));
      s += "fps";
    } else {
      s += ' ';
      s += std::to_string(p->sample_rate) + "Hz ";
      s += std::to_string(p->ch_layout.nb_channels) + "ch";
    }
    s += out.transcoder ? " (encoded)" : " (copied)";
  }
  return s;
}

Status CaptureImpl::WriteOut(int out, AVPacket* pkt) {
  OutStream& os = outs_[out];
  if (pkt->duration <= 0) pkt->duration = os.default_duration_us;
  if (pkt->pts == AV_NOPTS_VALUE) pkt->pts = pkt->dts;
  if (pkt->dts == AV_NOPTS_VALUE) pkt->dts = pkt->pts;
  if (pkt->pts == AV_NOPTS_VALUE) return Status::OK();  // no timestamp at all: cannot be placed
  const int64_t end = SatAdd(pkt->pts, pkt->duration);
  if (os.type == AVMEDIA_TYPE_VIDEO) {
    const bool key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
    if (!video_started_ && !key) return Status::OK();  // a segment must start at a keyframe
    if (InputState* in = InputOf(out)) TCD_RETURN_IF_ERROR(OnMedia(*in));
    video_started_ = true;
    if (seg_open_) {
      // Safety cuts: after a timestamp discontinuity, or when the segment stays open far too
      // long (live: 3x its length in real time) or grows too big, cut at the next keyframe.
      const bool overdue = cut_pending_ || seg_bytes_ > kMaxSegmentBytes ||
                           (live_ && env_->MonotonicMicros() - seg_mono_us_ > 3 * segment_us_);
      if (key && (overdue || SatSub(pkt->pts, seg_start_us_) >= segment_us_ - 1000)) {
        TCD_RETURN_IF_ERROR(EmitSegment(false));
      } else if (overdue && !overdue_warned_) {
        overdue_warned_ = true;
        spdlog::warn("ingest: '{}': segment open for {:.1f} s ({} bytes) and no keyframe yet",
                     options_.video.url, (env_->MonotonicMicros() - seg_mono_us_) / 1e6,
                     seg_bytes_);
      }
    }
    if (!seg_open_) {
      seg_open_ = true;
      cut_pending_ = false;
      overdue_warned_ = false;
      seg_bytes_ = 0;
      seg_arrival_mono_us_ = 0;
      seg_start_us_ = pkt->pts;
      seg_end_us_ = pkt->pts;
      seg_mono_us_ = env_->MonotonicMicros();
      seg_wall_us_ = live_ ? env_->NowMicros() : start_wall_us_ + pkt->pts;
    }
    seg_end_us_ = std::max(seg_end_us_, end);
  } else if (!video_started_) {
    return Status::OK();  // audio before the first video keyframe would precede the segment
  } else if (InputState* in = InputOf(out); in != nullptr && !in->main) {
    TCD_RETURN_IF_ERROR(OnMedia(*in));  // a separate audio input
  }
  seg_bytes_ += pkt->size;
  seg_arrival_mono_us_ = std::max(seg_arrival_mono_us_, cur_arrival_mono_us_);
  timeline_end_us_ = std::max(timeline_end_us_, end);
  pkt->stream_index = out;
  pkt->pts = SatSub(pkt->pts, run_base_us_);
  pkt->dts = SatSub(pkt->dts, run_base_us_);
  return muxer_->Write(pkt);
}

Status CaptureImpl::EmitSegment(bool final) {
  if (muxer_ == nullptr || sink_failed_) return Status::OK();
  Bytes init, fragment;
  TCD_RETURN_IF_ERROR(final ? muxer_->Finish(&init, &fragment) : muxer_->Flush(&init, &fragment));
  Status s;
  if (!init.empty()) {
    s = sink_->OnInit(run_, std::move(init), codecs_);
    init_sent_ = s.ok();
  }
  if (s.ok() && !fragment.empty()) {
    MediaSegment seg;
    seg.index = next_index_++;
    seg.run = run_;
    seg.data = std::move(fragment);
    seg.media_start_us = seg_start_us_;
    seg.duration_us = seg_end_us_ - seg_start_us_;
    seg.wall_start_us = seg_wall_us_;
    seg.last_arrival_mono_us = seg_arrival_mono_us_;
    s = sink_->OnSegment(std::move(seg));
  }
  seg_open_ = false;
  if (!s.ok()) sink_failed_ = true;
  return s;
}

Status CaptureImpl::Finish() {
  if (muxer_ == nullptr || sink_failed_) return Status::OK();
  for (size_t i = 0; i < outs_.size(); ++i) {
    if (!outs_[i].transcoder) continue;
    std::vector<PacketPtr> pkts;
    TCD_RETURN_IF_ERROR(outs_[i].transcoder->Drain(&pkts));
    for (auto& p : pkts) {
      if (p->pts != AV_NOPTS_VALUE && p->pts >= max_us_) continue;
      TCD_RETURN_IF_ERROR(WriteOut(static_cast<int>(i), p.get()));
    }
  }
  Status s = EmitSegment(true);
  muxer_.reset();
  return s;
}

}  // namespace tcd::ingest
