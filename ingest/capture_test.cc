// Capture end to end with real FFmpeg sources that behave: lavfi (encoded to H.264/AAC), an
// H.264+AAC file (copied), unreachable sources and the stop flag. Misbehaving sources (network
// dropouts, flapping publishers, timestamp resets) are in capture_faults_test.cc; shared helpers
// in capture_test_util.h.
#include "ingest/capture.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "ingest/capture_test_util.h"

namespace tcd::ingest {
namespace {

using std::chrono::steady_clock;

TEST(CaptureTest, LavfiWithSeparateAudioIsEncodedIntoPlayableSegments) {
  ClockEnv env;
  CaptureOptions o;
  o.video = {"testsrc2=size=640x360:rate=25", "lavfi", {}};
  o.audio = SourceSpec{"sine=frequency=440:sample_rate=48000", "lavfi", {}};
  o.segment_seconds = 2;
  o.max_duration_seconds = 10;
  auto capture = Capture::Open(o, &env);
  ASSERT_TRUE(capture.ok()) << capture.status().ToString();
  CollectingSink sink;
  std::atomic<bool> stop{false};
  ASSERT_TRUE((*capture)->Run(&sink, &stop).ok());

  ASSERT_EQ(sink.inits.size(), 1u);
  EXPECT_EQ(BoxType(sink.inits[0]), "ftyp");
  EXPECT_NE(sink.codec_strings[0].find("h264 640x360"), std::string::npos) << sink.codec_strings[0];
  EXPECT_NE(sink.codec_strings[0].find("aac"), std::string::npos);
  ASSERT_GE(sink.segments.size(), 5u);
  ASSERT_LE(sink.segments.size(), 6u);
  for (const auto& s : sink.segments) {
    EXPECT_EQ(BoxType(s.data), "moof") << "segment " << s.index;
    EXPECT_EQ(s.run, 0u);
  }
  for (size_t i = 0; i + 1 < sink.segments.size(); ++i) {
    EXPECT_NEAR(sink.segments[i].duration_us, 2'000'000, 100'000) << "segment " << i;
    EXPECT_EQ(sink.segments[i].media_start_us + sink.segments[i].duration_us,
              sink.segments[i + 1].media_start_us);
  }
  EXPECT_EQ(sink.segments[0].media_start_us, 0);
  EXPECT_NEAR(sink.TotalDurationUs(), 10'000'000, 100'000);

  TempDir dir;
  WriteFile(dir.File("out.mp4"), sink.Concatenate(0));
  Probe p = ProbeFile(dir.File("out.mp4"));
  ASSERT_TRUE(p.ok);
  EXPECT_TRUE(p.has_video);
  EXPECT_TRUE(p.has_audio);
  EXPECT_NEAR(p.format_duration_s, 10.0, 0.5);
  EXPECT_NEAR(p.video_end_s, 10.0, 0.1);
  EXPECT_EQ(p.video_packets, 250);

  // Each segment starts at a keyframe: init + any one segment decodes on its own.
  Bytes one = sink.inits[0];
  one.insert(one.end(), sink.segments[2].data.begin(), sink.segments[2].data.end());
  WriteFile(dir.File("one.mp4"), one);
  EXPECT_EQ(RunCommand("ffmpeg -nostdin -v error -xerror -i " + dir.File("one.mp4") + " -f null -"),
            0);
  Probe single = ProbeFile(dir.File("one.mp4"));
  EXPECT_EQ(single.video_packets, 50);
}

TEST(CaptureTest, H264FileIsRemuxedNotReencoded) {
  TempDir dir;
  const std::string in = dir.File("in.mp4");
  MakeH264File(in, 8, "640x360");
  ClockEnv env;
  CaptureOptions o;
  o.video = {in, "", {}};
  o.segment_seconds = 2;
  auto capture = Capture::Open(o, &env);
  ASSERT_TRUE(capture.ok()) << capture.status().ToString();
  CollectingSink sink;
  ASSERT_TRUE((*capture)->Run(&sink, nullptr).ok());
  ASSERT_EQ(sink.inits.size(), 1u);
  EXPECT_NE(sink.codec_strings[0].find("(copied)"), std::string::npos) << sink.codec_strings[0];
  EXPECT_EQ(sink.segments.size(), 4u);
  EXPECT_NEAR(sink.TotalDurationUs(), 8'000'000, 100'000);

  WriteFile(dir.File("out.mp4"), sink.Concatenate(0));
  Probe src = ProbeFile(in);
  Probe out = ProbeFile(dir.File("out.mp4"));
  ASSERT_TRUE(out.ok);
  EXPECT_TRUE(out.has_audio);
  // Copied, not re-encoded: same avcC and byte-identical packets.
  EXPECT_EQ(out.video_extradata, src.video_extradata);
  EXPECT_EQ(out.first_video_packet, src.first_video_packet);
  EXPECT_EQ(out.video_packets, src.video_packets);
  EXPECT_NEAR(out.format_duration_s, 8.0, 0.5);
}

TEST(CaptureTest, UnreachableSourcesFailFastWithUrl) {
  ClockEnv env;
  for (std::string url : {"/nonexistent/dir/cam.mp4", "rtmp://127.0.0.1:1/x"}) {
    CaptureOptions o;
    o.video = {url, "", {}};
    auto t0 = steady_clock::now();
    auto capture = Capture::Open(o, &env);
    ASSERT_FALSE(capture.ok());
    EXPECT_TRUE(capture.status().IsUnavailable()) << capture.status().ToString();
    EXPECT_NE(capture.status().message().find(url), std::string::npos);
    EXPECT_LT(steady_clock::now() - t0, std::chrono::seconds(3));
  }
  CaptureOptions o;
  o.video = {"testsrc2", "no-such-format", {}};
  auto capture = Capture::Open(o, &env);
  ASSERT_FALSE(capture.ok());
  EXPECT_TRUE(capture.status().IsInvalidArgument());
  EXPECT_NE(capture.status().message().find("no-such-format"), std::string::npos);

  o.video = {"sine", "lavfi", {}};  // audio only
  capture = Capture::Open(o, &env);
  ASSERT_FALSE(capture.ok());
  EXPECT_TRUE(capture.status().IsInvalidArgument()) << capture.status().ToString();
}

TEST(CaptureTest, StopFlagEndsRunAndDeliversPartialSegment) {
  ClockEnv env;
  CaptureOptions o;
  o.video = {"testsrc2=size=320x240:rate=25", "lavfi", {}};
  o.segment_seconds = 2;
  o.realtime = true;
  auto capture = Capture::Open(o, &env);
  ASSERT_TRUE(capture.ok()) << capture.status().ToString();
  CollectingSink sink;
  std::atomic<bool> stop{false};
  auto t0 = steady_clock::now();
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::seconds(3));
    stop = true;
  });
  Status s = (*capture)->Run(&sink, &stop);
  stopper.join();
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_LT(steady_clock::now() - t0, std::chrono::milliseconds(4500));
  ASSERT_EQ(sink.segments.size(), 2u);
  EXPECT_NEAR(sink.segments[0].duration_us, 2'000'000, 100'000);
  EXPECT_GT(sink.segments[1].duration_us, 500'000);  // the partial one, ~1 s
  EXPECT_LT(sink.segments[1].duration_us, 1'600'000);
  // Realtime: wall-clock starts follow the media.
  EXPECT_NEAR(sink.segments[1].wall_start_us - sink.segments[0].wall_start_us, 2'000'000, 300'000);
  // Each segment says when its last packet arrived (a sink times its commit from there): before
  // the sink got it, after the previous segment's, and after the capture began.
  const int64_t t0_us =
      std::chrono::duration_cast<std::chrono::microseconds>(t0.time_since_epoch()).count();
  for (size_t i = 0; i < sink.segments.size(); ++i) {
    const int64_t arrived = sink.segments[i].last_arrival_mono_us;
    EXPECT_GE(arrived, t0_us) << "segment " << i;
    EXPECT_LE(arrived, sink.received_mono_us[i]) << "segment " << i;
    if (i > 0) {
      EXPECT_GT(arrived, sink.segments[i - 1].last_arrival_mono_us) << "segment " << i;
    }
  }
}

}  // namespace
}  // namespace tcd::ingest
