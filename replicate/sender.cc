#include "replicate/sender.h"

#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include <deque>
#include <map>

#include "replicate/curve.h"
#include "replicate/sender_loop.h"

namespace tcd::replicate {
namespace {

std::atomic<uint64_t> g_monitor_seq{0};

}  // namespace

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
