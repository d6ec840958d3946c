// Helpers for the cross-module tests: temporary directories, running the real `tcd` binary,
// probing MP4 files with ffprobe, and snapshots of a directory's bytes.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tcd::testing {

// A fresh directory under $TMPDIR, removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& data);

struct RunResult {
  int exit_code = -1;
  std::string out, err;
};
// Runs the built `tcd` with `args` (each passed as one argument, no shell interpretation).
RunResult RunTcd(const std::vector<std::string>& args);
// Runs any program the same way.
RunResult RunProgram(const std::string& program, const std::vector<std::string>& args);

// A program running in the background (stdout/stderr captured to files).
class Process {
 public:
  Process(const std::string& program, const std::vector<std::string>& args);
  ~Process();  // kills (SIGKILL) and reaps if still running
  void Signal(int sig);
  RunResult Wait();
  // Waits at most `seconds`; nullopt (and still running) on timeout.
  std::optional<RunResult> WaitFor(double seconds);
  bool Running();  // false once it has exited (it is then reaped by Wait/WaitFor)
  int pid() const { return pid_; }
  // What it has written so far (while running or after exit).
  std::string Out() const { return ReadFile(io_ / "out"); }
  std::string Err() const { return ReadFile(io_ / "err"); }

 private:
  std::optional<int> status_;  // raw wait status once reaped by Running()
  TempDir io_;
  int pid_ = -1;
};

// A loopback TCP port that was free a moment ago.
int FreePort();

// ffprobe's JSON (-show_format -show_streams) of a media file; null on failure.
nlohmann::json Probe(const std::string& path);

// Path → content of every regular file below `dir`, to show that nothing changed.
std::map<std::string, std::string> Snapshot(const std::string& dir);

// Keys and a short recorded lavfi session, made once per test binary and copied per test.
struct Fixture {
  std::string keys;     // node/node.key, node/node.pub, archive/archive.{key,pub}, passphrase
  std::string data;     // an archive with one sealed session
  std::string session;  // its id
};
// Records `seconds` of testsrc2+sine at 1 s segments (first call only; cached).
const Fixture& SharedFixture(int seconds = 6);

}  // namespace tcd::testing
