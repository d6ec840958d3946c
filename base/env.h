// Env: the operating system as tcd sees it — files, fsync, rename, directories, disk space,
// clock and sleep. Production code receives an Env* and never calls the OS for these directly,
// so tests can substitute a fault-injecting Env that "crashes" between any two steps and
// discards what was not made durable (see FaultInjectionEnv in base/fault_env.h).
//
// Thread-safety: implementations are safe for concurrent use by multiple threads.
// Paths are plain std::string; errors name the path and the operation.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"

namespace tcd {

// A file being written. Append buffers or writes; only Sync() makes the data durable.
// Close() does not sync. Destroying an unclosed file closes it.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status Append(ByteView data) = 0;
  virtual Status Sync() = 0;  // fdatasync/fsync: data durable when OK
  virtual Status Close() = 0;
};

class Env {
 public:
  virtual ~Env() = default;

  // The process-wide POSIX Env. Never destroyed.
  static Env* Default();

  // Creates or truncates `path`. Permissions: mode (e.g. 0600 for key files).
  virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                                 uint32_t mode = 0644) = 0;
  virtual Result<Bytes> ReadFile(const std::string& path) = 0;
  virtual bool FileExists(const std::string& path) = 0;
  virtual Result<uint64_t> FileSize(const std::string& path) = 0;
  // Atomically replaces `to` with `from` (rename(2)); durable only after SyncDir(parent).
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  // fsyncs a directory so that creations, renames and removals in it are durable.
  virtual Status SyncDir(const std::string& dir) = 0;
  // mkdir -p; OK if it exists.
  virtual Status CreateDirs(const std::string& dir) = 0;
  // Names (not paths) of entries in `dir`, unsorted; NotFound if `dir` does not exist.
  virtual Result<std::vector<std::string>> ListDir(const std::string& dir) = 0;
  // Bytes available to an unprivileged user on the filesystem holding `path`.
  virtual Result<uint64_t> FreeBytes(const std::string& path) = 0;

  // Wall-clock UTC, microseconds since the Unix epoch (a claim: PC clocks drift).
  virtual int64_t NowMicros() = 0;
  // Monotonic clock, microseconds since an arbitrary origin.
  virtual int64_t MonotonicMicros() = 0;
  virtual void SleepMicros(int64_t micros) = 0;

  // A named step of a multi-step durable operation that is not itself an Env call (for
  // example "catalog-commit" before a RocksDB synced write). The POSIX Env returns OK; a
  // fault-injecting Env may fail here (Status::Aborted) to simulate a crash at that point.
  virtual Status CrashPoint(const char* name) { (void)name; return Status::OK(); }

  // Writes `data` to `path` durably and atomically: temp file in the same directory, write,
  // fsync, rename over `path`, fsync the directory. On failure `path` is unchanged (the old
  // content or absent) and the temp file is removed where possible.
  Status WriteFileDurably(const std::string& path, ByteView data, uint32_t mode = 0644);
};

}  // namespace tcd
