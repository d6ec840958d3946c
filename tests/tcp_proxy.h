// A fault-injecting TCP proxy on loopback, for the replication tests (poor links: cuts, outages,
// latency, a bandwidth cap, corrupted streams).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

namespace tcd::testing {

// A TCP proxy on 127.0.0.1 between two nodes, for fault injection: every accepted connection is
// forwarded to 127.0.0.1:target_port; bytes are counted per direction; connections can be cut
// (both sides closed with RST: SO_LINGER 0), the link taken down (new connections accepted then
// closed at once, existing ones cut), one-way delay added in user space, random cuts scheduled,
// and garbage injected. Thread-safe; its own thread(s) poll the sockets.
//
// Details of the contract:
//  * A connection whose target refuses (or fails) is cut on the client side (RST).
//  * A half-close (EOF) is forwarded after the bytes before it; a reset or write error on one
//    side cuts the whole connection.
//  * The control calls (CutAll, SetDown, SetDelayMs, SetRateBytesPerSecond, InjectUpstream,
//    Start/StopRandomCuts) take effect before they return.
//  * SetDelayMs applies to bytes read from then on; bytes already buffered keep their time.
//  * The rate cap is one token bucket per direction shared by all connections (the link), with
//    a burst of 100 ms worth (at least 16 KiB).
//  * The byte counters are updated just after each write, so a peer may hold bytes a moment
//    before they are counted.
//  * At most ~4 MiB are buffered per direction of a connection; beyond that the proxy stops
//    reading that side (TCP flow control then slows the sender).
class TcpProxy {
 public:
  // Listens on an ephemeral loopback port. nullptr (after printing why) if that fails.
  static std::unique_ptr<TcpProxy> Start(int target_port);
  ~TcpProxy();  // stops, closes everything (connections are cut)
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const { return port_; }
  void CutAll();            // cut every open connection now
  void SetDown(bool down);  // link down: cut all and refuse new ones until up again
  void SetDelayMs(int ms);  // every byte is forwarded ms later (each direction)
  void SetRateBytesPerSecond(uint64_t r);  // 0 = unlimited; each direction, token bucket
  // CutAll at random intervals uniformly in [min_ms, max_ms] (deterministic for a seed).
  void StartRandomCuts(int min_ms, int max_ms, uint32_t seed);
  void StopRandomCuts();
  // Writes raw bytes toward the target on every open connection, after the bytes already
  // queued there (subject to delay and rate). Not counted in bytes_up().
  void InjectUpstream(const std::vector<uint8_t>& bytes);

  uint64_t bytes_up() const { return bytes_up_.load(); }      // client → target, forwarded
  uint64_t bytes_down() const { return bytes_down_.load(); }  // target → client, forwarded
  // CutAll calls (including random ones and SetDown(true)) that closed at least one connection.
  int cuts() const { return cuts_.load(); }
  // Connections accepted so far (including those refused while down).
  int connections() const { return connections_.load(); }

 private:
  struct Pipe;
  struct Conn;
  struct Bucket {
    uint64_t rate = 0;  // bytes per second; 0 = unlimited
    double tokens = 0;
    int64_t last_us = 0;
  };

  TcpProxy(int listen_fd, int wake_fd, int port, int target_port);

  // Runs `fn` on the poll thread and waits until it has run.
  void RunOnLoop(std::function<void()> fn);
  void Wake();
  void Loop();
  void RunCommands();
  void AcceptAll();
  void ConnectTarget(int client_fd);
  // Cuts every connection; counts one cut if there was any. Poll thread only.
  void CutAllNow();
  void MaybeRandomCut(int64_t now_us);
  // Moves bytes: finishes connects, reads readable sides, writes due bytes. Returns false
  // when the connection is finished (closed or cut) and must be dropped.
  bool Service(Conn* c, short client_events, short target_events, int64_t now_us);
  bool ReadInto(int fd, Pipe* p, int64_t now_us);
  bool Flush(int fd, Pipe* p, Bucket* bucket, std::atomic<uint64_t>* counter, int64_t now_us);
  // Milliseconds until the loop has timed work (delay expiry, tokens, random cut); -1 = none.
  int PollTimeoutMs(int64_t now_us);
  void Refill(Bucket* b, int64_t now_us);

  const int listen_fd_;
  const int wake_fd_;  // eventfd
  const int port_;
  const int target_port_;

  std::mutex mu_;
  std::condition_variable done_cv_;
  std::vector<std::function<void()>> commands_;  // GUARDED_BY(mu_)
  uint64_t submitted_ = 0;                       // GUARDED_BY(mu_)
  uint64_t completed_ = 0;                       // GUARDED_BY(mu_)
  bool stop_ = false;                            // GUARDED_BY(mu_)

  // Poll-thread state (changed by commands, which run on the poll thread).
  std::vector<std::unique_ptr<Conn>> conns_;
  bool down_ = false;
  int delay_ms_ = 0;
  Bucket up_bucket_, down_bucket_;
  std::optional<std::mt19937> random_cuts_;  // engaged while random cuts run
  int random_min_ms_ = 0, random_max_ms_ = 0;
  int64_t next_random_cut_us_ = 0;

  std::atomic<uint64_t> bytes_up_{0};
  std::atomic<uint64_t> bytes_down_{0};
  std::atomic<int> cuts_{0};
  std::atomic<int> connections_{0};

  std::thread thread_;  // last: started after everything above is initialised
};

}  // namespace tcd::testing
