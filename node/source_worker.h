// SourceWorker: one configured source of a recorder node, on its own thread. It waits for the
// source to go live (retrying with capped exponential backoff, logging only when its state
// changes), records a session while it is live, continues the same session across dropouts
// shorter than the grace period (the capture layer reconnects and a signed gap entry records
// the outage), and seals the session when the source stays away longer, when it is asked to
// stop, when its schedule window ends or when the disk fills.
//
// Thread-safety: all public methods may be called from any thread.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/keys.h"
#include "node/config.h"
#include "node/session_recorder.h"
#include "node/store.h"

namespace tcd::node {

// What the worker needs from the daemon; owned by the daemon, outlives the worker.
struct WorkerContext {
  Store* store = nullptr;
  const crypto::NodeIdentity* identity = nullptr;
  std::vector<crypto::ArchivePublic> recipients;
  std::string point;
  double segment_seconds = 4.0;
  double grace_seconds = 60.0;
  double max_backoff_seconds = 10.0;
  std::vector<ScheduleWindow> schedule;
  // Records an error for `tcd status` (and logs it).
  std::function<void(const std::string&)> report_error;
  // True while the disk is below the configured minimum: no new session starts.
  std::function<bool()> disk_full;
};

// Commit latency of one source: from a segment's last packet arriving from the source to the
// segment being durable (blob synced and catalog batch committed), over its last kWindow
// segments. Add() runs once per segment on the capture thread; Summary() is for `tcd status`
// (sorts a copy of at most kWindow values). Thread-safe.
class CommitLatency {
 public:
  static constexpr size_t kWindow = 1024;
  void Add(int64_t micros);
  // {"count", "total", "last_ms", "p50_ms", "p99_ms", "max_ms"}: count = segments in the
  // window, total = since the worker started; the ms fields are null while count is 0.
  nlohmann::json Summary() const;

 private:
  mutable std::mutex mu_;
  std::array<int64_t, kWindow> ring_{};  // GUARDED_BY(mu_)
  uint64_t total_ = 0;                   // GUARDED_BY(mu_)
};

class SourceWorker {
 public:
  SourceWorker(SourceConfig config, WorkerContext context);
  ~SourceWorker();  // Shutdown() then join

  const SourceConfig& config() const { return config_; }

  // Seals the open session (if any) and ends the thread. Blocks until done.
  void Shutdown();
  // The first half of Shutdown(): asks the thread to end and returns at once (so that many
  // workers can seal their sessions in parallel before each is joined).
  void RequestShutdown();
  // Lifts the pause that `tcd session stop` put on an automatic source.
  void Unpause();
  // `tcd session start`: record now (manual and paused sources too) with extra metadata.
  // Returns the new session's id once its open entry is durable, or the error that prevented
  // it (source not live within `wait_seconds`, already recording, disk full).
  Result<std::string> StartSession(const crypto::Metadata& meta, double wait_seconds);
  // `tcd session stop`: seals the open session; an auto source then pauses until the next
  // `tcd session start` (or a reload). Returns the sealed id, NotFound when none was open, or
  // the error that prevented the seal. RequestStop() + WaitStopped() are its two halves.
  Result<std::string> StopSession();
  void RequestStop();
  Result<std::string> WaitStopped();
  // Annotates the open session if it is `id` (true), else returns false.
  Result<std::optional<uint64_t>> AnnotateIfOpen(const crypto::SessionId& id,
                                                  const crypto::Metadata& meta);
  // Ends the session at the end of its schedule window (called by the daemon's ticker).
  void CheckSchedule(std::time_t now);

  nlohmann::json StatusJson() const;
  // The open session's summary for status, if any.
  std::optional<nlohmann::json> OpenSessionJson() const;

 private:
  // kWaiting: the source is not live (or the disk is full) and is retried with backoff.
  enum class State { kIdle, kWaiting, kConnecting, kRecording, kStopped };
  static const char* StateName(State s);

  void Loop();
  bool WantsToRecord(std::time_t now);  // REQUIRES: mu_ held
  bool RecordOnce();  // false when the source could not be opened
  void SetState(State s, const std::string& error = "");
  void WaitFor(double seconds);  // interruptible by Shutdown/StartSession

  const SourceConfig config_;
  const WorkerContext ctx_;
  std::atomic<bool> shutdown_{false};      // written under mu_
  std::atomic<bool> session_stop_{false};  // ends the current capture (seal); written under mu_
  mutable std::mutex mu_;
  std::condition_variable cv_;
  State state_ = State::kIdle;                 // GUARDED_BY(mu_)
  std::string last_error_;                     // GUARDED_BY(mu_)
  bool manual_requested_ = false;              // GUARDED_BY(mu_)
  bool wake_ = false;  // GUARDED_BY(mu_): a new request ends the current wait (once)
  bool paused_ = false;                        // GUARDED_BY(mu_): auto source stopped by hand
  crypto::Metadata manual_meta_;               // GUARDED_BY(mu_)
  std::shared_ptr<SessionRecorder> recorder_;  // GUARDED_BY(mu_): the open session
  std::string last_session_error_;             // GUARDED_BY(mu_): why the last start failed
  uint64_t sessions_started_ = 0;              // GUARDED_BY(mu_)
  Status last_seal_;                           // GUARDED_BY(mu_): of the last session
  bool starting_ = false;                      // GUARDED_BY(mu_): opening a session now
  bool manual_session_ = false;                // GUARDED_BY(mu_): the open one was asked for
  CommitLatency latency_;  // across this worker's sessions
  std::thread thread_;
};

}  // namespace tcd::node
