#include "tools/bench/swarm_client.h"

#include <zmq.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <vector>

#include "replicate/curve.h"

namespace tcd::bench {
namespace {

using replicate::Message;

// The sender's timings (replicate/sender_loop.h, docs/FORMAT.md §Conversation).
constexpr int64_t kHelloRetryUs = 10'000'000;
constexpr int64_t kEntriesAckTimeoutUs = 30'000'000;
constexpr int64_t kQueryUs = 3'000'000;
constexpr int64_t kKeepaliveUs = 30'000'000;
constexpr size_t kMaxBatchEntries = 64;
constexpr int kErrorsLogged = 10;

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct SessionState {
  const SwarmSession* s = nullptr;
  uint64_t stored = 0, held = 0;
  int64_t entries_sent_us = 0;  // 0: no ENTRIES awaiting its ack
  int64_t query_us = 0;
  bool done = false;
};

struct Rec {
  const SwarmRecorder* r = nullptr;
  std::unique_ptr<zmq::socket_t> sock;
  bool welcomed = false;
  int64_t hello_us = 0, last_send_us = 0;
  std::vector<SessionState> sessions;
};

class Swarm {
 public:
  Swarm(const SwarmFleet& f, const SwarmOptions& o) : fleet_(f), o_(o) {}
  Result<SwarmResult> Run();

 private:
  Status Connect(Rec& r);
  void Send(Rec& r, const Message& m);
  void Hello(Rec& r);
  void SendEntries(Rec& r, SessionState& s);
  Status OnFrame(Rec& r, const zmq::message_t& frame);
  void Timers(Rec& r, int64_t now);

  const SwarmFleet& fleet_;
  const SwarmOptions& o_;
  zmq::context_t ctx_;
  std::vector<Rec> recs_;
  size_t welcomed_ = 0, done_ = 0, sessions_ = 0;
  bool sending_ = false;
  SwarmResult result_;
};

void Swarm::Send(Rec& r, const Message& m) {
  Bytes b = replicate::Encode(m);
  // A frame refused at the high-water mark is lost like one dropped by ZeroMQ on the way:
  // the timers resend (only the acknowledgments are reliable).
  (void)r.sock->send(zmq::buffer(b.data(), b.size()), zmq::send_flags::dontwait);
  r.last_send_us = NowUs();
}

void Swarm::Hello(Rec& r) {
  Send(r, replicate::Hello{replicate::Role::kRecorder, r.r->point, "tcd/0.4"});
  r.hello_us = NowUs();
}

void Swarm::SendEntries(Rec& r, SessionState& s) {
  const auto& chain = s.s->chain;
  if (s.stored >= chain.size()) return;
  replicate::Entries m;
  m.session = s.s->id;
  m.first_seq = s.stored;
  const size_t end = std::min(chain.size(), static_cast<size_t>(s.stored) + kMaxBatchEntries);
  m.entries.assign(chain.begin() + static_cast<ptrdiff_t>(s.stored),
                   chain.begin() + static_cast<ptrdiff_t>(end));
  Send(r, m);
  s.entries_sent_us = NowUs();
}

Status Swarm::Connect(Rec& r) {
  try {
    r.sock = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::dealer);
    TCD_RETURN_IF_ERROR(replicate::SetCommonOptions(*r.sock));
    TCD_RETURN_IF_ERROR(replicate::SetCurveClient(*r.sock, r.r->identity, o_.province_pk));
    r.sock->connect(o_.address);
  } catch (const zmq::error_t& e) {
    return replicate::FromZmq(e, r.r->point + ": connect to " + o_.address);
  }
  // Without ZMQ_IMMEDIATE the HELLO waits in the pipe until the CURVE handshake is done (the
  // real sender waits for the monitor's HANDSHAKE_SUCCEEDED instead: one socket fewer here).
  Hello(r);
  return Status::OK();
}

Status Swarm::OnFrame(Rec& r, const zmq::message_t& frame) {
  auto m = replicate::Decode(ByteView(static_cast<const uint8_t*>(frame.data()), frame.size()));
  if (!m.ok())
    return Status::Corruption(r.r->point + ": the province sent a frame that does not decode: " +
                              m.status().message());
  if (std::get_if<replicate::Welcome>(&*m)) {
    if (!r.welcomed) ++welcomed_;
    r.welcomed = true;
    if (sending_)  // a reconnection: resume from what the acks said
      for (auto& s : r.sessions)
        if (!s.done) SendEntries(r, s);
  } else if (auto* a = std::get_if<replicate::SessionAck>(&*m)) {
    auto it = std::find_if(r.sessions.begin(), r.sessions.end(),
                           [&](const SessionState& s) { return s.s->id == a->session; });
    if (it == r.sessions.end()) return Status::OK();  // the keepalive's answer
    if (a->result == replicate::AckResult::kRejected)
      return Status::Corruption(r.r->point + ": the province rejected session " +
                                crypto::SessionIdToString(a->session) + ": " + a->detail);
    if (a->result == replicate::AckResult::kUnknown) {
      it->stored = 0;
      if (sending_) SendEntries(r, *it);
      return Status::OK();
    }
    it->stored = std::max(it->stored, a->stored);
    it->held = std::max(it->held, a->held);
    if (it->stored >= it->s->chain.size()) it->entries_sent_us = 0;
    if (!it->done && it->held >= it->s->chain.size()) {
      it->done = true;
      ++done_;
    }
  } else if (auto* f = std::get_if<replicate::Fetch>(&*m)) {
    ++result_.fetches;
    auto b = fleet_.blobs.find(f->blob);
    if (b == fleet_.blobs.end() || f->offset > b->second->size()) {
      Send(r, replicate::Unavailable{f->blob, "not held here (yet)"});
      return Status::OK();
    }
    const Bytes& blob = *b->second;
    const size_t n = std::min<uint64_t>(f->length, blob.size() - f->offset);
    Send(r, replicate::Chunk{f->blob, f->offset, blob.size(),
                             Bytes(blob.begin() + static_cast<ptrdiff_t>(f->offset),
                                   blob.begin() + static_cast<ptrdiff_t>(f->offset + n))});
  } else if (auto* e = std::get_if<replicate::Error>(&*m)) {
    if (result_.errors++ < kErrorsLogged)
      std::fprintf(stderr, "swarm_bench: %s: province says ERROR %d: %s\n", r.r->point.c_str(),
                   static_cast<int>(e->code), e->message.c_str());
    if (e->code == replicate::ErrorCode::kNotWelcome) Hello(r);
  }
  return Status::OK();
}

void Swarm::Timers(Rec& r, int64_t now) {
  if (!r.welcomed) {
    if (now - r.hello_us > kHelloRetryUs) Hello(r);
    return;
  }
  if (sending_)
    for (auto& s : r.sessions) {
      if (s.done) continue;
      if (s.stored < s.s->chain.size()) {
        if (s.entries_sent_us == 0 || now - s.entries_sent_us > kEntriesAckTimeoutUs) {
          if (s.entries_sent_us != 0) ++result_.resends;
          SendEntries(r, s);
        }
      } else if (now - s.query_us > kQueryUs) {
        Send(r, replicate::Query{s.s->id});
        s.query_us = now;
      }
    }
  if (now - r.last_send_us > kKeepaliveUs) Send(r, replicate::Query{});
}

Result<SwarmResult> Swarm::Run() {
  if (o_.recorders > fleet_.recorders.size())
    return Status::InvalidArgument("asked for " + std::to_string(o_.recorders) +
                                   " recorders, the fleet has " +
                                   std::to_string(fleet_.recorders.size()));
  // One socket per recorder (ZMQ_MAX_SOCKETS defaults to 1023 per context).
  ctx_.set(zmq::ctxopt::max_sockets, static_cast<int>(o_.recorders + 64));
  recs_.resize(o_.recorders);
  const int64_t start = NowUs();
  for (size_t i = 0; i < o_.recorders; ++i) {
    Rec& r = recs_[i];
    r.r = &fleet_.recorders[i];
    for (const auto& s : r.r->sessions) r.sessions.push_back({&s});
    sessions_ += r.sessions.size();
    TCD_RETURN_IF_ERROR(Connect(r));
  }
  std::vector<zmq::pollitem_t> items;
  for (auto& r : recs_) items.push_back({r.sock->handle(), 0, ZMQ_POLLIN, 0});
  int64_t transfer_start = 0, next_timers = 0;
  try {
    while (true) {
      zmq::poll(items.data(), items.size(), std::chrono::milliseconds(20));
      for (size_t i = 0; i < items.size(); ++i) {
        if (!(items[i].revents & ZMQ_POLLIN)) continue;
        for (int k = 0; k < 64; ++k) {
          zmq::message_t frame;
          if (!recs_[i].sock->recv(frame, zmq::recv_flags::dontwait)) break;
          TCD_RETURN_IF_ERROR(OnFrame(recs_[i], frame));
        }
      }
      const int64_t now = NowUs();
      if (!sending_ && welcomed_ == recs_.size()) {
        result_.welcomed_s = (now - start) / 1e6;
        if (o_.on_phase) o_.on_phase("welcomed");
        sending_ = true;
        transfer_start = NowUs();
        for (auto& r : recs_)
          for (auto& s : r.sessions) SendEntries(r, s);
      }
      if (sending_ && done_ == sessions_) {
        const int64_t end = NowUs();
        result_.held_s = (end - start) / 1e6;
        result_.transfer_s = (end - transfer_start) / 1e6;
        if (o_.on_phase) o_.on_phase("held");
        break;
      }
      if (now >= next_timers) {
        for (auto& r : recs_) Timers(r, now);
        next_timers = now + 500'000;
      }
      if (now - start > o_.timeout_s * 1e6)
        return Status::Aborted("timeout after " + std::to_string(int(o_.timeout_s)) + " s: " +
                               std::to_string(welcomed_) + " of " +
                               std::to_string(recs_.size()) + " recorders welcomed, " +
                               std::to_string(done_) + " of " + std::to_string(sessions_) +
                               " sessions held by the province");
    }
  } catch (const zmq::error_t& e) {
    return replicate::FromZmq(e, "swarm of " + std::to_string(recs_.size()) + " recorders");
  }
  return result_;
}

}  // namespace

Result<SwarmResult> RunSwarm(const SwarmFleet& fleet, const SwarmOptions& options) {
  Swarm swarm(fleet, options);
  return swarm.Run();
}

}  // namespace tcd::bench
