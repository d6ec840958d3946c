#include "replicate/receiver.h"

#include <spdlog/spdlog.h>

#include "replicate/receiver_loop.h"

namespace tcd::replicate {

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
    // Only about sessions this node sent: others' progress is none of its business.
    auto repl = store_->catalog()->GetRepl(q->session);
    if (repl.ok() && repl->from_peer == p.node.pub.transport_pk) {
      SendAck(p, q->session);
    } else {
      SessionAck unknown;
      unknown.session = q->session;
      unknown.result = AckResult::kUnknown;
      SendTo(p.rid, unknown);
    }
  } else if (auto* l = std::get_if<Log>(&m)) {
    auto answer = cosigner_.Accept(p.node, *l);
    if (!answer.ok()) {
      spdlog::error("replication: cannot cosign the log of {}: {}", p.node.point,
                    answer.status().ToString());
      p.stats.last_error = answer.status().message();
      SendTo(p.rid, replicate::Error{ErrorCode::kInternal, answer.status().message()});
      return;
    }
    if (answer->result == LogResult::kRejected) {
      spdlog::warn("replication: refused the log checkpoint of {}: {}", p.node.point,
                   answer->detail);
      Refuse(&p, answer->detail);
    }
    SendTo(p.rid, *answer);
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
// Once a second: liveness, fetch timeouts, window sizing, statistics.
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