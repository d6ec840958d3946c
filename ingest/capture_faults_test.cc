// Capture from misbehaving sources: a network dropout with reconnection and a reported gap, a
// source that never returns, publishers that connect and drop over and over (a local TCP server
// thread replaying FLV bytes), timestamps that start over mid-stream, and the saturating
// arithmetic of the forced-keyframe grid. Shared helpers in capture_test_util.h.
#include "ingest/capture.h"
#include "ingest/transcoder.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

extern "C" {
#include <libavformat/avformat.h>
}

#include "ingest/capture_test_util.h"

namespace tcd::ingest {
namespace {

using std::chrono::steady_clock;

TEST(CaptureTest, NetworkDropoutReconnectsAndReportsGap) {
  TempDir dir;
  const std::string file = dir.File("src.mp4");
  MakeH264File(file, 12, "320x240");
  const int port = FreePort();
  ClockEnv env;
  CaptureOptions o;
  o.video = {"tcp://127.0.0.1:" + std::to_string(port), "mpegts", {}};
  o.segment_seconds = 1;
  o.reconnect_max_wait_seconds = 10;

  auto server = std::make_unique<StreamServer>(file, port);
  ASSERT_TRUE(server->started());
  Result<std::unique_ptr<Capture>> capture = Status::Unavailable("not yet");
  for (int i = 0; i < 30 && !capture.ok(); ++i) {  // until the server listens
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    capture = Capture::Open(o, &env);
  }
  ASSERT_TRUE(capture.ok()) << capture.status().ToString();
  CollectingSink sink;
  std::atomic<bool> stop{false};
  Status result;
  std::thread runner([&] { result = (*capture)->Run(&sink, &stop); });

  std::this_thread::sleep_for(std::chrono::seconds(3));
  const int64_t outage_start = env.NowMicros();
  server->Kill();
  // Backoff retries at +0.5 s and +1.5 s after the loss: come back in between.
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  server = std::make_unique<StreamServer>(file, port);
  const int64_t outage_end = env.NowMicros();
  std::this_thread::sleep_for(std::chrono::seconds(3));
  stop = true;
  runner.join();
  server->Kill();

  EXPECT_TRUE(result.ok()) << result.ToString();
  ASSERT_EQ(sink.gaps.size(), 1u);
  const Gap& gap = sink.gaps[0];
  EXPECT_NEAR(gap.to_us - gap.from_us, outage_end - outage_start, 1'500'000);
  EXPECT_NEAR(gap.from_us, outage_start, 1'000'000);
  ASSERT_EQ(sink.inits.size(), 1u) << "same stream parameters must continue the run";
  ASSERT_GE(gap.segments_before, 2u);
  ASSERT_GE(sink.segments.size(), gap.segments_before + 2) << "segments continue after the gap";
  const MediaSegment& before = sink.segments[gap.segments_before - 1];
  const MediaSegment& after = sink.segments[gap.segments_before];
  // The media timeline jumps by the outage, like the wall clock.
  EXPECT_NEAR(after.media_start_us - (before.media_start_us + before.duration_us),
              gap.to_us - gap.from_us, 700'000);
  EXPECT_GE(after.wall_start_us, gap.to_us);

  WriteFile(dir.File("out.mp4"), sink.Concatenate(0));
  Probe p = ProbeFile(dir.File("out.mp4"));
  ASSERT_TRUE(p.ok);
  EXPECT_TRUE(p.has_video);
  EXPECT_TRUE(p.has_audio);
  EXPECT_EQ(RunCommand("ffmpeg -nostdin -v error -xerror -i " + dir.File("out.mp4") + " -f null -"),
            0);
  int64_t media_end = sink.segments.back().media_start_us + sink.segments.back().duration_us;
  EXPECT_NEAR(p.video_end_s, media_end / 1e6, 0.3);
}

TEST(CaptureTest, SourceThatNeverReturnsGivesUpWithUnavailable) {
  TempDir dir;
  const std::string file = dir.File("src.mp4");
  MakeH264File(file, 6, "320x240");
  const int port = FreePort();
  ClockEnv env;
  CaptureOptions o;
  o.video = {"tcp://127.0.0.1:" + std::to_string(port), "mpegts", {}};
  o.segment_seconds = 1;
  o.reconnect_max_wait_seconds = 1.5;
  StreamServer server(file, port);
  Result<std::unique_ptr<Capture>> capture = Status::Unavailable("not yet");
  for (int i = 0; i < 30 && !capture.ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    capture = Capture::Open(o, &env);
  }
  ASSERT_TRUE(capture.ok()) << capture.status().ToString();
  CollectingSink sink;
  std::atomic<bool> stop{false};
  Status result;
  std::thread runner([&] { result = (*capture)->Run(&sink, &stop); });
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  auto killed = steady_clock::now();
  server.Kill();
  runner.join();
  EXPECT_LT(steady_clock::now() - killed, std::chrono::seconds(4));
  EXPECT_TRUE(result.IsUnavailable()) << result.ToString();
  EXPECT_NE(result.message().find(o.video.url), std::string::npos) << result.ToString();
  EXPECT_TRUE(sink.gaps.empty());
  // What was captured before the loss was delivered and plays.
  ASSERT_GE(sink.segments.size(), 1u);
  WriteFile(dir.File("out.mp4"), sink.Concatenate(0));
  EXPECT_TRUE(ProbeFile(dir.File("out.mp4")).has_video);
}

// What a publisher sends before its first keyframe: the FLV file header, onMetaData and the
// AVC/AAC sequence headers, plus (`with_frames`) one audio frame and one non-key video frame,
// enough for the stream parameters to be known but nothing a segment can start with.
Bytes FlvWithoutKeyframes(const Bytes& flv, bool with_frames) {
  Bytes out(flv.begin(), flv.begin() + 13);  // FLV header (9) + PreviousTagSize0 (4)
  bool audio = !with_frames, video = !with_frames;
  size_t pos = 13;
  while (pos + 11 <= flv.size() && !(audio && video)) {
    const uint8_t type = flv[pos];
    const size_t size = (size_t{flv[pos + 1]} << 16) | (size_t{flv[pos + 2]} << 8) | flv[pos + 3];
    const size_t next = pos + 11 + size + 4;
    if (next > flv.size() || size < 2) break;
    const uint8_t* body = &flv[pos + 11];
    bool take = type == 18 || ((type == 8 || type == 9) && body[1] == 0);  // config
    if (!take && type == 8 && !audio) take = audio = true;
    if (!take && type == 9 && (body[0] >> 4) == 2 && !video) take = video = true;  // inter frame
    if (!take && !with_frames) break;
    if (take) out.insert(out.end(), flv.begin() + pos, flv.begin() + next);
    pos = next;
  }
  return out;
}

// A publisher that connects, sends its header and disconnects, over and over: no gap flood,
// growing backoff, and reconnect_max_wait_seconds counts from the last real media.
// Runs the capture on a thread for at most `seconds` (then raises its stop flag): whether it
// finished by itself, with what, and how long it ran.
struct TimedRun {
  Status result;
  bool finished = false;
  steady_clock::duration elapsed{};
};
TimedRun RunForAtMost(Capture* capture, SegmentSink* sink, int seconds) {
  TimedRun r;
  std::atomic<bool> stop{false}, finished{false};
  auto t0 = steady_clock::now();
  std::thread runner([&] {
    r.result = capture->Run(sink, &stop);
    finished = true;
  });
  while (!finished && steady_clock::now() - t0 < std::chrono::seconds(seconds))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  r.elapsed = steady_clock::now() - t0;
  r.finished = finished;
  stop = true;  // only matters when it did not end by itself
  runner.join();
  return r;
}

TEST(CaptureTest, FlappingSourceWithoutMediaEndsUnavailableWithoutGapFlood) {
  TempDir dir;
  const std::string file = dir.File("src.flv");
  MakeH264File(file, 2, "320x240");
  const Bytes flv = ReadAll(file);
  ASSERT_GT(flv.size(), 1000u);
  // with_frames: later connections are usable (same stream parameters) but end before any
  // keyframe; without: they send only the header, so the stream parameters stay unknown.
  for (bool with_frames : {true, false}) {
    SCOPED_TRACE(with_frames ? "header and non-key frames" : "header only");
    FlappingServer server(flv, FlvWithoutKeyframes(flv, with_frames));
    ClockEnv env;
    CaptureOptions o;
    o.video = {"tcp://127.0.0.1:" + std::to_string(server.port()), "flv", {}};
    o.segment_seconds = 1;
    o.reconnect_max_wait_seconds = 3;
    auto capture = Capture::Open(o, &env);
    ASSERT_TRUE(capture.ok()) << capture.status().ToString();
    CollectingSink sink;
    auto [result, finished, elapsed] = RunForAtMost(capture->get(), &sink, 10);
    EXPECT_TRUE(result.IsUnavailable()) << result.ToString();
    EXPECT_NE(result.message().find(o.video.url), std::string::npos) << result.ToString();
    EXPECT_LT(elapsed, std::chrono::seconds(6));
    EXPECT_LE(sink.gaps.size(), 1u);
    EXPECT_LE(server.connections(), 10) << "reconnects must back off";
    EXPECT_EQ(sink.inits.size(), 1u);
    ASSERT_GE(sink.segments.size(), 1u);  // the media of the first connection was delivered
  }
}

// Same source, but the limit is max_duration: the outage counts as media time, so the capture
// ends (OK) instead of reconnecting forever.
TEST(CaptureTest, FlappingSourceStopsAtMaxDuration) {
  TempDir dir;
  const std::string file = dir.File("src.flv");
  MakeH264File(file, 2, "320x240");
  const Bytes flv = ReadAll(file);
  FlappingServer server(flv, FlvWithoutKeyframes(flv, true));
  ClockEnv env;
  CaptureOptions o;
  o.video = {"tcp://127.0.0.1:" + std::to_string(server.port()), "flv", {}};
  o.segment_seconds = 1;
  o.reconnect_max_wait_seconds = 60;
  o.max_duration_seconds = 4;
  auto capture = Capture::Open(o, &env);
  ASSERT_TRUE(capture.ok()) << capture.status().ToString();
  CollectingSink sink;
  auto [result, finished, elapsed] = RunForAtMost(capture->get(), &sink, 10);
  EXPECT_TRUE(finished);
  EXPECT_TRUE(result.ok()) << result.ToString();
  EXPECT_LT(elapsed, std::chrono::seconds(6));
  EXPECT_LE(sink.gaps.size(), 1u);
}

// A source whose timestamps start over mid-stream without a disconnect (a publisher restart
// inside one session; raw MPEG-TS concatenation does the same): segments keep being cut, the
// media timeline stays monotonic and the recording plays.
TEST(CaptureTest, TimestampResetKeepsCuttingMonotonicSegments) {
  TempDir dir;
  const std::string part = dir.File("part.ts");
  const std::string cmd =
      "ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=320x240:rate=25 "
      "-f lavfi -i sine=frequency=440:sample_rate=48000 -t 3 -c:v libx264 -preset veryfast "
      "-g 25 -pix_fmt yuv420p -c:a aac -f mpegts " + part;
  ASSERT_EQ(RunCommand(cmd), 0) << cmd;
  const std::string joined = dir.File("joined.ts");
  ASSERT_EQ(RunCommand("cat " + part + " " + part + " " + part + " > " + joined), 0);
  ClockEnv env;
  CaptureOptions o;
  o.video = {joined, "mpegts", {}};
  o.segment_seconds = 1;
  auto capture = Capture::Open(o, &env);
  ASSERT_TRUE(capture.ok()) << capture.status().ToString();
  CollectingSink sink;
  ASSERT_TRUE((*capture)->Run(&sink, nullptr).ok());
  ASSERT_EQ(sink.inits.size(), 1u);
  EXPECT_GE(sink.segments.size(), 8u);
  for (size_t i = 0; i < sink.segments.size(); ++i) {
    const MediaSegment& s = sink.segments[i];
    EXPECT_LE(s.duration_us, 1'500'000) << "segment " << i;
    if (i > 0) {
      const MediaSegment& prev = sink.segments[i - 1];
      EXPECT_GT(s.media_start_us, prev.media_start_us) << "segment " << i;
      EXPECT_GE(s.media_start_us, prev.media_start_us + prev.duration_us - 100'000)
          << "segment " << i;
    }
  }
  EXPECT_NEAR(sink.TotalDurationUs(), 9'000'000, 400'000);

  WriteFile(dir.File("out.mp4"), sink.Concatenate(0));
  EXPECT_EQ(RunCommand("ffmpeg -nostdin -v error -xerror -i " + dir.File("out.mp4") + " -f null -"),
            0);
  Probe p = ProbeFile(dir.File("out.mp4"));
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.video_packets, 225);
  EXPECT_NEAR(p.video_end_s, 9.0, 0.3);
}

// The forced-keyframe grid of the video transcoder survives any timestamp jump.
TEST(CaptureTest, NextKeyframeTimeIsComputedWithoutLoopingOrOverflow) {
  EXPECT_EQ(NextKeyUs(AV_NOPTS_VALUE, 0, 1'000'000), 1'000'000);
  EXPECT_EQ(NextKeyUs(1'000'000, 1'000'000, 1'000'000), 2'000'000);
  EXPECT_EQ(NextKeyUs(1'000'000, 2'500'000, 1'000'000), 3'000'000);
  EXPECT_EQ(NextKeyUs(3'000'000, 2'500'000, 1'000'000), 3'000'000);  // not yet due
  // A jump of ~290000 years: one step, no loop.
  const int64_t far = int64_t{1} << 62;
  EXPECT_EQ(NextKeyUs(1'000'000, far + 123, 1'000'000), far - far % 1'000'000 + 1'000'000);
  // Near the top of the range: saturates instead of overflowing.
  EXPECT_EQ(NextKeyUs(1'000'000, INT64_MAX - 10, 1'000'000), INT64_MAX);
  EXPECT_EQ(NextKeyUs(INT64_MIN + 1, INT64_MAX, 7), INT64_MAX);
  // Backwards: the grid restarts at the frame.
  EXPECT_EQ(NextKeyUs(far, 5, 1'000'000), 1'000'005);
  EXPECT_EQ(SatAdd(INT64_MAX, 1), INT64_MAX);
  EXPECT_EQ(SatSub(INT64_MIN + 1, 1), INT64_MIN + 1);
  EXPECT_NE(SatAdd(INT64_MIN + 1, -1), AV_NOPTS_VALUE);
}

}  // namespace
}  // namespace tcd::ingest
