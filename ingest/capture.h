// Capture: reads a live or recorded source with FFmpeg's libraries (in process) and cuts it into
// fragmented-MP4 (CMAF-style) segments in memory: one init segment (ftyp+moov) first, then media
// segments (moof+mdat), each starting at a video keyframe and lasting about
// CaptureOptions::segment_seconds. Plaintext media never touches the disk: segments are handed
// to a SegmentSink, which encrypts and stores them.
//
// Codecs: when the source is already encoded in a codec MP4 carries (H.264/HEVC video, AAC/MP3/
// Opus audio), packets are copied (no re-encoding). Raw input (lavfi, V4L2, ALSA, rawvideo, PCM)
// is encoded to H.264 (libx264) and AAC.
//
// The concatenation init + segment_1 + … + segment_n of one run is a playable MP4.
//
// Dropouts: when a live source fails mid-session (read error, EOF of a network stream) and
// CaptureOptions::reconnect is set, Capture reopens it with backoff until it comes back, the
// stop flag is raised or max_duration is reached. If it comes back with the same stream
// parameters, the run continues (timestamps continue at the real elapsed time) and the sink
// receives OnGap(from, to) before the next segment; if the parameters differ, a new run starts
// with a new init segment (OnInit again, after OnGap).
//
// Thread-safety: a Capture is used by one thread. `stop` may be set from any thread or a
// signal handler; Run() then finishes the current segment and returns OK.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "base/bytes.h"
#include "base/env.h"
#include "base/status.h"

namespace tcd::ingest {

struct SourceSpec {
  std::string url;     // anything avformat_open_input opens: file, rtmp://, rtsp://, srt://, /dev/video0,
                       // or a lavfi graph such as "testsrc2=size=1280x720:rate=25"
  std::string format;  // input format name ("lavfi", "v4l2", "alsa", "flv"...); empty = probe
  std::map<std::string, std::string> options;  // AVDictionary options for the input
};

struct CaptureOptions {
  SourceSpec video;                  // the main input; may also carry audio
  std::optional<SourceSpec> audio;   // a separate audio input muxed into the same recording
  double segment_seconds = 4.0;      // target segment length; cut at the first keyframe after it
  std::optional<double> max_duration_seconds;  // stop after this much media time
  bool realtime = false;             // pace file inputs at their native rate (like ffmpeg -re)
  bool reconnect = true;             // reopen a failed live source (see header comment)
  double reconnect_max_wait_seconds = 30.0;  // give up (Unavailable) after this long without source
  // When set and it becomes true, Open() gives up at once (Aborted-like Unavailable) instead of
  // waiting for its open timeout: lets a daemon stop promptly while a source is not live.
  const std::atomic<bool>* open_stop = nullptr;
};

struct MediaSegment {
  uint64_t index = 0;          // 0,1,2… across the whole capture (init segments not counted)
  uint32_t run = 0;            // which init segment this belongs to (0 for the first)
  Bytes data;                  // moof+mdat bytes
  int64_t media_start_us = 0;  // presentation start relative to the capture start
  int64_t duration_us = 0;     // presentation duration of the segment
  int64_t wall_start_us = 0;   // UTC wall clock (Env::NowMicros) of the segment's start: for
                               // live sources (network, device, lavfi) or realtime, when its
                               // first video packet arrived; for files, capture start + media_start_us
  int64_t last_arrival_mono_us = 0;  // Env::MonotonicMicros() when the segment's last packet was
                                     // read from the input (0: unknown): a sink measures from it
                                     // how long the segment took to become durable
};

// Receives segments in order. A non-OK return stops the capture; Run() returns that Status.
class SegmentSink {
 public:
  virtual ~SegmentSink() = default;
  // The init segment (ftyp+moov) of run `run`; called before that run's first segment.
  // `codecs` describes the streams in human-readable form ("h264 1280x720 25fps, aac 48000Hz 2ch").
  virtual Status OnInit(uint32_t run, Bytes init, const std::string& codecs) = 0;
  virtual Status OnSegment(MediaSegment segment) = 0;
  // The source was unavailable from wall clock `from_us` to `to_us` (UTC µs).
  virtual Status OnGap(int64_t from_us, int64_t to_us, const std::string& reason) = 0;
};

class Capture {
 public:
  // Opens the source(s) and prepares the pipeline. Fails with Unavailable (source cannot be
  // opened: names the URL and FFmpeg's reason) or InvalidArgument (no video stream, unsupported
  // format name). `env` (clock and sleep) must outlive the Capture.
  static Result<std::unique_ptr<Capture>> Open(const CaptureOptions& options, Env* env);
  virtual ~Capture() = default;

  // Captures until the source ends (file), max_duration is reached, `stop` becomes true, or
  // an unrecoverable error. The last partial segment is flushed to the sink before returning.
  virtual Status Run(SegmentSink* sink, const std::atomic<bool>* stop) = 0;
};

}  // namespace tcd::ingest
