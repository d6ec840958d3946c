// delay_proxy: a delaying Ethernet relay, the "delay" of ops/linksim on kernels without sch_netem.
//
//   delay_proxy --a IF --b IF --delay-ms MS      (root, in a namespace holding both interfaces)
//
// Every frame received on IF a is sent out of IF b MS milliseconds later, and the other way round.
// It relays frames, not TCP streams, on purpose: a TCP proxy would end the connection at the proxy,
// so losses on the shaped link would be recovered over a short round trip and the delay would
// only sit in the proxy's buffer. Relayed frames keep one TCP connection end to end, whose RTT
// then really includes 2 × MS, as with netem. The frames arrive here through a packet socket,
// which takes them off the sender's socket accounting (TCP small queues do not see the delay).
// PACKET_VNET_HDR carries the checksum state through (veth frames are sent with partial
// checksums). Runs until SIGTERM/SIGINT, then prints its counters.
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

namespace {

volatile sig_atomic_t g_stop = 0;

// sizeof(struct virtio_net_hdr), written out because <linux/virtio_net.h> does not
// compile as C++ (a member is called `class`). flags, gso_type, hdr_len, gso_size, csum_start,
// csum_offset: 1 + 1 + 4 × 2 bytes.
constexpr size_t kVnetHdrLen = 10;

int64_t NowNs() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
}

// A packet socket bound to `ifname` that sees only frames arriving there (not our own sends).
int OpenPort(const std::string& ifname) {
  const unsigned idx = if_nametoindex(ifname.c_str());
  if (idx == 0) {
    std::fprintf(stderr, "delay_proxy: no interface '%s' here\n", ifname.c_str());
    return -1;
  }
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
  int one = 1, big = 8 << 20;
  sockaddr_ll a = {};
  a.sll_family = AF_PACKET;
  a.sll_protocol = htons(ETH_P_ALL);
  a.sll_ifindex = static_cast<int>(idx);
  // Everything that arrives on IF must go through us (promiscuous: frames for the far end).
  packet_mreq mr = {};
  mr.mr_ifindex = static_cast<int>(idx);
  mr.mr_type = PACKET_MR_PROMISC;
  if (fd < 0 || setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) != 0 ||
      setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) != 0 ||
      setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) != 0 ||
      bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::fprintf(stderr, "delay_proxy: packet socket on '%s': %s\n", ifname.c_str(),
                 std::strerror(errno));
    return -1;
  }
  // A burst arriving while we are descheduled must not overflow the socket (that would be loss
  // the link settings did not ask for). SO_RCVBUFFORCE needs root, which we are.
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big);
  return fd;
}

struct Frame {
  int64_t due_ns;
  std::vector<uint8_t> bytes;  // virtio_net_hdr + Ethernet frame
};

struct Direction {
  const char* name;
  int in, out;
  std::deque<Frame> queue;
  uint64_t frames = 0, bytes = 0, send_errors = 0;
};

void Usage() {
  std::fprintf(stderr, "usage: delay_proxy --a IF --b IF --delay-ms MS\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::string if_a, if_b;
  int delay_ms = -1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--a") if_a = argv[i + 1];
    else if (k == "--b") if_b = argv[i + 1];
    else if (k == "--delay-ms") delay_ms = std::atoi(argv[i + 1]);
  }
  if (if_a.empty() || if_b.empty() || delay_ms < 0 || argc != 7) {
    Usage();
    return 2;
  }
  const int a = OpenPort(if_a), b = OpenPort(if_b);
  if (a < 0 || b < 0) return 1;
  struct sigaction sa = {};
  sa.sa_handler = [](int) { g_stop = 1; };
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  const int64_t delay_ns = int64_t{delay_ms} * 1'000'000;
  Direction dirs[2] = {{"a->b", a, b, {}}, {"b->a", b, a, {}}};
  std::vector<uint8_t> buf(kVnetHdrLen + 65536 + 64);
  std::printf("delay_proxy: %s <-> %s, %d ms each way\n", if_a.c_str(), if_b.c_str(), delay_ms);
  std::fflush(stdout);
  while (!g_stop) {
    // Sleep until a frame arrives or the oldest queued one is due (ppoll: sub-ms precision).
    int64_t now = NowNs(), wait_ns = -1;
    for (auto& d : dirs) {
      if (d.queue.empty()) continue;
      const int64_t w = std::max<int64_t>(0, d.queue.front().due_ns - now);
      wait_ns = wait_ns < 0 ? w : std::min(wait_ns, w);
    }
    pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    timespec ts = {wait_ns / 1'000'000'000, wait_ns % 1'000'000'000};
    if (ppoll(fds, 2, wait_ns < 0 ? nullptr : &ts, nullptr) < 0 && errno != EINTR) {
      std::perror("delay_proxy: ppoll");
      return 1;
    }
    now = NowNs();
    for (int i = 0; i < 2; ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      while (true) {  // drain: each frame is stamped with its arrival time
        ssize_t n = recv(dirs[i].in, buf.data(), buf.size(), MSG_DONTWAIT);
        if (n <= 0) break;
        dirs[i].queue.push_back({now + delay_ns, {buf.begin(), buf.begin() + n}});
      }
    }
    for (auto& d : dirs) {
      while (!d.queue.empty() && d.queue.front().due_ns <= now) {
        const auto& f = d.queue.front().bytes;
        if (send(d.out, f.data(), f.size(), 0) < 0) {
          ++d.send_errors;  // e.g. the far interface is down (a flap): the frame is lost
        } else {
          ++d.frames;
          d.bytes += f.size() - kVnetHdrLen;
        }
        d.queue.pop_front();
      }
    }
  }
  for (const auto& d : dirs) {
    std::printf("delay_proxy: %s %llu frames, %llu bytes, %llu send errors\n", d.name,
                static_cast<unsigned long long>(d.frames), static_cast<unsigned long long>(d.bytes),
                static_cast<unsigned long long>(d.send_errors));
  }
  return 0;
}
