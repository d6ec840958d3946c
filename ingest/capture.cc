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
// Media must flow this long (or two segments, if shorter) before backoff starts over.
constexpr int64_t kStableUs = 10'000'000;
// A source timestamp going back more than this within one stream is a discontinuity.
constexpr int64_t kBackwardJumpUs = 1'000'000;
// A live source that delivered nothing for longer than this and then resumes with a hole in
// (or a reset of) its timestamps was away: the outage becomes a gap, like a reconnection.
constexpr int64_t kStallGapUs = 1'500'000;

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
    auto r = Input::Open(in.spec, in.main, env_, options_.open_stop);
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
  for (auto& in : inputs_) {
    in.input->set_stop(stop);
    in.input->set_read_timeout_us(ReadTimeoutUs());
  }
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
    // A paced file's packet "arrives" when pacing releases it, a live packet when it was read.
    cur_arrival_mono_us_ = options_.realtime ? env_->MonotonicMicros() : next->pending_mono_us;
    TCD_RETURN_IF_ERROR(Process(*next, pkt.get()));
  }
  return Status::OK();
}

// A live source silent for longer than the allowed wait is lost even when its connection stays
// open (a relay such as nginx keeps players connected while the publisher is away), so a read
// waits at most that long (1 to 10 s).
int64_t CaptureImpl::ReadTimeoutUs() const {
  const double wait = options_.reconnect ? options_.reconnect_max_wait_seconds : 10.0;
  return std::llround(std::clamp(wait, 1.0, 10.0) * 1e6);
}

// Reads the next packet of `in` into in.pending, handling end of stream and dropouts.
Status CaptureImpl::Fill(InputState& in) {
  PacketPtr pkt = MakePacket();
  bool eof = false;
  Status s = in.input->Read(pkt.get(), &eof);
  if (s.IsAborted()) return Status::OK();  // stop raised; Loop() notices
  if (s.ok() && !eof) {
    const bool video =
        in.input->video() != nullptr && pkt->stream_index == in.input->video()->index;
    AVStream* st = video ? in.input->video() : in.input->audio();
    av_packet_rescale_ts(pkt.get(), st->time_base, kMicros);
    const int64_t ts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
    if (ts == AV_NOPTS_VALUE) return Status::OK();  // unusable; read the next one
    if (in.origin_us == AV_NOPTS_VALUE) in.origin_us = ts;
    int64_t t = SatAdd(ts, SatSub(in.offset_us, in.origin_us));
    int64_t& last = in.last_ts_us[video ? 0 : 1];
    const int64_t forward_limit = segment_us_ > INT64_MAX / 10 ? INT64_MAX : 10 * segment_us_;
    const int64_t now_mono = env_->MonotonicMicros();
    const int64_t stalled = in.last_pkt_mono_us == AV_NOPTS_VALUE
                                ? 0 : SatSub(now_mono, in.last_pkt_mono_us);
    const bool jumped = last != AV_NOPTS_VALUE &&
                        (t < SatSub(last, kBackwardJumpUs) || SatSub(t, last) > forward_limit);
    const bool hole = last != AV_NOPTS_VALUE && SatSub(t, last) > kStallGapUs;
    int64_t away = 0;  // the source was away this long, on the same connection
    if (live_ && in.main && stalled > kStallGapUs && (jumped || hole) && !in.outage) {
      const int64_t max_wait = std::llround(options_.reconnect_max_wait_seconds * 1e6);
      if (stalled >= max_wait) {
        ended_ = true;
        return Status::Unavailable("source '" + in.spec.url + "' sent no media for " +
                                   std::to_string(stalled / 1'000'000) +
                                   " s (longer than the allowed wait)");
      }
      away = stalled;
      in.outage = true;
      in.loss_mono_us = in.last_pkt_mono_us;
      in.loss_wall_us = in.last_pkt_wall_us;
      in.resume_wall_us = env_->NowMicros();
      in.loss_reason = "no media for " + std::to_string(stalled / 1000) +
                       " ms on the open connection (publisher stopped and restarted?)";
      spdlog::warn("ingest: '{}' {}", in.spec.url, in.loss_reason);
      muxer_->MarkDiscontinuity();
      if (in.main) cut_pending_ = true;
    }
    if (jumped) {
      // The source's clock jumped without a disconnect (publisher restart in one session):
      // continue the timeline after this input's latest packet (plus the time the source was
      // away, so the timeline keeps real time), and start a new segment.
      spdlog::warn("ingest: '{}' {} timestamps jumped by {:.3f} s; continuing the timeline",
                   in.spec.url, video ? "video" : "audio", SatSub(t, last) / 1e6);
      in.origin_us = ts;
      in.offset_us = SatAdd(in.end_us, away);
      t = in.offset_us;
      if (in.main) cut_pending_ = true;
    }
    in.last_pkt_mono_us = now_mono;
    in.last_pkt_wall_us = env_->NowMicros();
    const int64_t shift = SatSub(in.offset_us, in.origin_us);
    if (pkt->pts != AV_NOPTS_VALUE) pkt->pts = SatAdd(pkt->pts, shift);
    if (pkt->dts != AV_NOPTS_VALUE) pkt->dts = SatAdd(pkt->dts, shift);
    last = t;
    const int out = video ? in.out_video : in.out_audio;
    const int64_t duration = pkt->duration > 0                        ? pkt->duration
                             : out >= 0 && out < int(outs_.size()) ? outs_[out].default_duration_us
                                                                      : 0;
    const int64_t latest = pkt->pts != AV_NOPTS_VALUE ? std::max(pkt->pts, t) : t;
    in.end_us = std::max(in.end_us, SatAdd(latest, duration));
    in.pending_us = t;
    in.pending_mono_us = now_mono;
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

// Real media of `in` is about to be written: ends its outage (reporting the gap once, however
// many empty connections it spanned) and, once media has flowed for a while, resets backoff.
Status CaptureImpl::OnMedia(InputState& in) {
  const int64_t now = env_->MonotonicMicros();
  if (in.media_mono_us == AV_NOPTS_VALUE) in.media_mono_us = now;
  if (in.backoff_armed && now - in.media_mono_us >= std::min(kStableUs, 2 * segment_us_)) {
    in.backoff_armed = false;
    in.backoff_us = kBackoffStartUs;
  }
  if (!in.outage) return Status::OK();
  in.outage = false;
  Status s = sink_->OnGap(in.loss_wall_us, in.resume_wall_us, in.loss_reason);
  if (!s.ok()) sink_failed_ = true;
  return s;
}

CaptureImpl::InputState* CaptureImpl::InputOf(int out) {
  for (auto& in : inputs_) {
    if (in.out_video == out || in.out_audio == out) return &in;
  }
  return nullptr;
}

Status CaptureImpl::Reconnect(InputState& in, const std::string& reason) {
  if (!in.outage) {
    // The source was lost when its last packet arrived (a read timeout notices it later).
    in.outage = true;
    const bool known = in.last_pkt_mono_us != AV_NOPTS_VALUE;
    in.loss_mono_us = known ? in.last_pkt_mono_us : env_->MonotonicMicros();
    in.loss_wall_us = known ? in.last_pkt_wall_us : env_->NowMicros();
    in.loss_reason = reason;
    spdlog::warn("ingest: source '{}' lost ({}); reconnecting", in.spec.url, reason);
  } else {
    // The previous reconnection delivered no media: the same outage goes on.
    spdlog::info("ingest: source '{}' dropped again before sending media ({})", in.spec.url,
                 reason);
  }
  TCD_RETURN_IF_ERROR(EmitSegment(false));
  in.input.reset();
  std::string last_error = reason;
  if (in.backoff_us <= 0) in.backoff_us = kBackoffStartUs;
  // A connection that did not deliver media for long enough does not earn an immediate retry.
  int64_t wait = in.backoff_armed ? in.backoff_us : 0;
  const int64_t max_wait = std::llround(options_.reconnect_max_wait_seconds * 1e6);
  std::unique_ptr<Input> fresh;
  for (;;) {
    if (Stopped()) return Status::OK();
    // Counted from the loss of real media, not from the latest (empty) connection.
    const int64_t elapsed = env_->MonotonicMicros() - in.loss_mono_us;
    if (max_us_ != INT64_MAX && SatAdd(timeline_end_us_, elapsed) >= max_us_) {
      ended_ = true;
      return Status::OK();
    }
    if (elapsed >= max_wait) {
      ended_ = true;
      return Status::Unavailable("source '" + in.spec.url + "' unavailable for " +
                                 std::to_string(elapsed / 1'000'000) + " s: " + last_error);
    }
    if (wait > 0) {
      int64_t slice = std::min(wait, max_wait - elapsed);
      if (max_us_ != INT64_MAX) slice = std::min(slice, max_us_ - timeline_end_us_ - elapsed);
      SleepInterruptible(slice);
      in.backoff_us = std::min(in.backoff_us * 2, kBackoffMaxUs);
      wait = 0;
      continue;
    }
    auto r = Input::Open(in.spec, in.main, env_, stop_);
    if (r.ok() && !Usable(**r)) {
      r = Status::Unavailable("source '" + in.spec.url +
                              "' connected but sent no media (stream parameters unknown)");
    }
    if (r.ok()) {
      fresh = std::move(r).value();
      break;
    }
    last_error = r.status().message();
    wait = in.backoff_us;
  }
  // From now on every drop of this connection waits before retrying, until media has flowed.
  in.backoff_armed = true;
  in.media_mono_us = AV_NOPTS_VALUE;
  const int64_t gap_us = fresh->connected_mono_us() - in.loss_mono_us;
  in.resume_wall_us = fresh->connected_wall_us();
  const bool same = SameParameters(in, *fresh);
  in.input = std::move(fresh);
  in.input->set_read_timeout_us(ReadTimeoutUs());
  in.origin_us = AV_NOPTS_VALUE;
  in.offset_us = SatAdd(timeline_end_us_, gap_us);
  in.last_ts_us[0] = in.last_ts_us[1] = AV_NOPTS_VALUE;
  in.end_us = std::max(in.end_us, in.offset_us);
  in.pace_mono_us = AV_NOPTS_VALUE;
  if (in.main) video_started_ = false;
  spdlog::warn("ingest: source '{}' connected after {:.1f} s ({})", in.spec.url, gap_us / 1e6,
               same ? "same parameters" : "new parameters: new run");
  // OnGap is reported by OnMedia, when this connection delivers media.
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
  // A run that never sent its init segment (no media since it began) keeps its number.
  if (init_sent_) ++run_;
  run_base_us_ = in.offset_us;
  for (auto& other : inputs_) {
    if (&other == &in) continue;  // other inputs continue: rebase them on the new run too
    other.pace_mono_us = AV_NOPTS_VALUE;
  }
  return BuildOutputs();
}

// A fresh connection is usable when its selected streams have the parameters the output
// needs (a publisher that sent only its header has none yet: video without a size).
bool CaptureImpl::Usable(const Input& fresh) const {
  const AVStream* v = fresh.video();
  if (v != nullptr && (v->codecpar->width <= 0 || v->codecpar->height <= 0)) return false;
  const AVStream* a = fresh.audio();
  if (a != nullptr && v == nullptr &&
      (a->codecpar->sample_rate <= 0 || a->codecpar->ch_layout.nb_channels <= 0)) {
    return false;
  }
  return true;
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
  if (ts != AV_NOPTS_VALUE && ts >= max_us_) {
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
