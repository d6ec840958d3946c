#include "node/control.h"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <utility>
#include <vector>

namespace tcd::node {
namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

constexpr size_t kMaxConnections = 64;
constexpr size_t kMaxResponseBytes = 64 << 20;

// Owns one file descriptor.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) Reset(std::exchange(o.fd_, -1));
    return *this;
  }
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset(int fd = -1) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

Status Errno(const std::string& path, const std::string& what, int err = errno) {
  return Status::IOError(path + ": " + what + ": " + std::strerror(err));
}

Clock::time_point DeadlineIn(double seconds) {
  return Clock::now() + std::chrono::microseconds(static_cast<int64_t>(seconds * 1e6));
}

int MillisUntil(Clock::time_point deadline) {
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(ms, 0, 1 << 30));
}

Result<sockaddr_un> MakeAddr(const std::string& path) {
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.empty()) return Status::InvalidArgument("control socket path is empty");
  if (path.size() > sizeof(addr.sun_path) - 1)
    return Status::InvalidArgument("control socket path '" + path + "' is longer than " +
                                   std::to_string(sizeof(addr.sun_path) - 1) + " bytes");
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

int ConnectTo(const sockaddr_un& addr, Fd* fd) {
  fd->Reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd->valid()) return errno;
  if (connect(fd->get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) return 0;
  return errno;
}

// Writes all of `data`, waiting for the peer at most until `deadline`.
bool WriteAll(int fd, std::string_view data, Clock::time_point deadline) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) return false;
    pollfd p = {fd, POLLOUT, 0};
    if (poll(&p, 1, MillisUntil(deadline)) <= 0 && Clock::now() >= deadline) return false;
  }
  return true;
}

// mkdir -p with mode 0700 for every directory it creates; existing ones are left alone.
Status CreatePrivateDirs(const std::string& dir) {
  if (dir.empty()) return Status::OK();
  struct stat st;
  if (stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return Status::IOError(dir + ": not a directory");
    return Status::OK();
  }
  if (errno != ENOENT) return Errno(dir, "stat");
  size_t slash = dir.find_last_of('/');
  if (slash != std::string::npos && slash > 0)
    TCD_RETURN_IF_ERROR(CreatePrivateDirs(dir.substr(0, slash)));
  if (mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST) return Status::OK();
    return Errno(dir, "cannot create the control socket directory");
  }
  if (chmod(dir.c_str(), 0700) != 0) return Errno(dir, "chmod 0700");
  return Status::OK();
}

Status AnotherNode(const std::string& path) {
  return Status::IOError(path + ": another node is already serving this control socket");
}

// Removes a socket file nobody answers on; refuses to touch anything else.
Status RemoveStale(const std::string& path, const sockaddr_un& addr) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return errno == ENOENT ? Status::OK() : Errno(path, "lstat");
  if (!S_ISSOCK(st.st_mode))
    return Status::IOError(path + ": exists and is not a socket (not removing it)");
  Fd probe;
  int err = ConnectTo(addr, &probe);
  if (err == 0 || err == EAGAIN) return AnotherNode(path);
  if (err != ECONNREFUSED) return Errno(path, "cannot check for a running node", err);
  spdlog::info("control: removing stale socket {}", path);
  if (unlink(path.c_str()) != 0 && errno != ENOENT)
    return Errno(path, "cannot remove stale socket");
  return Status::OK();
}

Json ErrorResponse(const std::string& message) { return {{"ok", false}, {"error", message}}; }

// nlohmann's what() starts with "[json.exception.parse_error.101] "; a person needs the rest.
std::string JsonErrorText(const std::exception& e) {
  std::string s = e.what();
  size_t end = s.rfind("] ", s.find(' '));
  return s.rfind("[json.exception.", 0) == 0 && end != std::string::npos ? s.substr(end + 2) : s;
}

std::string Seconds(double s) {
  char buf[32];
  snprintf(buf, sizeof buf, "%g", s);
  return buf;
}

std::string DumpLine(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

class ControlServerImpl : public ControlServer {
 public:
  ControlServerImpl(std::string path, ControlHandler handler, ControlServerOptions options,
                    Fd listener, Fd wake, struct stat bound)
      : path_(std::move(path)),
        handler_(std::move(handler)),
        options_(options),
        listener_(std::move(listener)),
        wake_(std::move(wake)),
        bound_(bound) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~ControlServerImpl() override;

 private:
  struct Conn {
    Fd fd;
    std::string buf;
    Clock::time_point deadline;
    bool done = false;
  };
  void Loop();
  void AcceptAll(std::vector<Conn>* conns);
  void ReadFrom(Conn* c);
  void Send(Conn* c, const Json& response);  // then the connection is done
  Json Handle(const std::string& line);

  const std::string path_;
  const ControlHandler handler_;
  const ControlServerOptions options_;
  const Fd listener_;
  const Fd wake_;
  const struct stat bound_;  // the socket file this server created (removed only if unchanged)
  std::thread thread_;
};

ControlServerImpl::~ControlServerImpl() {
  uint64_t one = 1;
  if (write(wake_.get(), &one, sizeof one) < 0) spdlog::warn("control: wake: {}", strerror(errno));
  thread_.join();
  struct stat st;
  if (lstat(path_.c_str(), &st) == 0 && st.st_dev == bound_.st_dev && st.st_ino == bound_.st_ino)
    unlink(path_.c_str());
}

void ControlServerImpl::Loop() {
  std::vector<Conn> conns;
  for (;;) {
    std::vector<pollfd> fds = {{wake_.get(), POLLIN, 0},
                               {conns.size() < kMaxConnections ? listener_.get() : -1, POLLIN, 0}};
    int timeout = -1;
    for (const auto& c : conns) {
      fds.push_back({c.fd.get(), POLLIN, 0});
      int ms = MillisUntil(c.deadline);
      timeout = timeout < 0 ? ms : std::min(timeout, ms);
    }
    if (poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) {
      spdlog::error("control: poll: {}", strerror(errno));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (fds[0].revents) return;
    for (size_t i = 2; i < fds.size(); ++i)
      if (fds[i].revents) ReadFrom(&conns[i - 2]);
    if (fds[1].revents) AcceptAll(&conns);
    auto now = Clock::now();
    std::erase_if(conns, [now](const Conn& c) { return c.done || now >= c.deadline; });
  }
}

void ControlServerImpl::AcceptAll(std::vector<Conn>* conns) {
  while (conns->size() < kMaxConnections) {
    int fd = accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
        spdlog::warn("control: accept on {}: {}", path_, strerror(errno));
      return;
    }
    conns->push_back({Fd(fd), {}, DeadlineIn(options_.read_timeout_seconds)});
  }
}

void ControlServerImpl::ReadFrom(Conn* c) {
  char chunk[65536];
  for (;;) {
    ssize_t n = read(c->fd.get(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {  // end of stream (a request without its newline still counts) or error
      if (n == 0 && !c->buf.empty()) Send(c, Handle(c->buf));
      c->done = true;
      return;
    }
    c->buf.append(chunk, static_cast<size_t>(n));
    size_t nl = c->buf.find('\n');
    if ((nl == std::string::npos ? c->buf.size() : nl) > options_.max_request_bytes) {
      return Send(c, ErrorResponse("malformed request: larger than " +
                                   std::to_string(options_.max_request_bytes) + " bytes"));
    }
    if (nl != std::string::npos) return Send(c, Handle(c->buf.substr(0, nl)));
  }
}

void ControlServerImpl::Send(Conn* c, const Json& response) {
  if (!WriteAll(c->fd.get(), DumpLine(response), DeadlineIn(options_.read_timeout_seconds)))
    spdlog::warn("control: a client went away before reading its response");
  c->done = true;
}

Json ControlServerImpl::Handle(const std::string& line) {
  Json request;
  try {
    request = Json::parse(line);
  } catch (const std::exception& e) {
    return ErrorResponse("malformed request: " + JsonErrorText(e));
  }
  if (!request.is_object()) return ErrorResponse("malformed request: not a JSON object");
  if (!request.contains("cmd") || !request["cmd"].is_string())
    return ErrorResponse("malformed request: \"cmd\" is missing or not a string");
  Json response;
  try {
    response = handler_(request);
  } catch (const std::exception& e) {
    spdlog::error("control: {} failed: {}", request["cmd"].get<std::string>(), e.what());
    return ErrorResponse(std::string("internal error: ") + e.what());
  } catch (...) {
    spdlog::error("control: {} failed with an unknown exception",
                  request["cmd"].get<std::string>());
    return ErrorResponse("internal error: unknown exception");
  }
  if (!response.is_object() || !response.contains("ok") || !response["ok"].is_boolean())
    return ErrorResponse("internal error: the handler's response has no \"ok\"");
  return response;
}

}  // namespace

Result<std::unique_ptr<ControlServer>> ControlServer::Start(const std::string& path,
                                                            ControlHandler handler,
                                                            const ControlServerOptions& options) {
  TCD_ASSIGN_OR_RETURN(sockaddr_un addr, MakeAddr(path));
  size_t slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0)
    TCD_RETURN_IF_ERROR(CreatePrivateDirs(path.substr(0, slash)));
  TCD_RETURN_IF_ERROR(RemoveStale(path, addr));
  Fd sock(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!sock.valid()) return Errno(path, "socket");
  mode_t old_mask = umask(0177);
  int rc = bind(sock.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  int err = errno;
  umask(old_mask);
  if (rc != 0) return err == EADDRINUSE ? AnotherNode(path) : Errno(path, "bind", err);
  struct stat bound;
  Fd wake(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  Status s;
  if (chmod(path.c_str(), 0600) != 0)
    s = Errno(path, "chmod 0600");
  else if (listen(sock.get(), 64) != 0)
    s = Errno(path, "listen");
  else if (lstat(path.c_str(), &bound) != 0)
    s = Errno(path, "lstat");
  else if (!wake.valid())
    s = Errno(path, "eventfd");
  if (!s.ok()) {
    unlink(path.c_str());
    return s;
  }
  return std::unique_ptr<ControlServer>(std::make_unique<ControlServerImpl>(
      path, std::move(handler), options, std::move(sock), std::move(wake), bound));
}

Result<Json> ControlCall(const std::string& path, const Json& request, double timeout_seconds) {
  TCD_ASSIGN_OR_RETURN(sockaddr_un addr, MakeAddr(path));
  Fd fd;
  int err = ConnectTo(addr, &fd);
  if (err == ENOENT || err == ECONNREFUSED || err == ENOTDIR)
    return Status::Unavailable("no node is running (cannot connect to " + path + ")");
  if (err == EACCES)
    return Status::Permission(path + ": permission denied (run as the node's user)");
  if (err == EAGAIN) return Status::Unavailable(path + ": the node is too busy to answer");
  if (err != 0) return Errno(path, "connect", err);
  auto deadline = DeadlineIn(timeout_seconds);
  if (!WriteAll(fd.get(), DumpLine(request), deadline))
    return Status::IOError(path + ": cannot send the request to the node");
  std::string buf;
  char chunk[65536];
  while (buf.find('\n') == std::string::npos) {
    pollfd p = {fd.get(), POLLIN, 0};
    if (poll(&p, 1, MillisUntil(deadline)) == 0)
      return Status::IOError(path + ": the node did not answer within " + Seconds(timeout_seconds) +
                             " s");
    ssize_t n = read(fd.get(), chunk, sizeof chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return Errno(path, "read");
    if (n == 0) break;
    buf.append(chunk, static_cast<size_t>(n));
    if (buf.size() > kMaxResponseBytes) return Status::IOError(path + ": response too large");
  }
  if (buf.empty()) return Status::IOError(path + ": the node closed the connection unanswered");
  Json response = Json::parse(buf.substr(0, buf.find('\n')), nullptr, false);
  if (response.is_discarded() || !response.is_object() || !response.contains("ok") ||
      !response["ok"].is_boolean())
    return Status::IOError(path + ": malformed response from the node");
  return response;
}

}  // namespace tcd::node
