// Capture end to end with real FFmpeg sources: lavfi (encoded to H.264/AAC), an H.264+AAC file
// (copied), unreachable sources, the stop flag and a network dropout with reconnection.
#include "ingest/capture.h"
#include "ingest/transcoder.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>
#include <vector>

extern "C" {
#include <libavformat/avformat.h>
}

extern char** environ;

namespace tcd::ingest {
namespace {

using std::chrono::steady_clock;

// Only the clock is real; the file system is not needed by ingest.
class ClockEnv : public Env {
 public:
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string&, uint32_t) override {
    return Status::IOError("not in ClockEnv");
  }
  Result<Bytes> ReadFile(const std::string&) override { return Status::IOError("no"); }
  bool FileExists(const std::string&) override { return false; }
  Result<uint64_t> FileSize(const std::string&) override { return Status::IOError("no"); }
  Status RenameFile(const std::string&, const std::string&) override { return Unsupported(); }
  Status RemoveFile(const std::string&) override { return Unsupported(); }
  Status SyncDir(const std::string&) override { return Unsupported(); }
  Status CreateDirs(const std::string&) override { return Unsupported(); }
  Result<std::vector<std::string>> ListDir(const std::string&) override { return Unsupported(); }
  Result<uint64_t> FreeBytes(const std::string&) override { return Unsupported(); }
  int64_t NowMicros() override {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
  }
  int64_t MonotonicMicros() override {
    using namespace std::chrono;
    return duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count();
  }
  void SleepMicros(int64_t micros) override {
    std::this_thread::sleep_for(std::chrono::microseconds(micros));
  }

 private:
  static Status Unsupported() { return Status::IOError("not in ClockEnv"); }
};

struct Gap {
  int64_t from_us, to_us;
  std::string reason;
  size_t segments_before;  // how many segments had been delivered when the gap was reported
};

class CollectingSink : public SegmentSink {
 public:
  Status OnInit(uint32_t run, Bytes init, const std::string& codecs) override {
    EXPECT_EQ(run, inits.size());
    inits.push_back(std::move(init));
    codec_strings.push_back(codecs);
    return Status::OK();
  }
  Status OnSegment(MediaSegment segment) override {
    EXPECT_EQ(segment.index, segments.size());
    segments.push_back(std::move(segment));
    return Status::OK();
  }
  Status OnGap(int64_t from_us, int64_t to_us, const std::string& reason) override {
    gaps.push_back({from_us, to_us, reason, segments.size()});
    return Status::OK();
  }
  // init + segments of `run`, i.e. the playable MP4 of that run.
  Bytes Concatenate(uint32_t run) const {
    Bytes all = inits.at(run);
    for (const auto& s : segments) {
      if (s.run == run) all.insert(all.end(), s.data.begin(), s.data.end());
    }
    return all;
  }
  int64_t TotalDurationUs() const {
    int64_t d = 0;
    for (const auto& s : segments) d += s.duration_us;
    return d;
  }

  std::vector<Bytes> inits;
  std::vector<std::string> codec_strings;
  std::vector<MediaSegment> segments;
  std::vector<Gap> gaps;
};

std::string BoxType(const Bytes& b) {
  return b.size() < 8 ? "" : std::string(b.begin() + 4, b.begin() + 8);
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ingest_test.XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

void WriteFile(const std::string& path, const Bytes& data) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

// What a player sees when it opens an MP4: streams, duration, every packet readable.
struct Probe {
  bool ok = false;
  bool has_video = false, has_audio = false;
  double format_duration_s = 0;  // what ffprobe reports as format=duration
  double video_end_s = 0;        // end of the last video packet
  int video_packets = 0;
  Bytes video_extradata;
  Bytes first_video_packet;
};

Probe ProbeFile(const std::string& path) {
  Probe p;
  AVFormatContext* ctx = nullptr;
  if (avformat_open_input(&ctx, path.c_str(), nullptr, nullptr) < 0) return p;
  if (avformat_find_stream_info(ctx, nullptr) < 0) {
    avformat_close_input(&ctx);
    return p;
  }
  p.format_duration_s = ctx->duration == AV_NOPTS_VALUE ? 0 : ctx->duration / 1e6;
  int video = av_find_best_stream(ctx, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  p.has_video = video >= 0;
  p.has_audio = av_find_best_stream(ctx, AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0) >= 0;
  if (video >= 0) {
    const AVCodecParameters* par = ctx->streams[video]->codecpar;
    p.video_extradata.assign(par->extradata, par->extradata + par->extradata_size);
  }
  AVPacket* pkt = av_packet_alloc();
  while (av_read_frame(ctx, pkt) >= 0) {
    if (pkt->stream_index == video) {
      if (p.video_packets++ == 0) p.first_video_packet.assign(pkt->data, pkt->data + pkt->size);
      AVRational tb = ctx->streams[video]->time_base;
      p.video_end_s = std::max(p.video_end_s, (pkt->pts + pkt->duration) * av_q2d(tb));
    }
    av_packet_unref(pkt);
  }
  av_packet_free(&pkt);
  avformat_close_input(&ctx);
  p.ok = true;
  return p;
}

int RunCommand(const std::string& cmd) { return std::system(cmd.c_str()); }

// Writes an H.264 (with B-frames) + AAC MP4 of `seconds` seconds with the ffmpeg CLI.
void MakeH264File(const std::string& path, int seconds, const std::string& size) {
  std::string cmd =
      "ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=" + size +
      ":rate=25 -f lavfi -i sine=frequency=440:sample_rate=48000 -t " + std::to_string(seconds) +
      " -c:v libx264 -preset veryfast -g 50 -pix_fmt yuv420p -c:a aac " + path;
  ASSERT_EQ(RunCommand(cmd), 0) << cmd;
}

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
}

// An `ffmpeg -re … -f mpegts tcp://…?listen=1` server the capture connects to.
class StreamServer {
 public:
  StreamServer(const std::string& file, int port) {
    std::string url = "tcp://127.0.0.1:" + std::to_string(port) + "?listen=1";
    std::vector<std::string> args = {
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "quiet",  "-re", "-i",
        file,     "-c",       "copy",         "-f",        "mpegts", url};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawnp(&pid_, "ffmpeg", nullptr, nullptr, argv.data(), environ) != 0) pid_ = -1;
  }
  ~StreamServer() { Kill(); }
  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  bool started() const { return pid_ > 0; }

 private:
  pid_t pid_ = -1;
};

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

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

Bytes ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
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

// A TCP server thread: the first connection gets `first`, every later one `later`; each
// connection is closed right after.
class FlappingServer {
 public:
  FlappingServer(Bytes first, Bytes later) : first_(std::move(first)), later_(std::move(later)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    listen(fd_, 16);
    thread_ = std::thread([this] { Serve(); });
  }
  ~FlappingServer() {
    done_ = true;
    thread_.join();
    close(fd_);
  }
  int port() const { return port_; }
  int connections() const { return connections_; }

 private:
  void Serve() {
    while (!done_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      const Bytes& data = connections_++ == 0 ? first_ : later_;
      size_t off = 0;
      while (off < data.size()) {
        ssize_t n = send(c, data.data() + off, data.size() - off, MSG_NOSIGNAL);
        if (n <= 0) break;
        off += static_cast<size_t>(n);
      }
      shutdown(c, SHUT_WR);
      close(c);
    }
  }

  Bytes first_, later_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> done_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

// A publisher that connects, sends its header and disconnects, over and over: no gap flood,
// growing backoff, and reconnect_max_wait_seconds counts from the last real media.
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
    std::atomic<bool> stop{false};
    Status result;
    std::atomic<bool> finished{false};
    auto t0 = steady_clock::now();
    std::thread runner([&] {
      result = (*capture)->Run(&sink, &stop);
      finished = true;
    });
    while (!finished && steady_clock::now() - t0 < std::chrono::seconds(10)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    const auto elapsed = steady_clock::now() - t0;
    stop = true;  // only matters when it did not give up by itself
    runner.join();
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
  std::atomic<bool> stop{false};
  Status result;
  std::atomic<bool> finished{false};
  auto t0 = steady_clock::now();
  std::thread runner([&] {
    result = (*capture)->Run(&sink, &stop);
    finished = true;
  });
  while (!finished && steady_clock::now() - t0 < std::chrono::seconds(10)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const auto elapsed = steady_clock::now() - t0;
  stop = true;
  runner.join();
  EXPECT_TRUE(finished.load());
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
