#include "ingest/fmp4_muxer.h"

#include <cstring>

extern "C" {
#include <libavutil/opt.h>
}

namespace tcd::ingest {
namespace {

constexpr int kAvioBufferSize = 64 * 1024;

// Offset of the first top-level box of type `type` in `b`, or b.size().
size_t FindTopLevelBox(const Bytes& b, const char* type) {
  size_t pos = 0;
  while (pos + 8 <= b.size()) {
    uint64_t size = (uint64_t{b[pos]} << 24) | (uint64_t{b[pos + 1]} << 16) |
                    (uint64_t{b[pos + 2]} << 8) | b[pos + 3];
    if (std::memcmp(&b[pos + 4], type, 4) == 0) return pos;
    if (size == 1 && pos + 16 <= b.size()) {
      size = 0;
      for (int i = 0; i < 8; ++i) size = (size << 8) | b[pos + 8 + i];
    }
    if (size < 8) return b.size();
    pos += size;
  }
  return b.size();
}

}  // namespace

int Fmp4Muxer::OnWrite(void* opaque, uint8_t* buf, int size) {
  auto* self = static_cast<Fmp4Muxer*>(opaque);
  self->buffer_.insert(self->buffer_.end(), buf, buf + size);
  return size;
}

Result<std::unique_ptr<Fmp4Muxer>> Fmp4Muxer::Create(
    const std::vector<const AVCodecParameters*>& streams,
    const std::vector<AVRational>& time_bases) {
  std::unique_ptr<Fmp4Muxer> m(new Fmp4Muxer());
  AVFormatContext* oc = nullptr;
  int err = avformat_alloc_output_context2(&oc, nullptr, "mp4", nullptr);
  if (err < 0) return AvStatus(err, "cannot create mp4 muxer");
  m->oc_.reset(oc);
  auto* buf = static_cast<uint8_t*>(av_malloc(kAvioBufferSize));
  m->avio_.reset(
      avio_alloc_context(buf, kAvioBufferSize, 1, m.get(), nullptr, &Fmp4Muxer::OnWrite, nullptr));
  if (m->avio_ == nullptr) {
    av_free(buf);
    return Status::IOError("cannot allocate mp4 output buffer");
  }
  m->avio_->seekable = 0;
  oc->pb = m->avio_.get();
  oc->flags |= AVFMT_FLAG_CUSTOM_IO;
  for (size_t i = 0; i < streams.size(); ++i) {
    AVStream* st = avformat_new_stream(oc, nullptr);
    if (st == nullptr) return Status::IOError("cannot add mp4 stream");
    err = avcodec_parameters_copy(st->codecpar, streams[i]);
    if (err < 0) return AvStatus(err, "mp4 stream parameters");
    st->codecpar->codec_tag = 0;
    st->time_base = time_bases[i];
  }
  Dictionary opts;
  // delay_moov: the moov is written with the first fragment, so codecs whose extradata is only
  // known after the first packet (AAC from ADTS, H.264 from Annex B) still get a valid moov.
  opts.Set("movflags", "frag_custom+empty_moov+default_base_moof+delay_moov");
  err = avformat_write_header(oc, opts.get());
  if (err < 0) return AvStatus(err, "cannot start mp4 muxer");
  m->last_dts_.assign(streams.size(), AV_NOPTS_VALUE);
  return m;
}

Status Fmp4Muxer::Write(AVPacket* pkt) {
  AVStream* st = oc_->streams[pkt->stream_index];
  av_packet_rescale_ts(pkt, kMicros, st->time_base);
  int64_t& last = last_dts_[pkt->stream_index];
  if (pkt->dts == AV_NOPTS_VALUE) pkt->dts = pkt->pts;
  if (last != AV_NOPTS_VALUE && pkt->dts <= last) pkt->dts = last + 1;  // keep dts strictly rising
  if (pkt->pts == AV_NOPTS_VALUE || pkt->pts < pkt->dts) pkt->pts = pkt->dts;
  last = pkt->dts;
  int err = av_write_frame(oc_.get(), pkt);
  av_packet_unref(pkt);
  if (err < 0) return AvStatus(err, "mp4 muxer write");
  return Status::OK();
}

void Fmp4Muxer::MarkDiscontinuity() { av_opt_set(oc_->priv_data, "movflags", "+frag_discont", 0); }

Status Fmp4Muxer::Flush(Bytes* init, Bytes* fragment) {
  int err = av_write_frame(oc_.get(), nullptr);
  if (err < 0) return AvStatus(err, "mp4 muxer flush");
  avio_flush(oc_->pb);
  if (!init_done_ && !buffer_.empty() && FindTopLevelBox(buffer_, "moof") == buffer_.size()) {
    // With delay_moov the first flush writes only ftyp+moov and keeps the samples pending;
    // flush again to get them as the first fragment.
    err = av_write_frame(oc_.get(), nullptr);
    if (err < 0) return AvStatus(err, "mp4 muxer flush");
    avio_flush(oc_->pb);
  }
  Split(init, fragment);
  return Status::OK();
}

Status Fmp4Muxer::Finish(Bytes* init, Bytes* fragment) {
  TCD_RETURN_IF_ERROR(Flush(init, fragment));
  int err = av_write_trailer(oc_.get());
  avio_flush(oc_->pb);
  buffer_.clear();  // the trailer (mfra) is not needed for playback
  if (err < 0) return AvStatus(err, "mp4 muxer trailer");
  return Status::OK();
}

void Fmp4Muxer::Split(Bytes* init, Bytes* fragment) {
  init->clear();
  fragment->clear();
  size_t moof = init_done_ ? 0 : FindTopLevelBox(buffer_, "moof");
  if (!init_done_) {
    if (moof == buffer_.size()) return;  // moov not written yet (nothing flushed)
    init->assign(buffer_.begin(), buffer_.begin() + moof);
    init_done_ = true;
  }
  fragment->assign(buffer_.begin() + moof, buffer_.end());
  buffer_.clear();
}

}  // namespace tcd::ingest
