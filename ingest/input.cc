#include "ingest/input.h"

#include <spdlog/spdlog.h>

#include <array>
#include <cctype>
#include <chrono>
#include <map>
#include <mutex>
#include <string_view>

extern "C" {
#include <libavdevice/avdevice.h>
}

namespace tcd::ingest {
namespace {

constexpr int64_t kOpenTimeoutUs = 10'000'000;  // open + probe

// FFmpeg repeats the same complaint on every reconnection attempt of a source that stays
// down; identical messages (ignoring the context's address) are logged once per 5 minutes,
// with a count of what was suppressed, so a source that is down for days cannot flood the log.
bool ShouldLog(const std::string& text, int* suppressed) {
  static std::mutex mu;
  static std::map<std::string, std::pair<std::chrono::steady_clock::time_point, int>> seen;
  std::string key;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 4, "@ 0x") == 0) {
      i += 4;
      while (i < text.size() && std::isxdigit(static_cast<unsigned char>(text[i]))) ++i;
    }
    if (i < text.size()) key.push_back(text[i]);
  }
  std::lock_guard<std::mutex> lock(mu);
  const auto now = std::chrono::steady_clock::now();
  if (seen.size() > 256) seen.clear();
  auto [it, fresh] = seen.try_emplace(key, now, 0);
  if (!fresh && now - it->second.first < std::chrono::minutes(5)) {
    ++it->second.second;
    return false;
  }
  *suppressed = it->second.second;
  it->second = {now, 0};
  return true;
}

void LogToSpdlog(void* avcl, int level, const char* fmt, va_list vl) {
  if (level > AV_LOG_WARNING) return;
  std::array<char, 1024> line;
  int print_prefix = 1;
  av_log_format_line2(avcl, level, fmt, vl, line.data(), line.size(), &print_prefix);
  std::string text(line.data());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  int suppressed = 0;
  if (!ShouldLog(text, &suppressed)) return;
  if (suppressed > 0) text += " (and " + std::to_string(suppressed) + " times more since)";
  if (level <= AV_LOG_ERROR) {
    spdlog::error("ffmpeg: {}", text);
  } else {
    spdlog::warn("ffmpeg: {}", text);
  }
}

bool IsNetworkUrl(const std::string& url) {
  static constexpr std::array<std::string_view, 11> kSchemes = {
      "rtmp", "rtmps", "rtsp", "rtsps", "srt", "http", "https", "udp", "tcp", "rtp", "tls"};
  auto colon = url.find("://");
  if (colon == std::string::npos) return false;
  std::string_view scheme(url.data(), colon);
  for (auto s : kSchemes) {
    if (scheme == s) return true;
  }
  return false;
}

}  // namespace

std::string AvErrorText(int err) {
  std::array<char, AV_ERROR_MAX_STRING_SIZE> buf{};
  av_strerror(err, buf.data(), buf.size());
  return buf.data();
}

Status AvStatus(int err, const std::string& what) {
  return Status::IOError(what + ": " + AvErrorText(err));
}

PacketPtr MakePacket() { return PacketPtr(av_packet_alloc()); }
FramePtr MakeFrame() { return FramePtr(av_frame_alloc()); }

void InitFfmpegOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    avdevice_register_all();
    avformat_network_init();
    av_log_set_level(AV_LOG_WARNING);
    av_log_set_callback(LogToSpdlog);
  });
}

int Input::OnInterrupt(void* opaque) {
  auto* irq = static_cast<Interrupt*>(opaque);
  if (irq->stop != nullptr && irq->stop->load(std::memory_order_relaxed)) return 1;
  return irq->deadline_us != 0 && irq->env->MonotonicMicros() > irq->deadline_us ? 1 : 0;
}

Result<std::unique_ptr<Input>> Input::Open(const SourceSpec& spec, bool want_video, Env* env,
                                           const std::atomic<bool>* stop) {
  InitFfmpegOnce();
  const AVInputFormat* format = nullptr;
  if (!spec.format.empty()) {
    format = av_find_input_format(spec.format.c_str());
    if (format == nullptr) {
      return Status::InvalidArgument("unknown input format '" + spec.format + "' for source '" +
                                     spec.url + "'");
    }
  }
  std::unique_ptr<Input> in(new Input(env));
  in->url_ = spec.url;
  in->is_network_ = IsNetworkUrl(spec.url);
  in->is_live_ = in->is_network_ || (format != nullptr && (format->flags & AVFMT_NOFILE) != 0) ||
                 spec.format == "lavfi" || spec.format == "v4l2" || spec.format == "alsa";
  in->interrupt_->stop = stop;
  in->interrupt_->deadline_us = env->MonotonicMicros() + kOpenTimeoutUs;

  AVFormatContext* raw = avformat_alloc_context();
  if (raw == nullptr) return Status::IOError("out of memory opening '" + spec.url + "'");
  raw->interrupt_callback = {&Input::OnInterrupt, in->interrupt_.get()};
  Dictionary opts;
  for (const auto& [k, v] : spec.options) opts.Set(k, v);
  int err = avformat_open_input(&raw, spec.url.c_str(), format, opts.get());
  if (err < 0) {  // raw was freed by avformat_open_input
    return Status::Unavailable("cannot open source '" + spec.url + "': " + AvErrorText(err));
  }
  in->ctx_.reset(raw);
  in->connected_mono_us_ = env->MonotonicMicros();
  in->connected_wall_us_ = env->NowMicros();
  err = avformat_find_stream_info(raw, nullptr);
  if (err < 0) {
    return Status::Unavailable("cannot probe source '" + spec.url + "': " + AvErrorText(err));
  }
  in->interrupt_->deadline_us = 0;
  in->video_index_ = av_find_best_stream(raw, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  in->audio_index_ = av_find_best_stream(raw, AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  if (in->video_index_ < 0) in->video_index_ = -1;
  if (in->audio_index_ < 0) in->audio_index_ = -1;
  if (want_video && in->video_index_ < 0) {
    return Status::InvalidArgument("no video stream in source '" + spec.url + "'");
  }
  if (!want_video && in->audio_index_ < 0) {
    return Status::InvalidArgument("no audio stream in audio source '" + spec.url + "'");
  }
  if (!want_video) in->video_index_ = -1;
  for (unsigned i = 0; i < raw->nb_streams; ++i) {
    if (static_cast<int>(i) != in->video_index_ && static_cast<int>(i) != in->audio_index_) {
      raw->streams[i]->discard = AVDISCARD_ALL;
    }
  }
  spdlog::info("ingest: opened '{}' ({})", spec.url, raw->iformat->name);
  return in;
}

Status Input::Read(AVPacket* pkt, bool* eof) {
  *eof = false;
  for (;;) {
    interrupt_->deadline_us = interrupt_->env->MonotonicMicros() + read_timeout_us_;
    int err = av_read_frame(ctx_.get(), pkt);
    interrupt_->deadline_us = 0;
    if (err == AVERROR_EOF) {
      *eof = true;
      return Status::OK();
    }
    if (err < 0) {
      if (interrupt_->stop != nullptr && interrupt_->stop->load()) {
        return Status::Aborted("stopped while reading '" + url_ + "'");
      }
      return AvStatus(err, "cannot read source '" + url_ + "'");
    }
    if (pkt->stream_index == video_index_ || pkt->stream_index == audio_index_) {
      return Status::OK();
    }
    av_packet_unref(pkt);
  }
}

}  // namespace tcd::ingest
