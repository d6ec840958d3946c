// Sender: the downstream end of a replication link (DESIGN.md §5). A recorder runs one towards
// its province, a province one towards the central archive. It connects a ZeroMQ DEALER over
// CurveZMQ to the upstream's ROUTER, introduces itself (HELLO), pushes the chain entries of
// every session in the outbox that the upstream has not stored (metadata first, one batch in
// flight per session, a few sessions at a time), answers the upstream's FETCH requests with
// CHUNKs of blobs under the bandwidth cap, and records the acknowledgments — what the next tier
// and the central tier durably hold — in the catalog's replication records. A session leaves
// the outbox when it is closed and the central tier holds all of it.
//
// Reliability comes from the acknowledgments only: on a disconnect (socket monitor) everything
// in flight is forgotten and the upstream asks again for what it lacks; it resumes blobs at the
// byte offset it has stored.
//
// Thread-safety: the sender runs its own thread; stats(), Nudge() and SetBandwidth() may be
// called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "crypto/keys.h"
#include "node/store.h"
#include "replicate/protocol.h"
#include "replicate/rate_limiter.h"

namespace tcd::replicate {

struct SenderOptions {
  std::string address;              // tcp://host:port of the upstream's listener
  crypto::PublicKey upstream_pk{};  // the upstream's transport key (from its node.pub)
  crypto::PublicKey upstream_sign_pk{};  // its signing key: checks its log cosignatures
  Role role = Role::kRecorder;      // this node's role
  std::string point;                // this node's point / archive id (HELLO)
  BandwidthPolicy bandwidth;        // cap on what this link sends
  int reconnect_max_ms = 10000;     // reconnect backoff cap
  size_t sessions_in_flight = 4;    // sessions with an ENTRIES batch awaiting its ack
  size_t max_batch_entries = 64;    // entries per ENTRIES message
  int64_t query_interval_us = 3000000;  // how often to ask for acks from further up
};

struct SenderStats {
  std::string address;
  bool connected = false;       // a CurveZMQ handshake succeeded and no disconnect since
  uint64_t reconnects = 0;
  uint64_t bytes_sent = 0;      // every frame this sender wrote (application level)
  uint64_t chunk_bytes_sent = 0;
  uint64_t entries_sent = 0;
  uint64_t fetches_queued = 0;  // FETCH requests waiting for the bandwidth cap
  uint64_t cap_bits_per_second = 0;  // 0 = unlimited
  double rate_bits_per_second = 0;   // over the last ~10 s
  std::string last_error;
  int64_t last_error_us = 0;
  // This node's log waits to be cosigned past a leaf whose chain entry the upstream does not
  // store yet (normally for moments; for good when the upstream refuses that session).
  std::string log_waiting;   // "leaf N: session ID seq S is not stored upstream yet"; "" = none
  int64_t log_waiting_since_us = 0;
};

class Sender {
 public:
  // REQUIRES: store and identity outlive the sender.
  static Result<std::unique_ptr<Sender>> Start(node::Store* store,
                                               const crypto::NodeIdentity* identity,
                                               SenderOptions options);
  ~Sender();  // stops and joins the thread

  SenderStats stats() const;
  void Nudge() { nudged_ = true; }  // something was appended: look at the outbox now
  void SetBandwidth(const BandwidthPolicy& policy);

 private:
  class Loop;
  Sender() = default;
  void Run();

  node::Store* store_ = nullptr;
  const crypto::NodeIdentity* identity_ = nullptr;
  SenderOptions options_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> nudged_{true};
  mutable std::mutex mu_;
  SenderStats stats_;           // GUARDED_BY(mu_)
  BandwidthPolicy bandwidth_;   // GUARDED_BY(mu_)
  std::thread thread_;
  friend class Loop;
};

}  // namespace tcd::replicate
