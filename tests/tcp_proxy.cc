#include "tests/tcp_proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>

namespace tcd::testing {

namespace {

constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kMaxPending = 4 * 1024 * 1024;  // per direction of a connection
constexpr double kMinBurst = 16 * 1024;

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

sockaddr_in Loopback(int port) {
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  return a;
}

void SetNoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Closes `fd` so that the peer sees a reset (RST) rather than an orderly EOF.
void ResetClose(int fd) {
  if (fd < 0) return;
  linger l = {};
  l.l_onoff = 1;
  l.l_linger = 0;
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close(fd);
}

bool WouldBlock(int err) { return err == EAGAIN || err == EWOULDBLOCK; }

double Burst(uint64_t rate) { return std::max(static_cast<double>(rate) / 10.0, kMinBurst); }

}  // namespace

// Bytes read from one side and not yet written to the other, oldest first.
struct TcpProxy::Pipe {
  struct Chunk {
    int64_t due_us;  // not written before this time (the delay)
    std::vector<uint8_t> data;
    size_t off = 0;  // bytes of data already written
    bool injected = false;
  };
  std::deque<Chunk> chunks;
  size_t pending = 0;    // unwritten bytes in chunks
  bool eof = false;      // the source side sent EOF
  bool shut = false;     // EOF forwarded: shutdown(SHUT_WR) done on the destination
  bool blocked = false;  // the last write hit EAGAIN: wait for POLLOUT

  void Push(int64_t due_us, std::vector<uint8_t> data, bool injected) {
    pending += data.size();
    chunks.push_back(Chunk{due_us, std::move(data), 0, injected});
  }
  bool WantsRead() const { return !eof && pending < kMaxPending; }
};

// One proxied connection: client ↔ proxy ↔ target.
struct TcpProxy::Conn {
  int client = -1;
  int target = -1;
  bool connecting = true;  // non-blocking connect to the target in progress
  Pipe up;                 // client → target
  Pipe down;               // target → client

  ~Conn() { Close(/*reset=*/true); }
  void Close(bool reset) {
    for (int* fd : {&client, &target}) {
      if (reset) {
        ResetClose(*fd);
      } else if (*fd >= 0) {
        close(*fd);
      }
      *fd = -1;
    }
  }
};

std::unique_ptr<TcpProxy> TcpProxy::Start(int target_port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    std::perror("TcpProxy: socket");
    return nullptr;
  }
  sockaddr_in a = Loopback(0);
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 128) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    std::perror("TcpProxy: bind/listen");
    close(fd);
    return nullptr;
  }
  int wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake < 0) {
    std::perror("TcpProxy: eventfd");
    close(fd);
    return nullptr;
  }
  return std::unique_ptr<TcpProxy>(new TcpProxy(fd, wake, ntohs(a.sin_port), target_port));
}

TcpProxy::TcpProxy(int listen_fd, int wake_fd, int port, int target_port)
    : listen_fd_(listen_fd), wake_fd_(wake_fd), port_(port), target_port_(target_port) {
  thread_ = std::thread([this] { Loop(); });
}

TcpProxy::~TcpProxy() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  Wake();
  thread_.join();
  conns_.clear();  // resets every connection
  close(listen_fd_);
  close(wake_fd_);
}

void TcpProxy::CutAll() {
  RunOnLoop([this] { CutAllNow(); });
}

void TcpProxy::SetDown(bool down) {
  RunOnLoop([this, down] {
    down_ = down;
    if (down) CutAllNow();
  });
}

void TcpProxy::SetDelayMs(int ms) {
  RunOnLoop([this, ms] { delay_ms_ = std::max(0, ms); });
}

void TcpProxy::SetRateBytesPerSecond(uint64_t r) {
  RunOnLoop([this, r] {
    for (Bucket* b : {&up_bucket_, &down_bucket_}) {
      b->rate = r;
      b->tokens = Burst(r);
      b->last_us = NowMicros();
    }
  });
}

void TcpProxy::StartRandomCuts(int min_ms, int max_ms, uint32_t seed) {
  RunOnLoop([this, min_ms, max_ms, seed] {
    random_cuts_.emplace(seed);
    random_min_ms_ = std::max(0, std::min(min_ms, max_ms));
    random_max_ms_ = std::max(random_min_ms_, max_ms);
    next_random_cut_us_ = 0;
    MaybeRandomCut(NowMicros());  // schedules the first cut
  });
}

void TcpProxy::StopRandomCuts() {
  RunOnLoop([this] { random_cuts_.reset(); });
}

void TcpProxy::InjectUpstream(const std::vector<uint8_t>& bytes) {
  if (bytes.empty()) return;
  RunOnLoop([this, &bytes] {
    const int64_t due = NowMicros() + int64_t{delay_ms_} * 1000;
    for (auto& c : conns_) {
      if (!c->up.shut) c->up.Push(due, bytes, /*injected=*/true);
    }
  });
}

void TcpProxy::RunOnLoop(std::function<void()> fn) {
  std::unique_lock<std::mutex> l(mu_);
  commands_.push_back(std::move(fn));
  const uint64_t ticket = ++submitted_;
  l.unlock();
  Wake();
  l.lock();
  done_cv_.wait(l, [&] { return completed_ >= ticket; });
}

void TcpProxy::Wake() {
  uint64_t one = 1;
  ssize_t n = write(wake_fd_, &one, sizeof one);
  (void)n;  // EAGAIN means the counter is already non-zero: the loop will wake anyway
}

void TcpProxy::RunCommands() {
  std::vector<std::function<void()>> batch;
  uint64_t last;
  {
    std::lock_guard<std::mutex> l(mu_);
    batch.swap(commands_);
    last = submitted_;
  }
  if (batch.empty()) return;
  for (auto& fn : batch) fn();
  {
    std::lock_guard<std::mutex> l(mu_);
    completed_ = last;
  }
  done_cv_.notify_all();
}

void TcpProxy::Loop() {
  std::vector<pollfd> fds;
  while (true) {
    RunCommands();
    {
      std::lock_guard<std::mutex> l(mu_);
      if (stop_) return;
    }
    MaybeRandomCut(NowMicros());

    fds.assign(2 + 2 * conns_.size(), pollfd{});
    fds[0] = {wake_fd_, POLLIN, 0};
    fds[1] = {listen_fd_, POLLIN, 0};
    for (size_t i = 0; i < conns_.size(); ++i) {
      const Conn& c = *conns_[i];
      short ce = (c.up.WantsRead() ? POLLIN : 0) | (c.down.blocked ? POLLOUT : 0);
      short te = c.connecting ? POLLOUT
                              : (c.down.WantsRead() ? POLLIN : 0) | (c.up.blocked ? POLLOUT : 0);
      // A side with nothing to do is left out, so that its HUP/ERR does not spin the loop;
      // its fate is discovered by the next read or write.
      fds[2 + 2 * i] = {ce ? c.client : -1, ce, 0};
      fds[3 + 2 * i] = {te ? c.target : -1, te, 0};
    }
    if (poll(fds.data(), fds.size(), PollTimeoutMs(NowMicros())) < 0) {
      if (errno == EINTR) continue;
      std::perror("TcpProxy: poll");  // a dead loop would hang every control call
      std::abort();
    }
    if (fds[0].revents & POLLIN) {
      uint64_t count;
      ssize_t n = read(wake_fd_, &count, sizeof count);
      (void)n;
    }
    const int64_t now = NowMicros();
    std::vector<std::unique_ptr<Conn>> kept;
    kept.reserve(conns_.size());
    for (size_t i = 0; i < conns_.size(); ++i) {
      if (Service(conns_[i].get(), fds[2 + 2 * i].revents, fds[3 + 2 * i].revents, now))
        kept.push_back(std::move(conns_[i]));
    }
    conns_.swap(kept);  // the dropped ones are closed by ~Conn (or already were)
    if (fds[1].revents & POLLIN) AcceptAll();
  }
}

void TcpProxy::AcceptAll() {
  while (true) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      return;  // EAGAIN, or an aborted handshake: nothing more to accept now
    }
    connections_.fetch_add(1);
    if (down_) {
      ResetClose(fd);
    } else {
      ConnectTarget(fd);
    }
  }
}

void TcpProxy::ConnectTarget(int client_fd) {
  auto c = std::make_unique<Conn>();
  c->client = client_fd;
  SetNoDelay(client_fd);
  c->target = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->target < 0) return;  // ~Conn resets the client
  SetNoDelay(c->target);
  sockaddr_in a = Loopback(target_port_);
  if (connect(c->target, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    c->connecting = false;
  } else if (errno != EINPROGRESS) {
    return;  // refused at once: ~Conn resets the client
  }
  conns_.push_back(std::move(c));
}

void TcpProxy::CutAllNow() {
  if (conns_.empty()) return;
  conns_.clear();  // ~Conn closes both sides with RST
  cuts_.fetch_add(1);
}

void TcpProxy::MaybeRandomCut(int64_t now_us) {
  if (!random_cuts_ || now_us < next_random_cut_us_) return;
  if (next_random_cut_us_ != 0) CutAllNow();
  std::uniform_int_distribution<int> ms(random_min_ms_, random_max_ms_);
  next_random_cut_us_ = now_us + int64_t{ms(*random_cuts_)} * 1000;
}

bool TcpProxy::Service(Conn* c, short client_events, short target_events, int64_t now_us) {
  if ((client_events | target_events) & POLLERR) return false;  // reset or failed connect
  if (c->connecting && (target_events & (POLLOUT | POLLHUP))) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->target, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) return false;
    c->connecting = false;
  }
  // Client bytes are buffered even while the target connection is being set up.
  if ((client_events & (POLLIN | POLLHUP)) && !ReadInto(c->client, &c->up, now_us)) return false;
  if (c->connecting) return true;
  if ((target_events & (POLLIN | POLLHUP)) && !ReadInto(c->target, &c->down, now_us))
    return false;
  if (!Flush(c->target, &c->up, &up_bucket_, &bytes_up_, now_us)) return false;
  if (!Flush(c->client, &c->down, &down_bucket_, &bytes_down_, now_us)) return false;
  // Forward an EOF once everything before it has been written.
  for (auto [p, fd] : {std::pair{&c->up, c->target}, std::pair{&c->down, c->client}}) {
    if (p->eof && p->pending == 0 && !p->shut) {
      shutdown(fd, SHUT_WR);
      p->shut = true;
    }
  }
  if (c->up.shut && c->down.shut) {
    c->Close(/*reset=*/false);  // both directions finished in order
    return false;
  }
  return true;
}

bool TcpProxy::ReadInto(int fd, Pipe* p, int64_t now_us) {
  if (p->eof) return true;
  std::vector<uint8_t> buf(kReadChunk);
  ssize_t n;
  do {
    n = read(fd, buf.data(), buf.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return WouldBlock(errno);
  if (n == 0) {
    p->eof = true;
    return true;
  }
  buf.resize(static_cast<size_t>(n));
  p->Push(now_us + int64_t{delay_ms_} * 1000, std::move(buf), /*injected=*/false);
  return true;
}

bool TcpProxy::Flush(int fd, Pipe* p, Bucket* bucket, std::atomic<uint64_t>* counter,
                     int64_t now_us) {
  p->blocked = false;
  while (!p->chunks.empty() && p->chunks.front().due_us <= now_us) {
    Pipe::Chunk& chunk = p->chunks.front();
    size_t allowed = chunk.data.size() - chunk.off;
    if (bucket->rate != 0) {
      Refill(bucket, now_us);
      allowed = std::min(allowed, static_cast<size_t>(std::max(0.0, bucket->tokens)));
      if (allowed == 0) break;
    }
    ssize_t n = send(fd, chunk.data.data() + chunk.off, allowed, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (!WouldBlock(errno)) return false;  // the peer is gone: cut
      p->blocked = true;
      break;
    }
    chunk.off += static_cast<size_t>(n);
    p->pending -= static_cast<size_t>(n);
    if (bucket->rate != 0) bucket->tokens -= static_cast<double>(n);
    if (!chunk.injected) counter->fetch_add(static_cast<uint64_t>(n));
    if (chunk.off == chunk.data.size()) p->chunks.pop_front();
  }
  return true;
}

void TcpProxy::Refill(Bucket* b, int64_t now_us) {
  if (now_us <= b->last_us) return;
  b->tokens = std::min(Burst(b->rate),
                       b->tokens + static_cast<double>(b->rate) * (now_us - b->last_us) / 1e6);
  b->last_us = now_us;
}

int TcpProxy::PollTimeoutMs(int64_t now_us) {
  int64_t wait_us = -1;  // -1: no timed work
  auto at_most = [&](int64_t us) {
    us = std::max<int64_t>(0, us);
    wait_us = wait_us < 0 ? us : std::min(wait_us, us);
  };
  if (random_cuts_) at_most(next_random_cut_us_ - now_us);
  for (const auto& c : conns_) {
    for (auto [p, b] : {std::pair{&c->up, &up_bucket_}, std::pair{&c->down, &down_bucket_}}) {
      if (p->chunks.empty() || p->blocked || (p == &c->up && c->connecting)) continue;
      const Pipe::Chunk& head = p->chunks.front();
      if (head.due_us > now_us) {
        at_most(head.due_us - now_us);
      } else if (b->rate != 0) {
        Refill(b, now_us);
        double want = std::min<double>(head.data.size() - head.off, 1024);
        at_most(static_cast<int64_t>(std::ceil((want - b->tokens) * 1e6 / b->rate)));
      } else {
        at_most(0);
      }
    }
  }
  if (wait_us < 0) return -1;
  if (wait_us == 0) return 0;
  return static_cast<int>(std::min<int64_t>((wait_us + 999) / 1000, 60'000));
}

}  // namespace tcd::testing
