#include "replicate/sender.h"

#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include <deque>
#include <map>

#include "crypto/note.h"
#include "node/node_log.h"
#include "replicate/curve.h"

namespace tcd::replicate {
namespace {

constexpr size_t kMaxQueuedFetches = 1024;
constexpr size_t kMaxBatchBytes = 512 * 1024;
constexpr int64_t kEntriesAckTimeoutUs = 30'000'000;
constexpr int64_t kRejectBackoffUs = 60'000'000;
constexpr size_t kOutboxScanLimit = 2000;
constexpr int64_t kCentralPollUs = 3'000'000;

std::atomic<uint64_t> g_monitor_seq{0};

}  // namespace

// Everything the sender thread owns. One connection's state; reset on disconnect.
class Sender::Loop {
 public:
  explicit Loop(Sender* s) : s_(s), env_(s->store_->env()), bucket_(env_) {}

  void Run();

 private:
  Status Connect();
  void OnMonitorEvent();
  void OnMessage(const zmq::message_t& frame);
  void OnAck(const SessionAck& ack);
  void PumpEntries();
  void PumpLog();
  Result<std::optional<Log>> NextLog(const node::LogId& log, const crypto::PublicKey& signer);
  void OnCosigned(const Cosigned& c);
  bool ServeFetches();  // false when the bucket made us wait
  Status SendEntries(const crypto::SessionId& id, const node::SessionRecord& rec, uint64_t from);
  Result<std::shared_ptr<const Bytes>> BlobBytes(const crypto::Hash256& h);
  void Send(const Message& m);
  void Error(const std::string& message);  // logs and records the last error
  void ResetConnectionState();
  void UpdateRate();

  Sender* const s_;
  Env* const env_;
  zmq::context_t ctx_;
  std::unique_ptr<zmq::socket_t> dealer_;
  std::unique_ptr<zmq::socket_t> monitor_;
  TokenBucket bucket_;
  bool connected_ = false;
  bool welcomed_ = false;
  int64_t hello_sent_us_ = 0;  // monotonic; HELLO is repeated if no WELCOME came
  int64_t last_send_us_ = 0;   // monotonic; an idle link gets a keepalive QUERY every 30 s
  struct InFlight {
    uint64_t end = 0;     // the batch's first_seq + entries
    int64_t sent_us = 0;  // monotonic
  };
  std::map<crypto::SessionId, InFlight> entries_in_flight_;
  std::map<crypto::SessionId, int64_t> backoff_until_;      // refused sessions
  std::map<crypto::SessionId, int64_t> next_query_;
  std::deque<Fetch> fetches_;
  // The last two blobs read (shared: a FETCH copies only its chunk out of it).
  std::deque<std::pair<crypto::Hash256, std::shared_ptr<const Bytes>>> blob_cache_;
  int64_t next_scan_us_ = 0;
  int64_t last_scan_us_ = 0;
  std::optional<crypto::SessionId> scan_cursor_;
  std::deque<std::pair<int64_t, uint64_t>> rate_samples_;  // (time, bytes_sent) once a second
  // Node logs: the size of the upstream's copy of each (by LogId prefix) as last learned (from
  // the catalog at first).
  std::map<std::string, uint64_t> log_upstream_;
  size_t log_turn_ = 0;  // which log PumpLog looks at first
  int64_t central_poll_us_ = 0;  // monotonic: next ask for the central tier's cosignature
  bool log_in_flight_ = false;
  int64_t log_sent_us_ = 0;  // monotonic
  int64_t log_next_us_ = 0;  // monotonic: no LOG before
};

Result<std::unique_ptr<Sender>> Sender::Start(node::Store* store,
                                              const crypto::NodeIdentity* identity,
                                              SenderOptions options) {
  std::unique_ptr<Sender> s(new Sender());
  s->store_ = store;
  s->identity_ = identity;
  s->bandwidth_ = options.bandwidth;
  s->options_ = std::move(options);
  s->stats_.address = s->options_.address;
  s->thread_ = std::thread([p = s.get()] { p->Run(); });
  return s;
}

Sender::~Sender() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

SenderStats Sender::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void Sender::SetBandwidth(const BandwidthPolicy& policy) {
  std::lock_guard<std::mutex> lock(mu_);
  bandwidth_ = policy;
}

void Sender::Run() {
  Loop loop(this);
  loop.Run();
}

void Sender::Loop::Error(const std::string& message) {
  spdlog::warn("replication to {}: {}", s_->options_.address, message);
  std::lock_guard<std::mutex> lock(s_->mu_);
  s_->stats_.last_error = message;
  s_->stats_.last_error_us = env_->NowMicros();
}

Status Sender::Loop::Connect() {
  try {
    dealer_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::dealer);
    TCD_RETURN_IF_ERROR(SetCommonOptions(*dealer_, s_->options_.reconnect_max_ms));
    dealer_->set(zmq::sockopt::immediate, 1);
    TCD_RETURN_IF_ERROR(
        SetCurveClient(*dealer_, *s_->identity_, s_->options_.upstream_pk));
    const std::string mon = "inproc://tcd-sender-monitor-" + std::to_string(++g_monitor_seq);
    if (zmq_socket_monitor(dealer_->handle(), mon.c_str(),
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_CONNECT_RETRIED) != 0)
      return Status::IOError(std::string("zmq_socket_monitor: ") + zmq_strerror(zmq_errno()));
    monitor_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::pair);
    monitor_->connect(mon);
    dealer_->connect(s_->options_.address);
  } catch (const zmq::error_t& e) {
    return FromZmq(e, "connect to " + s_->options_.address);
  }
  return Status::OK();
}

void Sender::Loop::ResetConnectionState() {
  welcomed_ = false;
  log_in_flight_ = false;
  entries_in_flight_.clear();
  fetches_.clear();
}

void Sender::Loop::OnMonitorEvent() {
  zmq::message_t head, addr;
  if (!monitor_->recv(head, zmq::recv_flags::dontwait)) return;
  if (head.more()) (void)monitor_->recv(addr, zmq::recv_flags::dontwait);
  if (head.size() < 6) return;
  uint16_t event;
  uint32_t value;
  std::memcpy(&event, head.data(), 2);
  std::memcpy(&value, static_cast<const uint8_t*>(head.data()) + 2, 4);
  switch (event) {
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: {
      connected_ = true;
      ResetConnectionState();
      Send(Hello{s_->options_.role, s_->options_.point, "tcd/0.4"});
      hello_sent_us_ = env_->MonotonicMicros();
      std::lock_guard<std::mutex> lock(s_->mu_);
      s_->stats_.connected = true;
      if (s_->stats_.last_error.rfind("cannot connect", 0) == 0) s_->stats_.last_error.clear();
      break;
    }
    case ZMQ_EVENT_DISCONNECTED: {
      if (connected_) spdlog::info("replication to {}: disconnected", s_->options_.address);
      connected_ = false;
      ResetConnectionState();
      std::lock_guard<std::mutex> lock(s_->mu_);
      s_->stats_.connected = false;
      s_->stats_.reconnects += 1;
      break;
    }
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
      Error("the upstream refused this node's key (is it enrolled there? `tcd enroll`)");
      break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
      Error("CurveZMQ handshake failed (wrong upstream public key in the config?)");
      break;
    case ZMQ_EVENT_CONNECT_RETRIED: {
      std::lock_guard<std::mutex> lock(s_->mu_);
      if (s_->stats_.last_error.empty() || s_->stats_.last_error.rfind("cannot connect", 0) == 0) {
        s_->stats_.last_error = "cannot connect (upstream unreachable), retrying";
        s_->stats_.last_error_us = env_->NowMicros();
      }
      break;
    }
    default: break;
  }
}

void Sender::Loop::Send(const Message& m) {
  Bytes b = Encode(m);
  last_send_us_ = env_->MonotonicMicros();
  try {
    auto r = dealer_->send(zmq::buffer(b.data(), b.size()), zmq::send_flags::dontwait);
    if (!r) return;  // not connected or high-water mark: the ack protocol recovers
  } catch (const zmq::error_t& e) {
    Error(FromZmq(e, "send").message());
    return;
  }
  std::lock_guard<std::mutex> lock(s_->mu_);
  s_->stats_.bytes_sent += b.size();
  if (auto* c = std::get_if<Chunk>(&m)) s_->stats_.chunk_bytes_sent += c->data.size();
  if (auto* e = std::get_if<Entries>(&m)) s_->stats_.entries_sent += e->entries.size();
}

void Sender::Loop::OnMessage(const zmq::message_t& frame) {
  auto decoded = Decode(ByteView(static_cast<const uint8_t*>(frame.data()), frame.size()));
  if (!decoded.ok()) {
    Error("malformed message from the upstream: " + decoded.status().message());
    return;
  }
  Message& m = *decoded;
  if (auto* w = std::get_if<Welcome>(&m)) {
    welcomed_ = true;
    next_scan_us_ = 0;
    spdlog::info("replication to {}: connected ({} accepts chunks of {} bytes)",
                 s_->options_.address, RoleName(w->role), w->max_chunk);
  } else if (auto* a = std::get_if<SessionAck>(&m)) {
    OnAck(*a);
  } else if (auto* c = std::get_if<Cosigned>(&m)) {
    OnCosigned(*c);
  } else if (auto* f = std::get_if<Fetch>(&m)) {
    if (fetches_.size() < kMaxQueuedFetches) fetches_.push_back(*f);
  } else if (auto* e = std::get_if<replicate::Error>(&m)) {
    Error(std::string("the upstream refused: ") + e->message);
    if (e->code == ErrorCode::kNotWelcome) {  // it forgot this connection: introduce again
      ResetConnectionState();
      Send(Hello{s_->options_.role, s_->options_.point, "tcd/0.4"});
      hello_sent_us_ = env_->MonotonicMicros();
    }
  } else {
    Error(std::string("unexpected ") + MsgTypeName(TypeOf(m)) + " from the upstream");
  }
}


void Sender::Loop::OnAck(const SessionAck& ack) {
  if (ack.session == crypto::SessionId{}) return;  // the answer to a keepalive
  // An ack sent before our batch arrived (after a blob, or to a QUERY) does not answer it.
  if (auto f = entries_in_flight_.find(ack.session); f != entries_in_flight_.end() &&
      (ack.result != AckResult::kOk || ack.stored >= f->second.end))
    entries_in_flight_.erase(f);
  const std::string id = crypto::SessionIdToString(ack.session);
  if (ack.result == AckResult::kRejected) {
    Error("session " + id + " refused by the upstream: " + ack.detail);
    backoff_until_[ack.session] = env_->MonotonicMicros() + kRejectBackoffUs;
  }
  const int64_t now = env_->NowMicros();
  Status st = s_->store_->catalog()->UpdateRepl(
      ack.session,
      [&](node::ReplRecord* r) {
        if (ack.result == AckResult::kUnknown) {
          r->up_stored = r->up_held = 0;
          return;
        }
        if (ack.result != AckResult::kOk && ack.result != AckResult::kRejected) return;
        r->up_stored = ack.stored;
        r->up_held = ack.held;
        if (ack.central_held > r->central_held) {
          r->central_held = ack.central_held;
          r->central_held_us = now;
        }
      },
      /*sync=*/false);
  if (!st.ok()) Error("cannot record the acknowledgment of " + id + ": " + st.message());
  s_->nudged_ = true;  // the session may need more entries now, or may be done
}

Status Sender::Loop::SendEntries(const crypto::SessionId& id, const node::SessionRecord& rec,
                                 uint64_t from) {
  Entries msg;
  msg.session = id;
  msg.first_seq = from;
  size_t bytes = 0;
  for (uint64_t seq = from; seq < rec.next_seq && msg.entries.size() < s_->options_.max_batch_entries &&
                            bytes < kMaxBatchBytes;
       ++seq) {
    TCD_ASSIGN_OR_RETURN(node::ChainRecord cr, s_->store_->catalog()->GetChainEntry(id, seq));
    bytes += cr.entry.size() + 64;
    msg.entries.push_back({std::move(cr.entry), cr.signature});
  }
  if (msg.entries.empty()) return Status::OK();
  Send(msg);
  entries_in_flight_[id] = {from + msg.entries.size(), env_->MonotonicMicros()};
  return Status::OK();
}

// Walks the outbox: sends entries the upstream lacks, asks for acks from further up, and
// retires sessions the central tier holds completely.
void Sender::Loop::PumpEntries() {
  const int64_t now = env_->MonotonicMicros();
  for (auto it = entries_in_flight_.begin(); it != entries_in_flight_.end();)
    it = now - it->second.sent_us > kEntriesAckTimeoutUs ? entries_in_flight_.erase(it)
                                                         : std::next(it);
  // Every 0.5 s, or sooner after an ack (but at most every 10 ms: acks come per blob).
  if (now < next_scan_us_ && !(s_->nudged_ && now >= last_scan_us_ + 10'000)) return;
  s_->nudged_ = false;
  last_scan_us_ = now;
  next_scan_us_ = now + 500'000;
  node::Catalog* cat = s_->store_->catalog();
  auto ids = cat->ListOutbox(kOutboxScanLimit, scan_cursor_);
  if (!ids.ok()) return Error("cannot read the outbox: " + ids.status().message());
  scan_cursor_ = ids->size() == kOutboxScanLimit ? std::optional(ids->back()) : std::nullopt;
  for (const auto& id : *ids) {
    auto rec = cat->GetSession(id);
    if (!rec.ok()) continue;
    auto repl_or = cat->GetRepl(id);
    node::ReplRecord repl = repl_or.ok() ? *repl_or : node::ReplRecord{};
    const bool closed = rec->state == node::SessionState::kSealed ||
                        rec->state == node::SessionState::kRecovered;
    if (closed && repl.central_held >= rec->next_seq) {
      Status st = cat->RemoveFromOutbox(id, rec->next_seq);
      if (!st.ok()) Error("cannot update the outbox: " + st.message());
      continue;
    }
    if (entries_in_flight_.count(id)) continue;
    if (auto b = backoff_until_.find(id); b != backoff_until_.end()) {
      if (now < b->second) continue;
      backoff_until_.erase(b);
    }
    if (repl.up_stored < rec->next_seq) {
      if (entries_in_flight_.size() >= s_->options_.sessions_in_flight) continue;
      Status st = SendEntries(id, *rec, repl.up_stored);
      if (!st.ok()) Error("cannot read session " + crypto::SessionIdToString(id) + ": " +
                          st.message());
      continue;
    }
    int64_t& due = next_query_[id];
    if (now >= due) {
      Send(Query{id});
      due = now + s_->options_.query_interval_us;
    }
  }
  if (next_query_.size() > 4 * kOutboxScanLimit) next_query_.clear();
}

// The next LOG of `log` (signed by `signer`; zero for this node's own log): the leaves the
// upstream's copy lacks whose chain entries the upstream already stores, up to 1024, with a
// checkpoint of that size — this node's own, signed now if need be, or for a downstream log the
// largest checkpoint it cosigned within them — and the consistency proof from the copy's size.
Result<std::optional<Log>> Sender::Loop::NextLog(const node::LogId& log,
                                                 const crypto::PublicKey& signer) {
  node::NodeLogs* logs = s_->store_->catalog()->logs();
  const bool own = signer == crypto::PublicKey{};
  auto known = log_upstream_.find(log.prefix);
  if (known == log_upstream_.end()) {
    TCD_ASSIGN_OR_RETURN(uint64_t u, logs->UpstreamSize(log));
    known = log_upstream_.emplace(log.prefix, u).first;
  }
  const uint64_t base = known->second;
  TCD_ASSIGN_OR_RETURN(uint64_t size, logs->Size(log));
  Log msg;
  msg.signer = signer;
  msg.old_size = base;
  std::map<crypto::SessionId, uint64_t> up_stored;
  for (uint64_t i = base; i < size && msg.leaves.size() < kMaxLeavesPerMessage; ++i) {
    TCD_ASSIGN_OR_RETURN(Bytes leaf, logs->Leaf(log, i));
    auto parsed = node::ParseLeaf(leaf);
    if (!parsed.ok()) return parsed.status().WithContext("leaf " + std::to_string(i));
    if (parsed->kind == node::kLeafEntry) {
      auto it = up_stored.find(parsed->session);
      if (it == up_stored.end()) {
        auto r = s_->store_->catalog()->GetRepl(parsed->session);
        it = up_stored.emplace(parsed->session, r.ok() ? r->up_stored : 0).first;
      }
      if (parsed->seq >= it->second) break;  // the upstream does not hold that entry yet
    }
    msg.leaves.push_back(std::move(leaf));
  }
  uint64_t end = base + msg.leaves.size();
  if (own && size == base && s_->options_.role == Role::kRecorder) {
    // Nothing new: ask again for the checkpoint the upstream cosigned, until it comes back
    // cosigned by the central tier as well (the custody retention waits for).
    TCD_ASSIGN_OR_RETURN(uint64_t central, logs->CentralCosignedSize());
    const int64_t now = env_->MonotonicMicros();
    if (base == 0 || central >= base || now < central_poll_us_) return std::optional<Log>();
    central_poll_us_ = now + kCentralPollUs;
    TCD_ASSIGN_OR_RETURN(auto kept, logs->CheckpointAt(log, base));
    if (!kept) return std::optional<Log>();
    msg.checkpoint = std::move(*kept);
    return std::optional<Log>(std::move(msg));
  }
  if (own) {
    if (end == base) return std::optional<Log>();
    TCD_ASSIGN_OR_RETURN(msg.checkpoint, node::SignOwnCheckpointAt(logs, s_->identity_->sign_sk,
                                                                   end));
  } else {
    TCD_ASSIGN_OR_RETURN(auto cp, logs->CheckpointAtOrBelow(log, end));
    if (!cp || cp->first <= base) return std::optional<Log>();
    end = cp->first;
    msg.leaves.resize(end - base);
    msg.checkpoint = std::move(cp->second);
  }
  TCD_ASSIGN_OR_RETURN(msg.proof, logs->ConsistencyProof(log, base, end));
  return std::optional<Log>(std::move(msg));
}

// One LOG at a time, over this node's own log and the downstream logs it cosigned (a province
// relays its recorders' logs to the central archive), in turn; every 2 s at most while nothing
// is answered.
void Sender::Loop::PumpLog() {
  const int64_t now = env_->MonotonicMicros();
  if (log_in_flight_ && now - log_sent_us_ < kEntriesAckTimeoutUs) return;
  if (now < log_next_us_) return;
  log_in_flight_ = false;
  log_next_us_ = now + 2'000'000;
  auto down = s_->store_->catalog()->logs()->Downstream();
  if (!down.ok()) return Error("node log: " + down.status().message());
  std::vector<crypto::PublicKey> signers{crypto::PublicKey{}};
  signers.insert(signers.end(), down->begin(), down->end());
  for (size_t k = 0; k < signers.size(); ++k) {
    const crypto::PublicKey& signer = signers[(log_turn_ + k) % signers.size()];
    const node::LogId log =
        signer == crypto::PublicKey{} ? node::LogId::Own() : node::LogId::Of(signer);
    auto msg = NextLog(log, signer);
    if (!msg.ok()) {
      Error("node log " + (signer == crypto::PublicKey{} ? std::string("of this node")
                                                         : node::LogOrigin(signer)) +
            ": " + msg.status().message());
      continue;
    }
    if (!*msg) continue;
    log_turn_ = (log_turn_ + k + 1) % signers.size();
    Send(**msg);
    log_in_flight_ = true;
    log_sent_us_ = now;
    return;
  }
}

void Sender::Loop::OnCosigned(const Cosigned& c) {
  log_in_flight_ = false;
  const int64_t now = env_->MonotonicMicros();
  node::NodeLogs* logs = s_->store_->catalog()->logs();
  const bool own = c.signer == crypto::PublicKey{};
  const node::LogId log = own ? node::LogId::Own() : node::LogId::Of(c.signer);
  const std::string which = own ? "this node's log" : "the log " + node::LogOrigin(c.signer);
  auto size = logs->Size(log);
  switch (c.result) {
    case LogResult::kCosigned: {
      // Kept only when it is the checkpoint kept here, cosigned by the upstream's key.
      const std::string up = node::LogOrigin(s_->options_.upstream_sign_pk);
      auto n = crypto::note::ParseNote(c.note);
      Status ok = n.ok() ? Status::OK() : n.status();
      if (ok.ok()) ok = node::CheckCheckpoint(logs, log, c.size, c.note);
      if (ok.ok())
        ok = crypto::note::VerifyCosignature(*n, up, s_->options_.upstream_sign_pk).status();
      if (!ok.ok()) {
        log_next_us_ = now + kRejectBackoffUs;
        return Error("the upstream's cosignature of " + which + " at size " +
                     std::to_string(c.size) + " does not check: " + ok.message());
      }
      // A cosignature by a third name on this node's own checkpoint is the central tier's, which
      // the province checked (with the central key of its configuration) before keeping it.
      bool further_up = false;
      const std::string self = node::LogOrigin(s_->identity_->pub.sign_pk);
      for (const auto& sig : n->sigs)
        further_up |= own && sig.sig.size() == 72 && sig.name != up && sig.name != self;
      if (Status s = logs->PutUpstreamCosigned(log, c.size, c.note, further_up); !s.ok())
        return Error("node log: " + s.message());
      log_upstream_[log.prefix] = c.size;
      log_next_us_ = 0;  // more to send, perhaps
      return;
    }
    case LogResult::kResync:
      if (size.ok() && c.size > *size) {
        log_next_us_ = now + kRejectBackoffUs;
        return Error("the upstream holds " + std::to_string(c.size) + " leaves of " + which +
                     ", which has " + std::to_string(*size) +
                     ": was this catalog restored from an older backup?");
      }
      log_upstream_[log.prefix] = c.size;
      log_next_us_ = 0;
      return;
    case LogResult::kLater:
      log_next_us_ = now + 2'000'000;
      return;
    case LogResult::kRejected:
      log_next_us_ = now + kRejectBackoffUs;
      return Error("the upstream refused the checkpoint of " + which + ": " + c.detail);
  }
}

Result<std::shared_ptr<const Bytes>> Sender::Loop::BlobBytes(const crypto::Hash256& h) {
  for (const auto& [hash, bytes] : blob_cache_)
    if (hash == h) return bytes;
  // Checked once per blob (BLAKE2b runs far faster than any uplink): a blob damaged on this
  // disk is quarantined and reported, never sent as if it were good.
  auto got = s_->store_->blobs()->Get(h);
  if (!got.ok() && got.status().IsCorruption()) {
    Error("blob " + ToHex(h) + " is damaged on this node's disk: quarantined, not sent (" +
          got.status().message() + ")");
    (void)s_->store_->blobs()->Quarantine(h, "content hash mismatch found while replicating");
  }
  TCD_ASSIGN_OR_RETURN(Bytes b, std::move(got));
  auto shared = std::make_shared<const Bytes>(std::move(b));
  blob_cache_.emplace_back(h, shared);
  if (blob_cache_.size() > 2) blob_cache_.pop_front();
  return shared;
}

bool Sender::Loop::ServeFetches() {
  while (!fetches_.empty()) {
    const Fetch f = fetches_.front();
    if (bucket_.TryTake(f.length + 64) > 0) return false;
    fetches_.pop_front();
    auto blob = BlobBytes(f.blob);
    if (!blob.ok() || f.offset > (*blob)->size()) {
      Send(Unavailable{f.blob, blob.ok() ? "offset beyond the blob" : "not held here (yet)"});
      continue;
    }
    const Bytes& bytes = **blob;
    Chunk c;
    c.blob = f.blob;
    c.offset = f.offset;
    c.total = bytes.size();
    const uint64_t n = std::min<uint64_t>(f.length, bytes.size() - f.offset);
    c.data.assign(bytes.begin() + f.offset, bytes.begin() + f.offset + n);
    Send(c);
  }
  return true;
}

void Sender::Loop::UpdateRate() {
  const int64_t now = env_->MonotonicMicros();
  if (!rate_samples_.empty() && now - rate_samples_.back().first < 1'000'000) return;
  BandwidthPolicy policy;
  {
    std::lock_guard<std::mutex> lock(s_->mu_);
    policy = s_->bandwidth_;
  }
  const uint64_t cap = policy.CapAt(std::time(nullptr));
  if (cap / 8 != bucket_.rate()) bucket_.SetRate(cap / 8);
  std::lock_guard<std::mutex> lock(s_->mu_);
  rate_samples_.emplace_back(now, s_->stats_.bytes_sent);
  while (rate_samples_.size() > 11) rate_samples_.pop_front();
  const auto& [t0, b0] = rate_samples_.front();
  s_->stats_.rate_bits_per_second =
      now > t0 ? (s_->stats_.bytes_sent - b0) * 8.0 * 1e6 / (now - t0) : 0;
  s_->stats_.cap_bits_per_second = cap;
  s_->stats_.fetches_queued = fetches_.size();
}

void Sender::Loop::Run() {
  for (int attempt = 0; !s_->stop_; ++attempt) {
    Status st = Connect();
    if (st.ok()) break;
    Error(st.message());
    env_->SleepMicros(std::min<int64_t>(100'000LL << std::min(attempt, 6), 5'000'000));
  }
  if (s_->stop_) return;
  while (!s_->stop_) {
    UpdateRate();
    if (connected_ && !welcomed_ && env_->MonotonicMicros() - hello_sent_us_ > 10'000'000) {
      Send(Hello{s_->options_.role, s_->options_.point, "tcd/0.4"});  // lost, or refused
      hello_sent_us_ = env_->MonotonicMicros();
    }
    if (welcomed_) PumpEntries();
    if (welcomed_) PumpLog();
    if (welcomed_ && env_->MonotonicMicros() - last_send_us_ > 30'000'000)
      Send(Query{crypto::SessionId{}});  // keepalive: the receiver answers "unknown"

    const bool drained = !welcomed_ || ServeFetches();
    zmq::pollitem_t items[] = {{dealer_->handle(), 0, ZMQ_POLLIN, 0},
                               {monitor_->handle(), 0, ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, 2, std::chrono::milliseconds(drained ? 50 : 2));
      if (items[1].revents & ZMQ_POLLIN) OnMonitorEvent();
      for (int i = 0; i < 256 && (items[0].revents & ZMQ_POLLIN); ++i) {
        zmq::message_t frame;
        if (!dealer_->recv(frame, zmq::recv_flags::dontwait)) break;
        OnMessage(frame);
      }
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) break;
      Error(FromZmq(e, "poll").message());
      env_->SleepMicros(100'000);
    }
  }
  if (monitor_) zmq_socket_monitor(dealer_->handle(), nullptr, 0);
  monitor_.reset();
  dealer_.reset();
}

}  // namespace tcd::replicate
