#include "tests/tcp_proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/test_util.h"

namespace tcd::testing {
namespace {

using Clock = std::chrono::steady_clock;

int64_t MillisSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

sockaddr_in Loopback(int port) {
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  return a;
}

void SetTimeout(int fd, int optname, int ms) {
  timeval tv = {ms / 1000, (ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, optname, &tv, sizeof tv);
}

// A blocking client socket connected to 127.0.0.1:port (reads time out after 5 s); -1 on error.
int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = Loopback(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  SetTimeout(fd, SO_RCVTIMEO, 5000);
  return fd;
}

bool SendAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// Up to `n` bytes: fewer on EOF, error or timeout.
std::string RecvUpTo(int fd, size_t n) {
  std::string out;
  char buf[64 * 1024];
  while (out.size() < n) {
    ssize_t got = recv(fd, buf, std::min(sizeof buf, n - out.size()), 0);
    if (got <= 0) break;
    out.append(buf, static_cast<size_t>(got));
  }
  return out;
}

// Whether the connection ends (EOF or reset) within the read timeout, discarding any data.
bool SeesEnd(int fd) {
  char buf[4096];
  while (true) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET || errno == EPIPE;
  }
}

// Sends `msg` and reads it back; false if the round trip fails.
bool Echoes(int fd, const std::string& msg) {
  return SendAll(fd, msg) && RecvUpTo(fd, msg.size()) == msg;
}

// Polls `done` for up to 2 s. The proxy counts bytes just after writing them, so a peer may
// have them a moment before the counters do.
template <typename Pred>
bool Eventually(Pred done) {
  auto start = Clock::now();
  while (!done()) {
    if (MillisSince(start) > 2000) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

// A loopback server with one thread per connection: echoes everything back (and closes after
// echoing when the client half-closes), or in sink mode counts and discards what it receives.
class TestServer {
 public:
  explicit TestServer(bool echo = true) : echo_(echo) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = Loopback(0);
    socklen_t len = sizeof a;
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(listen_fd_, 64);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }
  ~TestServer() {
    shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
    acceptor_.join();
    {
      std::lock_guard<std::mutex> l(mu_);
      for (int fd : fds_) shutdown(fd, SHUT_RDWR);  // wakes recv()
    }
    for (auto& t : workers_) t.join();
    for (int fd : fds_) close(fd);
    close(listen_fd_);
  }
  int port() const { return port_; }
  uint64_t received() const { return received_.load(); }

 private:
  void AcceptLoop() {
    while (true) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      std::lock_guard<std::mutex> l(mu_);
      fds_.push_back(fd);
      workers_.emplace_back([this, fd] { Serve(fd); });
    }
  }
  void Serve(int fd) {
    char buf[64 * 1024];
    while (true) {
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      received_.fetch_add(static_cast<uint64_t>(n));
      if (echo_ && !SendAll(fd, std::string(buf, static_cast<size_t>(n)))) break;
    }
    shutdown(fd, SHUT_WR);  // EOF back to the client; closed in the destructor
  }

  const bool echo_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<int> fds_;              // GUARDED_BY(mu_) until the acceptor is joined
  std::vector<std::thread> workers_;  // GUARDED_BY(mu_) until the acceptor is joined
  std::atomic<uint64_t> received_{0};
};

// A connection through the proxy, closed on scope exit.
struct Client {
  explicit Client(int port) : fd(Connect(port)) {}
  ~Client() {
    if (fd >= 0) close(fd);
  }
  int fd;
};

class TcpProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    proxy_ = TcpProxy::Start(server_.port());
    ASSERT_NE(proxy_, nullptr);
  }
  TestServer server_;
  std::unique_ptr<TcpProxy> proxy_;
};

TEST_F(TcpProxyTest, ForwardsBothWaysAndCounts) {
  Client a(proxy_->port());
  ASSERT_GE(a.fd, 0);
  const std::string big = Pattern(300 * 1000);
  // A writer thread, so that neither side's socket buffers must hold the whole message.
  std::thread writer([&] { EXPECT_TRUE(SendAll(a.fd, big)); });
  EXPECT_EQ(RecvUpTo(a.fd, big.size()), big);
  writer.join();

  Client b(proxy_->port());
  ASSERT_TRUE(Echoes(b.fd, "second connection"));
  EXPECT_TRUE(Eventually([&] { return proxy_->bytes_down() == big.size() + 17; }));
  EXPECT_EQ(proxy_->bytes_up(), big.size() + 17);
  EXPECT_EQ(proxy_->bytes_down(), big.size() + 17);
  EXPECT_EQ(proxy_->connections(), 2);
  EXPECT_EQ(proxy_->cuts(), 0);
}

TEST_F(TcpProxyTest, ForwardsHalfClose) {
  Client c(proxy_->port());
  ASSERT_TRUE(SendAll(c.fd, "last words"));
  shutdown(c.fd, SHUT_WR);
  // The server echoes, sees the EOF and half-closes in turn: the client gets both.
  EXPECT_EQ(RecvUpTo(c.fd, 100), "last words");
  EXPECT_EQ(proxy_->cuts(), 0);
}

TEST_F(TcpProxyTest, CutAllResetsAndNewConnectionWorks) {
  proxy_->CutAll();  // nothing open: not counted
  EXPECT_EQ(proxy_->cuts(), 0);

  Client a(proxy_->port()), b(proxy_->port());
  ASSERT_TRUE(Echoes(a.fd, "hello"));
  ASSERT_TRUE(Echoes(b.fd, "world"));
  proxy_->CutAll();
  EXPECT_TRUE(SeesEnd(a.fd));
  EXPECT_TRUE(SeesEnd(b.fd));
  EXPECT_EQ(proxy_->cuts(), 1);

  Client c(proxy_->port());
  EXPECT_TRUE(Echoes(c.fd, "again"));
  EXPECT_EQ(proxy_->connections(), 3);
}

TEST_F(TcpProxyTest, SetDownRefusesUntilUp) {
  Client open(proxy_->port());
  ASSERT_TRUE(Echoes(open.fd, "before"));
  proxy_->SetDown(true);
  EXPECT_TRUE(SeesEnd(open.fd));
  EXPECT_EQ(proxy_->cuts(), 1);

  for (int i = 0; i < 3; ++i) {
    Client refused(proxy_->port());  // the handshake completes, then the proxy resets it
    if (refused.fd < 0) continue;
    SendAll(refused.fd, "anyone?");
    EXPECT_TRUE(SeesEnd(refused.fd));
  }
  EXPECT_EQ(server_.received(), 6u);  // only "before" reached the server

  proxy_->SetDown(false);
  Client after(proxy_->port());
  EXPECT_TRUE(Echoes(after.fd, "after"));
}

TEST_F(TcpProxyTest, DelaysEachDirection) {
  Client c(proxy_->port());
  ASSERT_TRUE(Echoes(c.fd, "warm-up"));
  proxy_->SetDelayMs(200);
  auto start = Clock::now();
  ASSERT_TRUE(Echoes(c.fd, "ping"));
  // 200 ms each way; only a loose lower bound is asserted.
  EXPECT_GE(MillisSince(start), 150);
  proxy_->SetDelayMs(0);
}

TEST_F(TcpProxyTest, RandomCutsHappen) {
  proxy_->StartRandomCuts(20, 60, 42);
  auto start = Clock::now();
  while (proxy_->cuts() < 3 && MillisSince(start) < 3000) {
    Client c(proxy_->port());
    if (c.fd < 0 || !Echoes(c.fd, "x")) continue;  // may be cut before the echo
    SeesEnd(c.fd);  // held open until the next random cut
  }
  EXPECT_GE(proxy_->cuts(), 3);
  proxy_->StopRandomCuts();
  const int cuts = proxy_->cuts();
  Client c(proxy_->port());
  ASSERT_TRUE(Echoes(c.fd, "calm"));
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_TRUE(Echoes(c.fd, "still here"));
  EXPECT_EQ(proxy_->cuts(), cuts);
}

TEST(TcpProxyRateTest, CapsThroughput) {
  TestServer sink(/*echo=*/false);
  auto proxy = TcpProxy::Start(sink.port());
  ASSERT_NE(proxy, nullptr);
  proxy->SetRateBytesPerSecond(1'000'000);
  Client c(proxy->port());
  ASSERT_GE(c.fd, 0);
  SetTimeout(c.fd, SO_SNDTIMEO, 100);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    const std::string block = Pattern(64 * 1024);
    while (!stop.load()) send(c.fd, block.data(), block.size(), MSG_NOSIGNAL);
  });
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const uint64_t moved = proxy->bytes_up();
  stop = true;
  writer.join();
  // A sanity check of the tool: 2 MB ± 20 % (the initial burst is 100 kB).
  EXPECT_GE(moved, 1'600'000u);
  EXPECT_LE(moved, 2'400'000u);
}

TEST_F(TcpProxyTest, DelayAndRateKeepBytesIntact) {
  proxy_->SetDelayMs(30);
  proxy_->SetRateBytesPerSecond(2'000'000);
  Client c(proxy_->port());
  const std::string data = Pattern(500 * 1000);
  std::thread writer([&] { EXPECT_TRUE(SendAll(c.fd, data)); });
  EXPECT_EQ(RecvUpTo(c.fd, data.size()), data);
  writer.join();
  EXPECT_TRUE(Eventually([&] { return proxy_->bytes_down() == data.size(); }));
  EXPECT_EQ(proxy_->bytes_up(), data.size());
}

TEST_F(TcpProxyTest, InjectsGarbageUpstream) {
  Client c(proxy_->port());
  ASSERT_TRUE(Echoes(c.fd, "real"));
  proxy_->InjectUpstream({'j', 'u', 'n', 'k', 0xff});
  EXPECT_EQ(RecvUpTo(c.fd, 5), std::string("junk\xff", 5));  // echoed by the server
  EXPECT_TRUE(Eventually([&] { return proxy_->bytes_down() == 9; }));
  EXPECT_EQ(proxy_->bytes_up(), 4u);  // injected bytes are not counted
  EXPECT_TRUE(Echoes(c.fd, "still works"));
}

TEST(TcpProxyTargetTest, UnreachableTargetResetsClient) {
  auto proxy = TcpProxy::Start(FreePort());  // nothing listens there
  ASSERT_NE(proxy, nullptr);
  Client c(proxy->port());
  ASSERT_GE(c.fd, 0);
  EXPECT_TRUE(SeesEnd(c.fd));
  EXPECT_EQ(proxy->connections(), 1);
}

TEST_F(TcpProxyTest, DestroyingWithBufferedDataDoesNotHang) {
  proxy_->SetDelayMs(10'000);
  Client c(proxy_->port());
  ASSERT_TRUE(SendAll(c.fd, Pattern(1 << 20)));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto start = Clock::now();
  proxy_.reset();
  EXPECT_LT(MillisSince(start), 1000);
  EXPECT_TRUE(SeesEnd(c.fd));
}

}  // namespace
}  // namespace tcd::testing
