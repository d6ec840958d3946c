// FaultInjectionEnv: an Env for crash tests, wrapping a real Env (normally Env::Default() on a
// temporary directory). It numbers the mutating steps of the code under test, can "crash" at
// any step, and can then make the files look as they would after a power cut at that moment.
//
// Steps: every call of NewWritableFile, WritableFile::Append/Sync/Close, RenameFile,
// RemoveFile, SyncDir, CreateDirs and CrashPoint counts as one step (reads, ListDir, FreeBytes
// and clocks are not steps and always pass through).
//
// Typical test:
//   FaultInjectionEnv env(Env::Default());
//   RunOperation(&env);  int n = env.steps();      // count the steps of a clean run
//   for (int i = 1; i <= n; ++i) {
//     ResetDir(); env.CrashAtStep(i);  RunOperation(&env);  // fails with Aborted
//     ASSERT_TRUE(env.SimulatePowerLoss().ok());  CheckInvariants();
//   }
//
// What SimulatePowerLoss models (files written/renamed/removed through this env only):
//  * File data: a file created by NewWritableFile keeps only the bytes it had at its last
//    successful Sync() (0 bytes if never synced). Truncating an existing file via
//    NewWritableFile counts as durable immediately (its directory entry existed already).
//  * Creation: if the parent directory of a newly created file was not SyncDir'ed after the
//    creation, the file is deleted.
//  * Rename: if the destination's parent directory was not SyncDir'ed after the rename, the
//    rename is undone (the file goes back to its old name; the source directory is not
//    required to be synced). If the rename replaced an existing file, that file's durable
//    bytes (captured at rename time) are written back under the destination name.
//  * Removal: if the parent directory was not SyncDir'ed after RemoveFile, the file is
//    restored with its durable bytes (captured at removal time).
//  * Undone operations are replayed newest first and by name; files replaced/restored this
//    way get mode 0644 unless they were tracked (then their creation mode).
// Not modelled: directory creation (CreateDirs is always durable), metadata other than names
// and sizes, partial (torn) writes inside an unsynced region, reordering between files, and
// files changed by anything other than this env.
//
// Thread-safety: all methods are safe to call concurrently; the env (and every file it
// returned) serialises its steps under one mutex. REQUIRES: `base` outlives this env, and
// this env outlives every WritableFile it returned.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/env.h"

namespace tcd {

class FaultInjectionEnv : public Env {
 public:
  explicit FaultInjectionEnv(Env* base);
  ~FaultInjectionEnv() override;

  // The n-th step (1-based) from now fails with Status::Aborted("injected crash at step N:
  // <op> <path or name>") without being performed; from then on every step fails with
  // Aborted until SimulatePowerLoss() or ResetCrash(). REQUIRES: n >= 1.
  void CrashAtStep(int n);
  // Steps counted since construction or the last SimulatePowerLoss() (crashed steps included).
  int steps() const;
  bool crashed() const;
  // Rewrites the files as described above, then clears the crash, the step count and all
  // tracking. Files opened before are dead afterwards (every call returns Aborted).
  // Returns the first error of the underlying env (the rewrite continues past errors).
  Status SimulatePowerLoss();
  // Clears the crash (and a pending CrashAtStep) without touching the files; tracking stays.
  void ResetCrash();
  // Makes FreeBytes() report `bytes` (a nearly full disk); nullopt reports the real value.
  void SetFreeBytes(std::optional<uint64_t> bytes);

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                        uint32_t mode = 0644) override;
  Result<Bytes> ReadFile(const std::string& path) override;
  bool FileExists(const std::string& path) override;
  Result<uint64_t> FileSize(const std::string& path) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status RemoveFile(const std::string& path) override;
  Status SyncDir(const std::string& dir) override;
  Status CreateDirs(const std::string& dir) override;
  Result<std::vector<std::string>> ListDir(const std::string& dir) override;
  Result<uint64_t> FreeBytes(const std::string& path) override;
  int64_t NowMicros() override;
  int64_t MonotonicMicros() override;
  void SleepMicros(int64_t micros) override;
  Status CrashPoint(const char* name) override;

 private:
  class File;
  friend class File;

  // Durability state of one file created through this env; shared with its open handle.
  struct FileState {
    uint32_t mode = 0644;
    uint64_t size = 0;         // bytes appended so far
    uint64_t synced_size = 0;  // bytes durable (at the last successful Sync)
    bool dead = false;         // set by SimulatePowerLoss: the handle must not write any more
  };
  // A namespace change not yet made durable by SyncDir of Parent(path).
  struct PendingOp {
    enum Kind { kCreate, kRename, kRemove } kind;
    std::string path;                // created / removed path, or the rename's destination
    std::string from;                // rename source
    std::optional<Bytes> old_bytes;  // durable bytes replaced (rename) or removed (remove)
    uint32_t old_mode = 0644;
  };

  // Counts one step. Returns Aborted if the env is crashed or this step is the crash step.
  Status StepLocked(const char* op, const std::string& what);
  // The bytes at `path` that would survive a power cut now (nullopt if no file there).
  std::optional<Bytes> DurableBytesLocked(const std::string& path, uint32_t* mode);
  Status WriteRawLocked(const std::string& path, ByteView data, uint32_t mode);

  Env* const base_;
  mutable std::mutex mu_;
  int steps_ = 0;          // GUARDED_BY(mu_)
  int crash_step_ = 0;     // GUARDED_BY(mu_): absolute step number that crashes; 0 = none
  bool crashed_ = false;   // GUARDED_BY(mu_)
  std::optional<uint64_t> free_bytes_;  // GUARDED_BY(mu_): reported by FreeBytes when set
  // GUARDED_BY(mu_): files created through this env, by their current (normalised) name.
  std::map<std::string, std::shared_ptr<FileState>> files_;
  std::vector<PendingOp> pending_;  // GUARDED_BY(mu_): oldest first
};

}  // namespace tcd
