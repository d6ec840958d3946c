// Private to replicate/receiver*.cc: the receiver thread's state. receiver.cc holds the
// connection side (binding, HELLO, ENTRIES, QUERY, liveness, statistics), receiver_fetch.cc the
// blob side (FETCH credit, CHUNKs into part files, completion).
#pragma once

#include <zmq.hpp>

#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "replicate/curve.h"
#include "replicate/log_cosigner.h"
#include "replicate/receiver.h"
#include "replicate/replica_writer.h"

namespace tcd::replicate {
namespace receiver_internal {

constexpr int64_t kFetchTimeoutUs = 20'000'000;
constexpr int64_t kRelistUs = 2'000'000;
constexpr int64_t kUnavailableRetryUs = 3'000'000;
constexpr size_t kBlobsInProgress = 8;
constexpr int64_t kPeerSilenceUs = 90'000'000;

// DATA/inbox/<hex>.part: a blob being received. Opened per operation so that a thousand
// peers do not hold thousands of descriptors.
Status AppendPart(const std::string& path, ByteView data);
Status SyncPart(const std::string& path);

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

}  // namespace receiver_internal

using namespace receiver_internal;

class Receiver::Loop {
 public:
  Loop(Receiver* r, node::Store* store, const crypto::NodeIdentity* id, AllowList* allow,
       ReceiverOptions options)
      : r_(r), store_(store), env_(store->env()), identity_(id), allow_(allow),
        options_(std::move(options)), writer_(store, options_.role), cosigner_(store, id),
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
  LogCosigner cosigner_;
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

}  // namespace tcd::replicate
