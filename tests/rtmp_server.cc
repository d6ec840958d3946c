#include "tests/rtmp_server.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

namespace tcd::testing {
namespace {

constexpr const char* kRtmpModule = "/usr/lib/nginx/modules/ngx_rtmp_module.so";

bool Accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

}  // namespace

RtmpServer::RtmpServer(bool idle_streams) {
  if (access(kRtmpModule, R_OK) != 0)
    throw std::runtime_error(std::string("RtmpServer: ") + kRtmpModule +
                             " missing (install libnginx-mod-rtmp)");
  port_ = FreePort();
  std::string conf =
      "load_module " + std::string(kRtmpModule) + ";\n" +
      (geteuid() == 0 ? "user root;\n" : "") +
      "pid " + dir_ / "nginx.pid" + ";\n" +
      "error_log " + dir_ / "error.log" + " info;\n" +
      "events {}\n"
      "rtmp {\n"
      "  server {\n"
      "    listen 127.0.0.1:" + std::to_string(port_) + ";\n"
      "    application live {\n"
      "      live on;\n"
      "      record off;\n"
      "      idle_streams " + std::string(idle_streams ? "on" : "off") + ";\n"
      "    }\n"
      "  }\n"
      "}\n";
  WriteFile(dir_ / "nginx.conf", conf);
  nginx_ = std::make_unique<Process>(
      "nginx", std::vector<std::string>{"-p", dir_.path() + "/", "-e", dir_ / "error.log", "-c",
                                        dir_ / "nginx.conf", "-g",
                                        "daemon off; master_process off;"});
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!Accepts(port_)) {
    if (!nginx_->Running() || std::chrono::steady_clock::now() > deadline) {
      std::string log = Log();
      nginx_.reset();
      throw std::runtime_error("RtmpServer: nginx did not accept connections on 127.0.0.1:" +
                               std::to_string(port_) + " within 5 s:\n" + log);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

RtmpServer::~RtmpServer() {
  if (!nginx_) return;
  nginx_->Signal(SIGQUIT);
  if (!nginx_->WaitFor(3.0)) {
    nginx_->Signal(SIGKILL);
    nginx_->Wait();
  }
}

std::string RtmpServer::Url(const std::string& stream) const {
  return "rtmp://127.0.0.1:" + std::to_string(port_) + "/live/" + stream;
}

std::string RtmpServer::Log() const {
  std::string s = ReadFile(dir_ / "error.log");
  if (nginx_) s += nginx_->Out() + nginx_->Err();
  return s;
}

const std::string& PublisherInput() {
  static TempDir dir;  // lives (and is removed) with the test binary
  static const std::string path = [] {
    std::string out = dir / "conference.mp4";
    RunResult r = RunProgram(
        "ffmpeg", {"-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f",
                   "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "10", "-c:v",
                   "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "25",
                   "-keyint_min", "25", "-sc_threshold", "0", "-c:a", "aac", "-b:a", "64k",
                   "-movflags", "+faststart", "-y", out});
    if (r.exit_code != 0)
      throw std::runtime_error("PublisherInput: ffmpeg failed: " + r.err);
    return out;
  }();
  return path;
}

Publisher::Publisher(std::string url, bool start) : url_(std::move(url)) {
  if (start) Start();
}

Publisher::~Publisher() { Stop(); }

void Publisher::Start() {
  if (running()) return;
  const std::string& input = PublisherInput();
  ffmpeg_ = std::make_unique<Process>(
      "ffmpeg", std::vector<std::string>{"-nostdin", "-v", "error", "-re", "-stream_loop", "-1",
                                         "-i", input, "-c", "copy", "-f", "flv", url_});
}

void Publisher::Stop() {
  if (!ffmpeg_) return;
  ffmpeg_->Signal(SIGKILL);  // an abrupt drop, as when the conference link fails
  RunResult r = ffmpeg_->Wait();
  last_log_ = r.err;
  ffmpeg_.reset();
}

bool Publisher::running() { return ffmpeg_ && ffmpeg_->Running(); }

std::string Publisher::Log() const { return ffmpeg_ ? ffmpeg_->Err() : last_log_; }

}  // namespace tcd::testing
