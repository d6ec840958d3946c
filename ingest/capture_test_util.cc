// Definitions for capture_test_util.h.
#include "ingest/capture_test_util.h"

#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>

extern "C" {
#include <libavformat/avformat.h>
}

extern char** environ;

namespace tcd::ingest {

void WriteFile(const std::string& path, const Bytes& data) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

Bytes ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

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

void MakeH264File(const std::string& path, int seconds, const std::string& size) {
  std::string cmd =
      "ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=" + size +
      ":rate=25 -f lavfi -i sine=frequency=440:sample_rate=48000 -t " + std::to_string(seconds) +
      " -c:v libx264 -preset veryfast -g 50 -pix_fmt yuv420p -c:a aac " + path;
  ASSERT_EQ(RunCommand(cmd), 0) << cmd;
}

StreamServer::StreamServer(const std::string& file, int port) {
  std::string url = "tcp://127.0.0.1:" + std::to_string(port) + "?listen=1";
  std::vector<std::string> args = {
      "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "quiet",  "-re", "-i",
      file,     "-c",       "copy",         "-f",        "mpegts", url};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (posix_spawnp(&pid_, "ffmpeg", nullptr, nullptr, argv.data(), environ) != 0) pid_ = -1;
}

void StreamServer::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

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

FlappingServer::FlappingServer(Bytes first, Bytes later) : first_(std::move(first)), later_(std::move(later)) {
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
FlappingServer::~FlappingServer() {
  done_ = true;
  thread_.join();
  close(fd_);
}

void FlappingServer::Serve() {
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

}  // namespace tcd::ingest
