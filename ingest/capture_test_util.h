// Shared helpers of the ingest capture tests (capture_test.cc, capture_faults_test.cc): a
// clock-only Env, a sink that collects what the capture delivers, temporary directories, an
// in-process ffprobe equivalent, ffmpeg runners, and two local stream servers (an ffmpeg
// mpegts-over-TCP process and a TCP server thread that replays fixed bytes per connection).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "ingest/capture.h"

namespace tcd::ingest {

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
    received_mono_us.push_back(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());  // ClockEnv's monotonic clock
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
  std::vector<int64_t> received_mono_us;  // when each segment reached the sink
  std::vector<Gap> gaps;
};

inline std::string BoxType(const Bytes& b) {
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

void WriteFile(const std::string& path, const Bytes& data);
Bytes ReadAll(const std::string& path);

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

Probe ProbeFile(const std::string& path);

int RunCommand(const std::string& cmd);

// Writes an H.264 (with B-frames) + AAC MP4 of `seconds` seconds with the ffmpeg CLI.
void MakeH264File(const std::string& path, int seconds, const std::string& size);

// An `ffmpeg -re … -f mpegts tcp://…?listen=1` server the capture connects to.
class StreamServer {
 public:
  StreamServer(const std::string& file, int port);
  ~StreamServer() { Kill(); }
  void Kill();
  bool started() const { return pid_ > 0; }

 private:
  pid_t pid_ = -1;
};

// A loopback TCP port that was free a moment ago.
int FreePort();

// A TCP server thread: the first connection gets `first`, every later one `later`; each
// connection is closed right after.
class FlappingServer {
 public:
  FlappingServer(Bytes first, Bytes later);
  ~FlappingServer();
  int port() const { return port_; }
  int connections() const { return connections_; }

 private:
  void Serve();

  Bytes first_, later_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> done_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

}  // namespace tcd::ingest
