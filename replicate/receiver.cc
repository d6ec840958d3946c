#include "replicate/receiver.h"

#include <fcntl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <set>

#include "replicate/curve.h"
#include "replicate/replica_writer.h"

namespace tcd::replicate {
namespace {

constexpr int64_t kFetchTimeoutUs = 20'000'000;
constexpr int64_t kRelistUs = 2'000'000;
constexpr int64_t kUnavailableRetryUs = 3'000'000;
constexpr size_t kBlobsInProgress = 8;
constexpr int64_t kPeerSilenceUs = 90'000'000;

Status ErrnoStatus(const std::string& what) {
  const int e = errno;
  std::string m = what + ": " + std::strerror(e);
  return e == ENOSPC ? Status::NoSpace(m) : Status::IOError(m);
}

// DATA/inbox/<hex>.part: a blob being received. Opened per operation so that a thousand
// peers do not hold thousands of descriptors.
Status AppendPart(const std::string& path, ByteView data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("open " + path);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status s = ErrnoStatus("write " + path);
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  return ::close(fd) == 0 ? Status::OK() : ErrnoStatus("close " + path);
}

Status SyncPart(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open " + path);
  Status s = ::fdatasync(fd) == 0 ? Status::OK() : ErrnoStatus("fdatasync " + path);
  ::close(fd);
  return s;
}

struct Outstanding {
  crypto::Hash256 blob{};
  uint64_t offset = 0;
  int64_t sent_us = 0;
};

struct Part {
  node::WantedBlob w;
  uint64_t size = 0;        // bytes in the part file
  uint64_t requested = 0;   // next offset to request
  bool dirty = false;       // written since the last fdatasync
};

struct Peer {
  std::string rid;  // ZeroMQ routing id of the current connection
  EnrolledNode node;
  PeerStats stats;
  std::deque<Outstanding> out;
  std::deque<node::WantedBlob> queue;  // wanted blobs in (session, seq) order
  std::set<crypto::Hash256> queued;
  std::optional<node::WantedBlob> cursor;
  int64_t relist_at_us = 0;
  std::map<crypto::Hash256, Part> parts;
  std::map<crypto::Hash256, int64_t> retry_after;
  uint32_t window = 4;
  int64_t last_seen_us = 0;  // monotonic time of its last message
  double rate_bps = 0;       // chunk payload bytes/s over the last ~2 s
  int64_t rtt_min_us = 0;
  int64_t rtt_reset_us = 0;
  std::deque<std::pair<int64_t, uint64_t>> samples;  // (time, bytes_received)
};

}  // namespace

class Receiver::Loop {
 public:
  Loop(Receiver* r, node::Store* store, const crypto::NodeIdentity* id, AllowList* allow,
       ReceiverOptions options)
      : r_(r), store_(store), env_(store->env()), identity_(id), allow_(allow),
        options_(std::move(options)), writer_(store, options_.role),
        inbox_dir_(store->dir() + "/inbox") {}

  Status Bind();
  void Run();

 private:
  void OnFrame(const std::string& rid, zmq::message_t& frame);
  void Handle(Peer& p, Message& m);
  void OnChunk(Peer& p, Chunk& c);
  void Complete(Peer& p, Part& part);
  void TopUp(Peer& p);
  void Refill(Peer& p);
  void FlushParts();
  void Tick();
  void SendTo(const std::string& rid, const Message& m);
  void SendAck(Peer& p, const crypto::SessionId& session);
  void Drop(const std::string& rid);
  void DropGone() {
    for (const auto& rid : gone_) {
      Drop(rid);
      if (dead_.insert(rid).second) dead_order_.push_back(rid);
    }
    gone_.clear();
    while (dead_order_.size() > 4096) {
      dead_.erase(dead_order_.front());
      dead_order_.pop_front();
    }
  }
  void Refuse(Peer* p, const std::string& why);
  std::string PartPath(const crypto::Hash256& h) const {
    return inbox_dir_ + "/" + ToHex(h) + ".part";
  }

  Receiver* const r_;
  node::Store* const store_;
  Env* const env_;
  const crypto::NodeIdentity* const identity_;
  AllowList* const allow_;
  const ReceiverOptions options_;
  ReplicaWriter writer_;
  const std::string inbox_dir_;
  zmq::context_t ctx_;
  std::unique_ptr<ZapHandler> zap_;
  std::unique_ptr<zmq::socket_t> router_;
  std::map<std::string, Peer> peers_;  // by routing id
  std::set<std::string> gone_;         // peers to Drop() once no reference to them is live
  std::vector<std::string> silent_;    // peers to Drop() (not dead) after Tick's loop
  std::set<std::string> dead_;         // connections known to be gone: what they still had
                                       // queued (a burst sent before it died) is ignored
  std::deque<std::string> dead_order_; // bounds dead_
  int64_t next_tick_us_ = 0;
  friend class Receiver;
};

Result<std::unique_ptr<Receiver>> Receiver::Start(node::Store* store,
                                                  const crypto::NodeIdentity* identity,
                                                  AllowList* allow, ReceiverOptions options) {
  std::unique_ptr<Receiver> r(new Receiver());
  r->loop_ = std::make_unique<Loop>(r.get(), store, identity, allow, std::move(options));
  TCD_RETURN_IF_ERROR(r->loop_->Bind());
  r->thread_ = std::thread([p = r.get()] { p->loop_->Run(); });
  return r;
}

Receiver::~Receiver() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::vector<PeerStats> Receiver::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

Status Receiver::Loop::Bind() {
  TCD_RETURN_IF_ERROR(env_->CreateDirs(inbox_dir_));
  TCD_ASSIGN_OR_RETURN(zap_, ZapHandler::Start(&ctx_, allow_));
  try {
    router_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::router);
    TCD_RETURN_IF_ERROR(SetCommonOptions(*router_));
    router_->set(zmq::sockopt::router_mandatory, 1);
    TCD_RETURN_IF_ERROR(SetCurveServer(*router_, *identity_));
    router_->bind(options_.listen);
    r_->endpoint_ = router_->get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    return FromZmq(e, "listen on " + options_.listen);
  }
  spdlog::info("replication: {} listening on {}", RoleName(options_.role), r_->endpoint_);
  return Status::OK();
}

void Receiver::Loop::SendTo(const std::string& rid, const Message& m) {
  Bytes b = Encode(m);
  try {
    router_->send(zmq::buffer(rid), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    router_->send(zmq::buffer(b.data(), b.size()), zmq::send_flags::dontwait);
  } catch (const zmq::error_t& e) {
    // The peer went away (it will HELLO again). It is forgotten after the current message:
    // callers up the stack may still hold a reference to it.
    if (e.num() == EHOSTUNREACH) gone_.insert(rid);
  }
}

void Receiver::Loop::Drop(const std::string& rid) {
  auto it = peers_.find(rid);
  if (it == peers_.end()) return;
  // Keep the bytes already received: the part files are resumed on the next connection.
  for (auto& [h, part] : it->second.parts)
    if (part.dirty) (void)SyncPart(PartPath(h));
  peers_.erase(it);
}

void Receiver::Loop::Refuse(Peer* p, const std::string& why) {
  r_->refused_ += 1;
  if (!p) return;
  p->stats.rejected += 1;
  p->stats.last_error = why;
}

void Receiver::Loop::SendAck(Peer& p, const crypto::SessionId& session) {
  auto ack = writer_.AckFor(session);
  if (ack.ok()) SendTo(p.rid, *ack);
}

void Receiver::Loop::OnFrame(const std::string& rid, zmq::message_t& frame) {
  if (dead_.count(rid)) return;  // left over from a connection that is gone
  const char* uid = frame.gets("User-Id");
  auto key = PeerKeyFromUserId(uid ? uid : "");
  std::optional<EnrolledNode> node;
  if (key.ok()) node = allow_->Find(*key);
  auto pit = peers_.find(rid);
  if (!node) {
    const std::string why = key.ok() ? allow_->WhyRefused(*key) : "no CURVE identity";
    // Logged once per connection (it is dropped now); ZAP refuses its reconnections.
    if (pit != peers_.end()) spdlog::warn("replication: refused a message: {}", why);
    else spdlog::debug("replication: refused a message: {}", why);
    Refuse(pit == peers_.end() ? nullptr : &pit->second, why);
    SendTo(rid, replicate::Error{ErrorCode::kNotEnrolled, why});
    Drop(rid);
    return;
  }
  auto decoded = Decode(ByteView(static_cast<const uint8_t*>(frame.data()), frame.size()));
  if (!decoded.ok()) {
    const std::string& why = decoded.status().message();
    spdlog::warn("replication: malformed message from {}: {}", node->point, why);
    Refuse(pit == peers_.end() ? nullptr : &pit->second, why);
    const bool version = why.rfind("unsupported protocol version", 0) == 0;
    SendTo(rid, replicate::Error{version ? ErrorCode::kVersion : ErrorCode::kBadMessage, why});
    return;
  }
  if (auto* h = std::get_if<Hello>(&*decoded)) {
    for (auto it = peers_.begin(); it != peers_.end();)  // an older connection of this node
      it = it->second.node.pub.transport_pk == node->pub.transport_pk && it->first != rid
               ? (Drop(it->first), peers_.begin())
               : std::next(it);
    Peer& p = peers_[rid];
    p.rid = rid;
    p.last_seen_us = env_->MonotonicMicros();
    p.node = *node;
    p.window = options_.min_window;
    p.stats.point = node->point;
    p.stats.key_id = crypto::KeyId(node->pub.sign_pk);
    p.stats.connected = true;
    spdlog::info("replication: {} {} connected (key {})", RoleName(h->role), node->point,
                 p.stats.key_id);
    SendTo(rid, Welcome{options_.role, options_.chunk_bytes, p.window});
    TopUp(p);
    return;
  }
  if (pit == peers_.end()) {
    SendTo(rid, replicate::Error{ErrorCode::kNotWelcome, "send HELLO first"});
    return;
  }
  pit->second.last_seen_us = env_->MonotonicMicros();
  Handle(pit->second, *decoded);
}

void Receiver::Loop::Handle(Peer& p, Message& m) {
  if (auto* e = std::get_if<Entries>(&m)) {
    auto ack = writer_.Accept(p.node, *e);
    if (!ack.ok()) {
      spdlog::error("replication: cannot store entries from {}: {}", p.node.point,
                    ack.status().ToString());
      p.stats.last_error = ack.status().message();
      SendTo(p.rid, replicate::Error{ErrorCode::kInternal, ack.status().message()});
      return;
    }
    if (ack->result == AckResult::kRejected) Refuse(&p, ack->detail);
    else p.stats.entries_received += e->entries.size();
    SendTo(p.rid, *ack);
    p.relist_at_us = 0;  // new blobs may be wanted
    TopUp(p);
  } else if (auto* q = std::get_if<Query>(&m)) {
    SendAck(p, q->session);
  } else if (auto* c = std::get_if<Chunk>(&m)) {
    OnChunk(p, *c);
    TopUp(p);
  } else if (auto* u = std::get_if<Unavailable>(&m)) {
    std::erase_if(p.out, [&](const Outstanding& o) { return o.blob == u->blob; });
    if (auto it = p.parts.find(u->blob); it != p.parts.end()) it->second.requested = it->second.size;
    p.retry_after[u->blob] = env_->MonotonicMicros() + kUnavailableRetryUs;
    TopUp(p);
  } else if (auto* e2 = std::get_if<replicate::Error>(&m)) {
    spdlog::warn("replication: {} reports: {}", p.node.point, e2->message);
  } else {
    const std::string why = std::string("unexpected ") + MsgTypeName(TypeOf(m)) + " message";
    Refuse(&p, why);
    SendTo(p.rid, replicate::Error{ErrorCode::kBadMessage, why});
  }
}

void Receiver::Loop::OnChunk(Peer& p, Chunk& c) {
  const int64_t now = env_->MonotonicMicros();
  auto o = std::find_if(p.out.begin(), p.out.end(), [&](const Outstanding& x) {
    return x.blob == c.blob && x.offset == c.offset;
  });
  if (o == p.out.end()) return;  // stale (from before a reset): ignore
  const int64_t rtt = now - o->sent_us;
  if (p.rtt_min_us == 0 || rtt < p.rtt_min_us) p.rtt_min_us = rtt;
  p.out.erase(o);
  auto it = p.parts.find(c.blob);
  if (it == p.parts.end()) return;
  Part& part = it->second;
  if (c.total != part.w.size) {
    Refuse(&p, "chunk of blob " + ToHex(c.blob).substr(0, 16) + " says the blob has " +
                   std::to_string(c.total) + " bytes, the signed entry " +
                   std::to_string(part.w.size));
    part.requested = part.size;
    p.retry_after[c.blob] = now + kUnavailableRetryUs;
    return;
  }
  if (c.offset != part.size) {  // a hole (a lost chunk) or a duplicate
    if (c.offset > part.size) {
      std::erase_if(p.out, [&](const Outstanding& x) { return x.blob == c.blob; });
      part.requested = part.size;
    }
    return;
  }
  Status s = AppendPart(PartPath(c.blob), c.data);
  if (!s.ok()) {
    // A partial write (disk full) must not shift the next chunk: cut back to what is counted.
    if (::truncate(PartPath(c.blob).c_str(), static_cast<off_t>(part.size)) != 0) part.size = 0;
    spdlog::error("replication: {}", s.ToString());
    p.stats.last_error = s.message();
    part.requested = part.size;
    return;
  }
  part.size += c.data.size();
  part.dirty = true;
  p.stats.bytes_received += c.data.size();
  if (part.size == part.w.size) Complete(p, part);
}

// The part file holds the whole blob: make it durable, check it against the signed entry,
// move it into the blob store and acknowledge.
void Receiver::Loop::Complete(Peer& p, Part& part) {
  const node::WantedBlob w = part.w;
  const std::string path = PartPath(w.hash);
  Status s = part.size == 0 ? Status::OK() : SyncPart(path);
  Result<Bytes> bytes = part.size == 0 ? Result<Bytes>(Bytes{}) : env_->ReadFile(path);
  if (s.ok()) s = bytes.status();
  if (s.ok()) s = writer_.StoreBlob(w, *bytes);
  if (!s.ok()) {
    spdlog::error("replication: blob from {} refused: {}", p.node.point, s.ToString());
    p.stats.last_error = s.message();
    if (s.IsCorruption()) {
      (void)env_->RemoveFile(path);
      Refuse(&p, s.message());
    }
    p.retry_after[w.hash] = env_->MonotonicMicros() + kUnavailableRetryUs;
    p.parts.erase(w.hash);
    return;
  }
  (void)env_->RemoveFile(path);
  p.parts.erase(w.hash);
  p.queued.erase(w.hash);
  std::erase_if(p.queue, [&](const node::WantedBlob& q) { return q.hash == w.hash; });
  p.stats.blobs_received += 1;
  SendAck(p, w.session);
}

void Receiver::Loop::Refill(Peer& p) {
  const int64_t now = env_->MonotonicMicros();
  auto list = store_->catalog()->ListWanted(p.node.pub.transport_pk, 32, p.cursor);
  if (list.ok() && list->empty() && p.cursor && now >= p.relist_at_us) {
    p.cursor.reset();  // wrapped: start over (retries, sessions older than the cursor)
    p.relist_at_us = now + kRelistUs;
    list = store_->catalog()->ListWanted(p.node.pub.transport_pk, 32, p.cursor);
  }
  if (!list.ok()) {
    p.stats.last_error = list.status().message();
    return;
  }
  for (const auto& w : *list) {
    p.cursor = w;
    if (p.queued.insert(w.hash).second) p.queue.push_back(w);
  }
}

// Requests chunks until the peer's window of outstanding FETCHes is full.
void Receiver::Loop::TopUp(Peer& p) {
  const int64_t now = env_->MonotonicMicros();
  if (p.queue.size() < kBlobsInProgress) Refill(p);
  size_t i = 0;
  while (p.out.size() < p.window && i < p.queue.size() && i < kBlobsInProgress &&
         !gone_.count(p.rid)) {
    const node::WantedBlob w = p.queue[i];
    auto ra = p.retry_after.find(w.hash);
    if (ra != p.retry_after.end() && now < ra->second) {
      p.queued.erase(w.hash);
      p.queue.erase(p.queue.begin() + i);
      continue;
    }
    // Arrived before (a replay, or a crash after the blob was stored but before the inbox
    // record was removed): make sure it is durable, then clear the inbox.
    if (store_->blobs()->Exists(w.hash) && store_->blobs()->MakeDurable(w.hash).ok()) {
      (void)store_->catalog()->BlobArrived(w);
      p.queued.erase(w.hash);
      p.queue.erase(p.queue.begin() + i);
      SendAck(p, w.session);
      continue;
    }
    auto [it, fresh] = p.parts.try_emplace(w.hash);
    Part& part = it->second;
    if (fresh) {
      part.w = w;
      auto size = env_->FileSize(PartPath(w.hash));
      part.size = size.ok() ? *size : 0;  // resume at what is already stored
      if (part.size > w.size) {
        (void)env_->RemoveFile(PartPath(w.hash));
        part.size = 0;
      }
      part.requested = part.size;
      if (part.size == w.size) {
        Complete(p, part);
        continue;
      }
    }
    if (part.requested >= w.size) {
      ++i;
      continue;
    }
    const uint32_t len =
        static_cast<uint32_t>(std::min<uint64_t>(options_.chunk_bytes, w.size - part.requested));
    SendTo(p.rid, Fetch{w.hash, part.requested, len});
    p.out.push_back({w.hash, part.requested, now});
    part.requested += len;
  }
}

void Receiver::Loop::FlushParts() {
  for (auto& [rid, p] : peers_)
    for (auto& [h, part] : p.parts)
      if (part.dirty) {
        Status s = SyncPart(PartPath(h));
        if (!s.ok()) p.stats.last_error = s.message();
        part.dirty = false;
      }
}

// Once a second: fetch timeouts, window sizing, statistics.
void Receiver::Loop::Tick() {
  const int64_t now = env_->MonotonicMicros();
  if (now < next_tick_us_) return;
  next_tick_us_ = now + 1'000'000;
  std::vector<PeerStats> all;
  for (auto& [rid, p] : peers_) {
    if (now - p.last_seen_us > kPeerSilenceUs) {  // senders keep links alive every 30 s
      // Forgotten, not dead: if the connection is alive after all, its next message is
      // answered "not-welcome" and the sender introduces itself again.
      spdlog::info("replication: {} silent for {} s: forgotten until it says HELLO again",
                   p.node.point, kPeerSilenceUs / 1'000'000);
      silent_.push_back(rid);
      continue;
    }
    std::erase_if(p.retry_after, [&](const auto& kv) { return kv.second < now; });
    // A FETCH waits in the sender's bandwidth queue behind the whole window: time out only
    // well after the window could have drained at the measured rate.
    const double drain_us = p.rate_bps > 0
                                ? p.window * double(options_.chunk_bytes) * 1e6 / p.rate_bps
                                : 0;
    if (!p.out.empty() &&
        now - p.out.front().sent_us > std::max<double>(kFetchTimeoutUs, 3 * drain_us)) {
      p.out.clear();  // lost on the way: ask again from what is stored
      for (auto& [h, part] : p.parts) part.requested = part.size;
    }
    p.samples.emplace_back(now, p.stats.bytes_received);
    while (p.samples.size() > 3) p.samples.pop_front();
    const auto& [t0, b0] = p.samples.front();
    const double rate = now > t0 ? (p.stats.bytes_received - b0) * 1e6 / (now - t0) : 0;
    p.stats.rate_bits_per_second = rate * 8;
    p.rate_bps = rate;
    // Credit: enough chunks in flight to cover the bandwidth-delay product twice over.
    const double bdp = rate * (p.rtt_min_us / 1e6);
    // rtt_min includes time queued at a capped sender, so also bound the window by what the
    // link drains in 5 s: a larger one would only wait in the sender's queue.
    const uint32_t by_time = static_cast<uint32_t>(rate * 5 / options_.chunk_bytes);
    p.window = std::clamp<uint32_t>(
        std::min(static_cast<uint32_t>(2 * bdp / options_.chunk_bytes) + 2,
                 std::max(by_time, options_.min_window)),
        options_.min_window, options_.max_window);
    if (now > p.rtt_reset_us) {
      p.rtt_min_us = 0;
      p.rtt_reset_us = now + 10'000'000;
    }
    p.stats.window = p.window;
    TopUp(p);
    all.push_back(p.stats);
  }
  for (const auto& rid : silent_) Drop(rid);
  silent_.clear();
  std::lock_guard<std::mutex> lock(r_->mu_);
  r_->stats_ = std::move(all);
}

void Receiver::Loop::Run() {
  while (!r_->stop_) {
    zmq::pollitem_t item{router_->handle(), 0, ZMQ_POLLIN, 0};
    try {
      zmq::poll(&item, 1, std::chrono::milliseconds(100));
      for (int i = 0; i < 512; ++i) {
        zmq::message_t rid, frame;
        if (!router_->recv(rid, zmq::recv_flags::dontwait)) break;
        if (!rid.more()) continue;
        if (!router_->recv(frame, zmq::recv_flags::dontwait)) break;
        if (frame.more()) {  // we never send multi-frame messages: discard them whole
          zmq::message_t extra;
          while (router_->recv(extra, zmq::recv_flags::dontwait) && extra.more()) {
          }
          auto p = peers_.find(rid.to_string());
          Refuse(p == peers_.end() ? nullptr : &p->second, "multi-part message");
          continue;
        }
        OnFrame(rid.to_string(), frame);
        DropGone();
      }
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) break;
      spdlog::error("replication: {}", FromZmq(e, "receive").ToString());
      env_->SleepMicros(100'000);
    }
    FlushParts();
    Tick();
    DropGone();
  }
  FlushParts();
  router_.reset();
  zap_.reset();
}

}  // namespace tcd::replicate
