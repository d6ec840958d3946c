// PosixEnv: Env::Default(). Writes and fsync use POSIX calls (Boost.Filesystem has no fsync);
// directory management (CreateDirs, ListDir, RemoveFile, FileSize, FileExists) uses
// Boost.Filesystem with error_code, converted to Status here, at the edge.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <system_error>
#include <thread>

#include <boost/filesystem.hpp>

#include "base/env.h"

namespace tcd {
namespace {

namespace bfs = boost::filesystem;

// "<op> <path>: <strerror>" with the code chosen from errno.
Status ErrnoStatus(const std::string& op, const std::string& path, int err) {
  std::string msg = op + " " + path + ": " + std::strerror(err);
  switch (err) {
    case ENOSPC:
    case EDQUOT: return Status::NoSpace(msg);
    case EACCES:
    case EPERM:
    case EROFS: return Status::Permission(msg);
    case ENOENT: return Status::NotFound(msg);
    default: return Status::IOError(msg);
  }
}

Status EcStatus(const std::string& op, const std::string& path,
                const boost::system::error_code& ec) {
  if (ec.category() == boost::system::system_category() ||
      ec.category() == boost::system::generic_category()) {
    return ErrnoStatus(op, path, ec.value());
  }
  return Status::IOError(op + " " + path + ": " + ec.message());
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  Status Append(ByteView data) override {
    if (fd_ < 0) return Status::IOError("append " + path_ + ": file is closed");
    const uint8_t* p = data.data();
    size_t left = data.size();
    while (left > 0) {
      ssize_t n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("write", path_, errno);
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    return Status::OK();
  }

  Status Sync() override {
    if (fd_ < 0) return Status::IOError("fsync " + path_ + ": file is closed");
    if (::fdatasync(fd_) != 0) return ErrnoStatus("fsync", path_, errno);
    return Status::OK();
  }

  Status Close() override {
    if (fd_ < 0) return Status::OK();
    int fd = fd_;
    fd_ = -1;
    // close(2) must not be retried on EINTR on Linux: the descriptor is released anyway.
    if (::close(fd) != 0 && errno != EINTR) return ErrnoStatus("close", path_, errno);
    return Status::OK();
  }

 private:
  const std::string path_;
  int fd_;  // -1 once closed
};

int64_t ClockMicros(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

class PosixEnv final : public Env {
 public:
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                        uint32_t mode) override {
    int fd;
    do {
      fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                  static_cast<mode_t>(mode));
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return ErrnoStatus("create", path, errno);
    return std::unique_ptr<WritableFile>(new PosixWritableFile(path, fd));
  }

  Result<Bytes> ReadFile(const std::string& path) override {
    int fd;
    do {
      fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return ErrnoStatus("open", path, errno);
    // Read straight into a buffer of the file's size (blobs are megabytes: growing a vector
    // through a small buffer copied each one several times); a file that grows meanwhile is
    // still read to its end.
    struct stat st{};
    Bytes out(::fstat(fd, &st) == 0 && st.st_size > 0 ? static_cast<size_t>(st.st_size) : 0);
    size_t got = 0;
    uint8_t probe[4096];  // read when the buffer is full: usually just finds the end
    for (;;) {
      const bool full = got == out.size();
      ssize_t n = full ? ::read(fd, probe, sizeof probe) : ::read(fd, out.data() + got, out.size() - got);
      if (n < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::close(fd);
        return ErrnoStatus("read", path, err);
      }
      if (n == 0) break;
      if (full) {
        out.resize(std::max<size_t>(64 * 1024, out.size() * 2));
        std::memcpy(out.data() + got, probe, static_cast<size_t>(n));
      }
      got += static_cast<size_t>(n);
    }
    ::close(fd);
    out.resize(got);
    return out;
  }

  bool FileExists(const std::string& path) override {
    boost::system::error_code ec;
    return bfs::exists(path, ec);
  }

  Result<uint64_t> FileSize(const std::string& path) override {
    boost::system::error_code ec;
    uintmax_t n = bfs::file_size(path, ec);
    if (ec) return EcStatus("file size", path, ec);
    return static_cast<uint64_t>(n);
  }

  Status RenameFile(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return ErrnoStatus("rename", from + " -> " + to, errno);
    }
    return Status::OK();
  }

  Status RemoveFile(const std::string& path) override {
    boost::system::error_code ec;
    bool removed = bfs::remove(path, ec);
    if (ec) return EcStatus("remove", path, ec);
    if (!removed) return ErrnoStatus("remove", path, ENOENT);
    return Status::OK();
  }

  Status SyncDir(const std::string& dir) override {
    int fd;
    do {
      fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return ErrnoStatus("open directory", dir, errno);
    Status s;
    if (::fsync(fd) != 0) s = ErrnoStatus("fsync directory", dir, errno);
    ::close(fd);
    return s;
  }

  Status CreateDirs(const std::string& dir) override {
    boost::system::error_code ec;
    bfs::create_directories(dir, ec);
    if (ec) return EcStatus("create directories", dir, ec);
    return Status::OK();
  }

  Result<std::vector<std::string>> ListDir(const std::string& dir) override {
    boost::system::error_code ec;
    bfs::directory_iterator it(dir, ec), end;
    if (ec) return EcStatus("list directory", dir, ec);
    std::vector<std::string> names;
    for (; it != end; it.increment(ec)) {
      if (ec) return EcStatus("list directory", dir, ec);
      names.push_back(it->path().filename().string());
    }
    if (ec) return EcStatus("list directory", dir, ec);
    return names;
  }

  Result<uint64_t> FreeBytes(const std::string& path) override {
    struct statvfs st {};
    if (::statvfs(path.c_str(), &st) != 0) return ErrnoStatus("statvfs", path, errno);
    return static_cast<uint64_t>(st.f_bavail) * static_cast<uint64_t>(st.f_frsize);
  }

  int64_t NowMicros() override { return ClockMicros(CLOCK_REALTIME); }
  int64_t MonotonicMicros() override { return ClockMicros(CLOCK_MONOTONIC); }
  void SleepMicros(int64_t micros) override {
    if (micros > 0) std::this_thread::sleep_for(std::chrono::microseconds(micros));
  }
};

}  // namespace

Env* Env::Default() {
  static Env* const env = new PosixEnv();  // never destroyed: usable from static destructors
  return env;
}

}  // namespace tcd
