// Private to ingest/: the "mp4" muxer writing fragmented MP4 into memory (no file, no disk).
// The init segment (ftyp+moov) and each fragment (moof+mdat) are returned as bytes; the
// trailer (mfra index) is dropped because init + fragments already play.
//
// Timestamps given to Write() are microseconds relative to the start of this muxer's run.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "ingest/av_util.h"

namespace tcd::ingest {

class Fmp4Muxer {
 public:
  // One output stream per entry, in order (stream_index of Write()'s packets).
  // `time_bases[i]` is a hint for stream i's time base.
  static Result<std::unique_ptr<Fmp4Muxer>> Create(
      const std::vector<const AVCodecParameters*>& streams,
      const std::vector<AVRational>& time_bases);
  Fmp4Muxer(const Fmp4Muxer&) = delete;
  Fmp4Muxer& operator=(const Fmp4Muxer&) = delete;
  ~Fmp4Muxer() = default;

  // Writes one packet (µs timestamps, stream_index set). The packet is consumed.
  Status Write(AVPacket* pkt);
  // Marks the next fragment as discontinuous (after a gap), so its tfdt carries the real
  // timestamp instead of continuing from the previous fragment.
  void MarkDiscontinuity();
  // Closes the pending fragment. *init receives the init segment the first time it is
  // available (else stays empty); *fragment the moof+mdat bytes (empty if nothing pending).
  Status Flush(Bytes* init, Bytes* fragment);
  // Flush() then the trailer (dropped). Call once, last.
  Status Finish(Bytes* init, Bytes* fragment);

 private:
  Fmp4Muxer() = default;
  static int OnWrite(void* opaque, uint8_t* buf, int size);
  void Split(Bytes* init, Bytes* fragment);

  AvioPtr avio_;
  OutputContextPtr oc_;
  Bytes buffer_;  // bytes written by the muxer and not yet returned
  bool init_done_ = false;
  std::vector<int64_t> last_dts_;  // per stream, in the stream's time base
};

}  // namespace tcd::ingest
