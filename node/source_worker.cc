#include "node/source_worker.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "base/time_format.h"
#include "ingest/capture.h"

namespace tcd::node {
namespace {

// Passes the capture's output to the session recorder and times each segment's commit.
class TimedSink final : public ingest::SegmentSink {
 public:
  TimedSink(SessionRecorder* recorder, Env* env, CommitLatency* latency)
      : recorder_(recorder), env_(env), latency_(latency) {}
  Status OnInit(uint32_t run, Bytes init, const std::string& codecs) override {
    return recorder_->OnInit(run, std::move(init), codecs);
  }
  Status OnSegment(ingest::MediaSegment segment) override {
    const int64_t arrived = segment.last_arrival_mono_us;
    Status s = recorder_->OnSegment(std::move(segment));  // returns once durable
    if (s.ok() && arrived > 0)
      latency_->Add(std::max<int64_t>(0, env_->MonotonicMicros() - arrived));
    return s;
  }
  Status OnGap(int64_t from_us, int64_t to_us, const std::string& reason) override {
    return recorder_->OnGap(from_us, to_us, reason);
  }

 private:
  SessionRecorder* const recorder_;
  Env* const env_;
  CommitLatency* const latency_;
};

double Ms(int64_t micros) { return std::round(micros / 100.0) / 10.0; }  // 0.1 ms steps

}  // namespace

void CommitLatency::Add(int64_t micros) {
  std::lock_guard<std::mutex> lock(mu_);
  ring_[total_ % kWindow] = micros;
  ++total_;
}

nlohmann::json CommitLatency::Summary() const {
  std::vector<int64_t> v;
  uint64_t total;
  int64_t last = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    total = total_;
    v.assign(ring_.begin(), ring_.begin() + std::min<uint64_t>(total_, kWindow));
    if (total_ > 0) last = ring_[(total_ - 1) % kWindow];
  }
  nlohmann::json j = {{"count", v.size()}, {"total", total}, {"last_ms", nullptr},
                      {"p50_ms", nullptr}, {"p99_ms", nullptr}, {"max_ms", nullptr}};
  if (v.empty()) return j;
  std::sort(v.begin(), v.end());
  // Nearest rank: the smallest value with at least p of the window at or below it.
  auto rank = [&](double p) { return v[size_t(std::ceil(p * v.size())) - 1]; };
  j["last_ms"] = Ms(last);
  j["p50_ms"] = Ms(rank(0.50));
  j["p99_ms"] = Ms(rank(0.99));
  j["max_ms"] = Ms(v.back());
  return j;
}

SourceWorker::SourceWorker(SourceConfig config, WorkerContext context)
    : config_(std::move(config)), ctx_(std::move(context)) {
  thread_ = std::thread([this] { Loop(); });
}

SourceWorker::~SourceWorker() { Shutdown(); }

const char* SourceWorker::StateName(State s) {
  switch (s) {
    case State::kIdle: return "idle";
    case State::kWaiting: return "waiting";
    case State::kConnecting: return "connecting";
    case State::kRecording: return "recording";
    case State::kStopped: return "stopped";
  }
  return "unknown";
}

void SourceWorker::RequestShutdown() {
  std::lock_guard<std::mutex> lock(mu_);
  shutdown_ = true;
  session_stop_ = true;
  cv_.notify_all();
}

void SourceWorker::Shutdown() {
  RequestShutdown();
  if (thread_.joinable()) thread_.join();
}

void SourceWorker::Unpause() {
  std::lock_guard<std::mutex> lock(mu_);
  paused_ = false;
  wake_ = true;
  cv_.notify_all();
}

void SourceWorker::SetState(State s, const std::string& error) {
  std::lock_guard<std::mutex> lock(mu_);
  // Log what a person needs to know, once: a new error, or reaching recording/idle/stopped.
  // The connecting ↔ waiting cycle of a source that stays down for days is not logged again.
  if (!error.empty() && error != last_error_)
    spdlog::warn("source {}: {} ({})", config_.name, StateName(s), error);
  else if (s != state_ && s != State::kConnecting && s != State::kWaiting)
    spdlog::info("source {}: {}", config_.name, StateName(s));
  else if (s != state_)
    spdlog::debug("source {}: {}", config_.name, StateName(s));
  state_ = s;
  if (!error.empty()) last_error_ = error;
}

void SourceWorker::WaitFor(double seconds) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::duration<double>(seconds),
               [&] { return shutdown_.load() || wake_; });
  wake_ = false;
}

bool SourceWorker::WantsToRecord(std::time_t now) {
  if (manual_requested_) return true;
  if (paused_) return false;
  switch (config_.mode) {
    case SourceConfig::Mode::kManual: return false;
    case SourceConfig::Mode::kSchedule: return InSchedule(ctx_.schedule, now);
    case SourceConfig::Mode::kAuto: return true;
  }
  return false;
}

void SourceWorker::Loop() {
  double backoff = 0.5;
  while (!shutdown_) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (!WantsToRecord(std::time(nullptr))) {
        if (state_ != State::kIdle) spdlog::info("source {}: idle", config_.name);
        state_ = State::kIdle;
        cv_.wait_for(lock, std::chrono::seconds(1), [&] { return shutdown_.load() || wake_; });
        wake_ = false;
        continue;
      }
    }
    if (ctx_.disk_full && ctx_.disk_full()) {
      SetState(State::kWaiting, "disk nearly full: no new session is started");
      std::lock_guard<std::mutex> lock(mu_);
      if (manual_requested_) {
        manual_requested_ = false;
        last_session_error_ = "disk nearly full: no new session is started";
        cv_.notify_all();
      }
    } else if (RecordOnce()) {
      backoff = 0.5;
      continue;
    }
    WaitFor(backoff);
    backoff = std::min(backoff * 2, ctx_.max_backoff_seconds);
  }
  SetState(State::kStopped);
}

static crypto::SealReason SealReasonFor(const Status& run, bool stop_requested) {
  if (run.IsNoSpace()) return crypto::SealReason::kDiskFull;
  if (stop_requested) return crypto::SealReason::kStopped;
  if (run.ok() || run.IsUnavailable()) return crypto::SealReason::kSourceEnded;
  return crypto::SealReason::kError;
}

bool SourceWorker::RecordOnce() {
  SetState(State::kConnecting);
  ingest::CaptureOptions opts;
  opts.video = {config_.url, config_.format, {}};
  if (!config_.audio_url.empty())
    opts.audio = ingest::SourceSpec{config_.audio_url, config_.audio_format, {}};
  opts.segment_seconds = ctx_.segment_seconds;
  opts.realtime = config_.realtime;
  opts.reconnect = true;
  opts.reconnect_max_wait_seconds = ctx_.grace_seconds;  // longer away: the session ends
  opts.open_stop = &shutdown_;
  auto capture = ingest::Capture::Open(opts, ctx_.store->env());
  if (!capture.ok()) {
    SetState(State::kWaiting, capture.status().message());
    return false;
  }
  crypto::Metadata meta;
  if (!ctx_.point.empty()) meta.emplace_back("point", ctx_.point);
  meta.emplace_back("source", config_.name);
  bool manual;
  {
    // Decide under the lock, after the (slow) open: a shutdown, a stop or the end of the
    // schedule window may have come meanwhile, and clearing session_stop_ must not erase them.
    std::lock_guard<std::mutex> lock(mu_);
    if (shutdown_ || !WantsToRecord(std::time(nullptr))) return true;
    manual = manual_requested_;
    for (const auto& kv : config_.meta)
      if (kv.first != "point") meta.push_back(kv);
    for (const auto& kv : manual_meta_) meta.push_back(kv);
    manual_meta_.clear();
    session_stop_ = false;
    starting_ = true;
  }
  auto rec = SessionRecorder::Start(ctx_.store, ctx_.identity, ctx_.recipients, meta);
  if (!rec.ok()) {
    std::string msg = "cannot start a session: " + rec.status().message();
    if (ctx_.report_error) ctx_.report_error("source " + config_.name + ": " + msg);
    SetState(State::kWaiting, msg);
    std::lock_guard<std::mutex> lock(mu_);
    if (manual) last_session_error_ = msg;
    manual_requested_ = false;
    starting_ = false;
    cv_.notify_all();
    return false;
  }
  std::shared_ptr<SessionRecorder> recorder = std::move(rec).value();
  {
    std::lock_guard<std::mutex> lock(mu_);
    recorder_ = recorder;
    manual_session_ = manual;
    starting_ = false;
    manual_requested_ = false;
    last_error_.clear();
    ++sessions_started_;
    cv_.notify_all();
  }
  SetState(State::kRecording);
  TimedSink sink(recorder.get(), ctx_.store->env(), &latency_);
  Status run = (*capture)->Run(&sink, &session_stop_);
  const std::string sid = crypto::SessionIdToString(recorder->id());
  if (!run.ok() && !(run.IsUnavailable() && !session_stop_)) {
    if (ctx_.report_error) ctx_.report_error("session " + sid + ": " + run.message());
  } else if (run.IsUnavailable()) {
    spdlog::warn("source {}: gone for longer than the grace period ({} s); sealing session {}",
                 config_.name, ctx_.grace_seconds, sid);
  }
  Status seal = recorder->Seal(SealReasonFor(run, session_stop_));
  if (!seal.ok() && ctx_.report_error)
    ctx_.report_error("session " + sid + ": could not seal (it stays unsealed and is closed "
                      "by recovery at the next start): " + seal.message());
  {
    std::lock_guard<std::mutex> lock(mu_);
    recorder_.reset();
    last_seal_ = seal;
    if (!run.ok() && !run.IsUnavailable()) last_error_ = run.message();
    cv_.notify_all();
  }
  return true;
}

Result<std::string> SourceWorker::StartSession(const crypto::Metadata& meta, double wait_seconds) {
  std::unique_lock<std::mutex> lock(mu_);
  // A session being started right now (the source just went live) would not carry `meta`:
  // wait for it and say so, rather than report it as the one asked for.
  cv_.wait_for(lock, std::chrono::seconds(5), [&] { return !starting_ || shutdown_; });
  if (recorder_)
    return Status::InvalidArgument("source " + config_.name + " is already recording session " +
                                   crypto::SessionIdToString(recorder_->id()) +
                                   " (add metadata with tcd session annotate)");
  if (shutdown_) return Status::Unavailable("the node is stopping");
  const uint64_t started = sessions_started_;
  manual_requested_ = true;
  wake_ = true;
  paused_ = false;
  manual_meta_ = meta;
  last_session_error_.clear();
  cv_.notify_all();
  bool done = cv_.wait_for(lock, std::chrono::duration<double>(wait_seconds), [&] {
    return sessions_started_ > started || !last_session_error_.empty() || shutdown_;
  });
  if (sessions_started_ > started && recorder_)
    return crypto::SessionIdToString(recorder_->id());
  // Withdraw the request so that the source does not start recording later by surprise.
  manual_requested_ = false;
  manual_meta_.clear();
  if (!last_session_error_.empty()) return Status::Unavailable(last_session_error_);
  return Status::Unavailable("source " + config_.name + " did not come up" +
                             (done ? "" : " within " + std::to_string(int(wait_seconds)) + " s") +
                             (last_error_.empty() ? "" : ": " + last_error_));
}

void SourceWorker::RequestStop() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!recorder_ && !starting_) return;
  // An automatic source would start again at once: it pauses until `tcd session start`.
  if (config_.mode != SourceConfig::Mode::kManual) paused_ = true;
  session_stop_ = true;
}

Result<std::string> SourceWorker::WaitStopped() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::seconds(5), [&] { return !starting_; });
  if (!recorder_) return Status::NotFound("source " + config_.name + " has no open session");
  const std::string sid = crypto::SessionIdToString(recorder_->id());
  cv_.wait_for(lock, std::chrono::seconds(25), [&] { return recorder_ == nullptr; });
  if (recorder_) return Status::IOError("session " + sid + " did not finish sealing in 25 s");
  if (!last_seal_.ok()) return last_seal_.WithContext("session " + sid + " could not be sealed");
  return sid;
}

Result<std::string> SourceWorker::StopSession() {
  RequestStop();
  return WaitStopped();
}

Result<std::optional<uint64_t>> SourceWorker::AnnotateIfOpen(const crypto::SessionId& id,
                                                             const crypto::Metadata& meta) {
  std::shared_ptr<SessionRecorder> r;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!recorder_ || recorder_->id() != id) return std::optional<uint64_t>();
    r = recorder_;
  }
  TCD_ASSIGN_OR_RETURN(uint64_t seq, r->Annotate(meta));
  return std::optional<uint64_t>(seq);
}

void SourceWorker::CheckSchedule(std::time_t now) {
  if (config_.mode != SourceConfig::Mode::kSchedule) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (InSchedule(ctx_.schedule, now)) return;
  paused_ = false;  // a hand-stopped scheduled source records again in its next window
  // A session started by hand outside the hours ends by hand (or when its source ends).
  if (recorder_ && !session_stop_ && !manual_session_) {
    spdlog::info("source {}: reception hours ended; sealing the session", config_.name);
    session_stop_ = true;
  }
}

nlohmann::json SourceWorker::StatusJson() const {
  std::lock_guard<std::mutex> lock(mu_);
  nlohmann::json j = {{"name", config_.name},
                      {"mode", SourceModeName(config_.mode)},
                      {"url", config_.url},
                      {"state", paused_ && !recorder_ ? "paused" : StateName(state_)},
                      {"session", nullptr},
                      {"last_error", nullptr},
                      {"commit_latency", latency_.Summary()}};
  if (recorder_) j["session"] = crypto::SessionIdToString(recorder_->id());
  if (!last_error_.empty()) j["last_error"] = last_error_;
  return j;
}

std::optional<nlohmann::json> SourceWorker::OpenSessionJson() const {
  std::shared_ptr<SessionRecorder> r;
  {
    std::lock_guard<std::mutex> lock(mu_);
    r = recorder_;
  }
  if (!r) return std::nullopt;
  SessionRecord rec = r->record();
  return nlohmann::json{{"id", crypto::SessionIdToString(rec.id)},
                        {"source", config_.name},
                        {"start", FormatUtc(rec.start_us)},
                        {"segments", rec.segments},
                        {"media_duration_s", rec.media_duration_us / 1e6},
                        {"gaps", rec.gaps}};
}

}  // namespace tcd::node
