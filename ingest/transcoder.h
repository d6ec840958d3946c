// Private to ingest/: decode + re-encode of raw (or non-MP4) input streams. Video becomes H.264
// (libx264, yuv420p, keyframe forced every segment_seconds); audio becomes AAC (FFmpeg's native
// encoder) through swresample and an AVAudioFifo sized to the encoder's frame_size.
//
// Timestamps in and out are microseconds on the capture timeline (kMicros): packets given to
// Send() carry µs timestamps and the packets appended to `out` do too.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "base/status.h"
#include "ingest/av_util.h"

namespace tcd::ingest {

class Transcoder {
 public:
  virtual ~Transcoder() = default;
  // Decodes `pkt` (µs timestamps) and appends every packet the encoder produces to *out.
  virtual Status Send(const AVPacket* pkt, std::vector<PacketPtr>* out) = 0;
  // Drains decoder and encoder at the end of the capture.
  virtual Status Drain(std::vector<PacketPtr>* out) = 0;
  // Replaces the decoder after the input was reopened; the encoder (and so the output stream
  // parameters) stays.
  virtual Status ResetDecoder(const AVStream* in) = 0;
  // The encoder, for the output stream's codec parameters.
  virtual const AVCodecContext* encoder() const = 0;
};

// REQUIRES: `in` is a video stream. `segment_seconds` > 0.
Result<std::unique_ptr<Transcoder>> NewVideoTranscoder(const AVStream* in, double segment_seconds,
                                                       const std::string& url);
// REQUIRES: `in` is an audio stream.
Result<std::unique_ptr<Transcoder>> NewAudioTranscoder(const AVStream* in, const std::string& url);

// The next forced-keyframe time (µs) after a frame at `pts_us`, on the grid of `segment_us`
// steps through `next_key_us` (AV_NOPTS_VALUE: none yet; then the grid starts at pts_us). Before
// next_key_us it stays, unless pts_us went back more than two segments (the grid restarts at
// pts_us). Never loops or overflows, whatever the jump. REQUIRES: pts_us != AV_NOPTS_VALUE.
int64_t NextKeyUs(int64_t next_key_us, int64_t pts_us, int64_t segment_us);

// Frame rate of a video stream (avg, else r_frame_rate, else 25/1).
AVRational StreamFrameRate(const AVStream* st);

}  // namespace tcd::ingest
