// Read side of CaptureImpl: opening, interleaving two inputs by timestamp, realtime pacing,
// max duration, stop, and reconnection after a dropout.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>

#include "ingest/capture_impl.h"

namespace tcd::ingest {
namespace {

constexpr int64_t kBackoffStartUs = 500'000;
constexpr int64_t kBackoffMaxUs = 8'000'000;
constexpr int64_t kSleepSliceUs = 100'000;  // sleeps wake this often to honour `stop`

bool SameCodec(const AVCodecParameters* a, const AVCodecParameters* b) {
  return a->codec_id == b->codec_id && a->width == b->width && a->height == b->height &&
         a->sample_rate == b->sample_rate && a->ch_layout.nb_channels == b->ch_layout.nb_channels &&
         a->extradata_size == b->extradata_size &&
         (a->extradata_size == 0 ||
          std::memcmp(a->extradata, b->extradata, a->extradata_size) == 0);
}

}  // namespace

Result<std::unique_ptr<Capture>> Capture::Open(const CaptureOptions& options, Env* env) {
  if (!(options.segment_seconds > 0)) {
    return Status::InvalidArgument("segment_seconds must be positive");
  }
  auto c = std::make_unique<CaptureImpl>(options, env);
  TCD_RETURN_IF_ERROR(c->OpenInputs());
  return std::unique_ptr<Capture>(std::move(c));
}

CaptureImpl::CaptureImpl(const CaptureOptions& options, Env* env)
    : options_(options),
      env_(env),
      segment_us_(std::llround(options.segment_seconds * 1e6)),
      max_us_(options.max_duration_seconds ? std::llround(*options.max_duration_seconds * 1e6)
                                           : INT64_MAX) {}

Status CaptureImpl::OpenInputs() {
  inputs_.resize(options_.audio ? 2 : 1);
  inputs_[0].spec = options_.video;
  inputs_[0].main = true;
  if (options_.audio) inputs_[1].spec = *options_.audio;
  for (auto& in : inputs_) {
    auto r = Input::Open(in.spec, in.main, env_, nullptr);
    if (!r.ok()) return r.status();
    in.input = std::move(r).value();
  }
  live_ = options_.realtime || inputs_[0].input->is_live();
  return BuildOutputs();
}

Status CaptureImpl::Run(SegmentSink* sink, const std::atomic<bool>* stop) {
  if (sink_ != nullptr) return Status::InvalidArgument("Capture::Run called twice");
  sink_ = sink;
  stop_ = stop;
  start_wall_us_ = env_->NowMicros();
  for (auto& in : inputs_) in.input->set_stop(stop);
  Status s = Loop();
  if (sink_failed_) return s;
  Status f = Finish();
  spdlog::info("ingest: '{}' finished: {} segments", options_.video.url, next_index_);
  return s.ok() ? f : s;
}

Status CaptureImpl::Loop() {
  while (!ended_ && !Stopped()) {
    for (auto& in : inputs_) {
      if (!in.done && in.pending == nullptr) TCD_RETURN_IF_ERROR(Fill(in));
      if (ended_ || Stopped()) return Status::OK();
    }
    InputState* next = nullptr;
    for (auto& in : inputs_) {
      if (in.pending != nullptr && (next == nullptr || in.pending_us < next->pending_us)) {
        next = &in;
      }
    }
    if (next == nullptr) {
      // Nothing pending: all inputs ended, or one just reconnected or skipped a packet.
      if (std::all_of(inputs_.begin(), inputs_.end(), [](const auto& in) { return in.done; })) {
        return Status::OK();
      }
      continue;
    }
    Pace(*next);
    PacketPtr pkt = std::move(next->pending);
    TCD_RETURN_IF_ERROR(Process(*next, pkt.get()));
  }
  return Status::OK();
}

// Reads the next packet of `in` into in.pending, handling end of stream and dropouts.
Status CaptureImpl::Fill(InputState& in) {
  PacketPtr pkt = MakePacket();
  bool eof = false;
  Status s = in.input->Read(pkt.get(), &eof);
  if (s.IsAborted()) return Status::OK();  // stop raised; Loop() notices
  if (s.ok() && !eof) {
    AVStream* st = in.input->video() != nullptr && pkt->stream_index == in.input->video()->index
                       ? in.input->video()
                       : in.input->audio();
    av_packet_rescale_ts(pkt.get(), st->time_base, kMicros);
    int64_t ts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
    if (ts == AV_NOPTS_VALUE) return Status::OK();  // unusable; read the next one
    if (in.origin_us == AV_NOPTS_VALUE) in.origin_us = ts;
    const int64_t shift = in.offset_us - in.origin_us;
    if (pkt->pts != AV_NOPTS_VALUE) pkt->pts += shift;
    if (pkt->dts != AV_NOPTS_VALUE) pkt->dts += shift;
    in.pending_us = ts + shift;
    in.pending = std::move(pkt);
    return Status::OK();
  }
  const bool dropout = !s.ok() || in.input->is_network();
  if (!dropout || !options_.reconnect) {
    in.done = true;
    if (in.main) ended_ = true;
    if (!s.ok()) return s;
    spdlog::info("ingest: '{}' ended", in.spec.url);
    return Status::OK();
  }
  return Reconnect(in, s.ok() ? "end of stream" : s.message());
}

Status CaptureImpl::Reconnect(InputState& in, const std::string& reason) {
  const int64_t loss_wall = env_->NowMicros();
  const int64_t loss_mono = env_->MonotonicMicros();
  spdlog::warn("ingest: source '{}' lost ({}); reconnecting", in.spec.url, reason);
  TCD_RETURN_IF_ERROR(EmitSegment(false));
  in.input.reset();
  std::string last_error = reason;
  int64_t backoff = kBackoffStartUs;
  const int64_t max_wait = std::llround(options_.reconnect_max_wait_seconds * 1e6);
  std::unique_ptr<Input> fresh;
  while (fresh == nullptr) {
    if (Stopped()) return Status::OK();
    const int64_t elapsed = env_->MonotonicMicros() - loss_mono;
    if (max_us_ != INT64_MAX && timeline_end_us_ + elapsed >= max_us_) {
      ended_ = true;
      return Status::OK();
    }
    if (elapsed >= max_wait) {
      ended_ = true;
      return Status::Unavailable("source '" + in.spec.url + "' unavailable for " +
                                 std::to_string(elapsed / 1'000'000) + " s: " + last_error);
    }
    auto r = Input::Open(in.spec, in.main, env_, stop_);
    if (r.ok()) {
      fresh = std::move(r).value();
    } else {
      last_error = r.status().message();
      SleepInterruptible(std::min(backoff, max_wait - elapsed));
      backoff = std::min(backoff * 2, kBackoffMaxUs);
    }
  }
  const int64_t gap_us = fresh->connected_mono_us() - loss_mono;
  const int64_t resume_wall = fresh->connected_wall_us();
  const bool same = SameParameters(in, *fresh);
  in.input = std::move(fresh);
  in.origin_us = AV_NOPTS_VALUE;
  in.offset_us = timeline_end_us_ + gap_us;
  in.pace_mono_us = AV_NOPTS_VALUE;
  if (in.main) video_started_ = false;
  spdlog::warn("ingest: source '{}' back after {:.1f} s ({})", in.spec.url, gap_us / 1e6,
               same ? "same parameters" : "new parameters: new run");
  Status s = sink_->OnGap(loss_wall, resume_wall, reason);
  if (!s.ok()) {
    sink_failed_ = true;
    return s;
  }
  if (same) {
    for (int out : {in.out_video, in.out_audio}) {
      if (out >= 0 && outs_[out].transcoder) {
        AVStream* st =
            outs_[out].type == AVMEDIA_TYPE_VIDEO ? in.input->video() : in.input->audio();
        TCD_RETURN_IF_ERROR(outs_[out].transcoder->ResetDecoder(st));
      }
    }
    muxer_->MarkDiscontinuity();
    return Status::OK();
  }
  TCD_RETURN_IF_ERROR(EmitSegment(true));  // trailer of the old run (dropped)
  ++run_;
  run_base_us_ = in.offset_us;
  for (auto& other : inputs_) {
    if (&other == &in) continue;  // other inputs continue: rebase them on the new run too
    other.pace_mono_us = AV_NOPTS_VALUE;
  }
  return BuildOutputs();
}

bool CaptureImpl::SameParameters(const InputState& in, const Input& fresh) const {
  for (int out : {in.out_video, in.out_audio}) {
    if (out < 0) continue;
    const bool video = outs_[out].type == AVMEDIA_TYPE_VIDEO;
    const AVStream* st = video ? fresh.video() : fresh.audio();
    if (st == nullptr) return false;
    if (outs_[out].transcoder) continue;  // encoder output parameters never change
    if (!SameCodec(outs_[out].par.get(), st->codecpar)) return false;
  }
  // A stream the old connection did not carry appeared: new run.
  if (in.main && inputs_.size() == 1 && in.out_audio < 0 && fresh.audio() != nullptr) return false;
  return true;
}

Status CaptureImpl::Process(InputState& in, AVPacket* pkt) {
  const bool video = in.input->video() != nullptr && pkt->stream_index == in.input->video()->index;
  const int out = video ? in.out_video : in.out_audio;
  if (out < 0) return Status::OK();
  const int64_t ts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
  if (ts >= max_us_) {
    if (video) ended_ = true;
    return Status::OK();
  }
  if (!outs_[out].transcoder) return WriteCopied(out, pkt);
  std::vector<PacketPtr> encoded;
  TCD_RETURN_IF_ERROR(outs_[out].transcoder->Send(pkt, &encoded));
  for (auto& p : encoded) TCD_RETURN_IF_ERROR(WriteOut(out, p.get()));
  return Status::OK();
}

void CaptureImpl::Pace(InputState& in) {
  if (!options_.realtime) return;
  const int64_t now = env_->MonotonicMicros();
  if (in.pace_mono_us == AV_NOPTS_VALUE) {
    in.pace_mono_us = now;
    in.pace_ts_us = in.pending_us;
    return;
  }
  SleepInterruptible(in.pace_mono_us + (in.pending_us - in.pace_ts_us) - now);
}

void CaptureImpl::SleepInterruptible(int64_t micros) {
  while (micros > 0 && !Stopped()) {
    const int64_t slice = std::min(micros, kSleepSliceUs);
    env_->SleepMicros(slice);
    micros -= slice;
  }
}

}  // namespace tcd::ingest
