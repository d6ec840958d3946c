// Shared fixture for the `tcd node` daemon tests (node_daemon_test.cc, node_control_test.cc):
// a recorder config writer, a restartable `tcd node` process with its logs, status helpers and
// the NodeDaemonTest fixture (RTMP server + ffmpeg publisher + node, logs dumped on failure).
#pragma once

#include <signal.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/rtmp_server.h"
#include "tests/test_util.h"

namespace tcd {

inline constexpr int kExitConfig = 78;       // EX_CONFIG
inline constexpr int kExitCantCreate = 73;  // EX_CANTCREAT

void Sleep(double seconds);

// Calls `pred` every 200 ms until it returns true or `seconds` pass.
bool Poll(double seconds, const std::function<bool()>& pred);

std::string Quote(const std::string& s);  // a TOML basic string

struct ConfigOptions {
  std::string data_dir;     // default: <dir>/data
  std::string url;
  double grace_seconds = 6;
  std::string mode = "auto";
  std::string top_extra;    // extra top-level lines (before any table)
  std::string tail_extra;   // extra tables at the end (e.g. [[schedule]])
  long long min_free_mb = 50;
};

// A recorder config in `dir` (control socket in <dir>/run); returns its path.
std::string WriteConfig(const testing::TempDir& dir, const ConfigOptions& o);

// One `tcd node` process (restartable), with the log of every run kept for failure messages.
class Node {
 public:
  explicit Node(std::string config) : config_(std::move(config)) {}
  ~Node() {
    if (proc_) Kill();
  }

  void Start();

  bool Running() { return proc_ && proc_->Running(); }
  int pid() const { return proc_ ? proc_->pid() : -1; }
  void Signal(int sig) {
    if (proc_) proc_->Signal(sig);
  }

  // `tcd status --json`; null when the node does not answer.
  nlohmann::json Status() const;

  // Polls until the node answers status (it is up); false on timeout or when it exited.
  bool WaitUp(double seconds = 15);

  // Sends `sig` and waits for the exit; SIGKILLs (and returns -1) after `seconds`.
  int Stop(int sig = SIGTERM, double seconds = 30);

  // Waits for the node to exit by itself; -1 (and SIGKILL) after `seconds`.
  int WaitExit(double seconds);

  void Kill();

  // stdout + stderr of the current run so far.
  std::string CurrentLog() const { return proc_ ? proc_->Out() + proc_->Err() : last_log_; }
  std::string CurrentErr() const { return proc_ ? proc_->Err() : last_err_; }
  // Everything every run has logged (for failure messages).
  std::string Log() const;
  const std::string& config() const { return config_; }

 private:
  void Finish(const testing::RunResult& r);

  std::string config_;
  std::unique_ptr<testing::Process> proc_;
  int runs_ = 0;
  std::string history_, last_log_, last_err_;
};

nlohmann::json OpenSessions(const nlohmann::json& status);

std::string SourceState(const nlohmann::json& status);

// The value of `key` in a [[k, v], …] metadata array, or "" when absent.
std::string MetaValue(const nlohmann::json& meta, const std::string& key);

// A window around the current local time: [now-5 min, now+30 min], or one hours away from it.
std::string ScheduleTable(bool including_now);

class NodeDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override { testing::SharedFixture(); }
  void TearDown() override;

  // RTMP server, config and node (not started).
  void Setup(double grace_seconds, ConfigOptions o = {});

  std::string data() const { return dir_ / "data"; }

  // Polls until exactly one session is open (and has ≥ `min_segments`); returns it or null.
  nlohmann::json WaitForOpenSession(double seconds, int min_segments = 1,
                                    const std::string& not_id = "");

  nlohmann::json Sessions() const;

  nlohmann::json FindSession(const nlohmann::json& list, const std::string& id) const {
    for (const auto& s : list)
      if (s.value("id", "") == id) return s;
    return nullptr;
  }

  // Exports `id` and checks the MP4 plays with a video and an audio stream; returns its
  // duration in seconds (0 on failure).
  double ExpectExportPlays(const std::string& id);

  // Durations (µs) of the signed gap entries of a session (read-only; no node running).
  std::vector<int64_t> GapDurations(const std::string& id);

  testing::TempDir dir_;
  ConfigOptions options_;
  std::unique_ptr<testing::RtmpServer> server_;
  std::string url_;
  std::unique_ptr<testing::Publisher> pub_;
  std::unique_ptr<Node> node_;
};

}  // namespace tcd
