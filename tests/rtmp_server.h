// A real RTMP server for tests: Debian's nginx with the RTMP module, started on loopback in a
// temporary prefix, and a Publisher that feeds it like a conference system (ffmpeg -re … -f flv).
#pragma once

#include <memory>
#include <string>

#include "tests/test_util.h"

namespace tcd::testing {

// nginx (foreground, single process) with `application live { live on; record off; }` on a free
// loopback port. The constructor returns once the port accepts TCP connections and throws
// std::runtime_error (with nginx's log) when nginx does not come up within ~5 s.
// `idle_streams` is nginx-rtmp's setting: true (its default) keeps a player connected (and
// silent) while no one publishes; false refuses players of an unpublished stream and disconnects
// them when the publisher goes away.
class RtmpServer {
 public:
  explicit RtmpServer(bool idle_streams = true);
  ~RtmpServer();  // SIGQUIT, then SIGKILL after ~3 s; removes the temporary prefix
  RtmpServer(const RtmpServer&) = delete;
  RtmpServer& operator=(const RtmpServer&) = delete;

  int port() const { return port_; }
  // rtmp://127.0.0.1:PORT/live/<stream>
  std::string Url(const std::string& stream) const;
  // nginx's error log and stdout/stderr so far (for failure messages).
  std::string Log() const;

 private:
  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<Process> nginx_;
};

// A 10 s 320x240 25 fps H.264 (1 s GOP) + AAC MP4, made once per test binary.
const std::string& PublisherInput();

// Publishes PublisherInput() (looped, at its native rate) to `url` with a child ffmpeg, as the
// conference system would. Stop() kills it (the stream drops); Start() publishes again.
class Publisher {
 public:
  explicit Publisher(std::string url, bool start = true);
  ~Publisher();
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  void Start();  // no-op when already running
  void Stop();   // no-op when stopped
  bool running();
  // ffmpeg's stderr of the current (or last) run.
  std::string Log() const;

 private:
  std::string url_;
  std::unique_ptr<Process> ffmpeg_;
  std::string last_log_;
};

}  // namespace tcd::testing
