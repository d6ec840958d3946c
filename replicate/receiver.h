// Receiver: the upstream end of replication links (DESIGN.md §5). A province runs one for its
// recorders, the central archive one for the provinces. A ZeroMQ ROUTER bound to the listen
// address, CurveZMQ server with the node's transport key, and a ZAP handler that admits only
// enrolled keys (re-checked on every message, so a revocation cuts a live link). For each
// connected peer it verifies and stores the chain entries it is sent (ReplicaWriter), then
// pulls the missing blobs with FETCH requests — credit: a window of outstanding chunk requests
// sized to the measured bandwidth-delay product — into DATA/inbox/<hex>.part files, resuming
// at the bytes already stored there, and acknowledges a session's progress (SESSION_ACK) only
// once entries, blobs and catalog are durable.
//
// Malformed, truncated or unexpected messages are answered with ERROR and logged; they never
// crash the receiver or store anything.
//
// Thread-safety: runs its own thread; stats() may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "crypto/keys.h"
#include "node/store.h"
#include "replicate/enrollment.h"
#include "replicate/protocol.h"

namespace tcd::replicate {

struct ReceiverOptions {
  std::string listen;             // e.g. tcp://0.0.0.0:7701
  Role role = Role::kProvince;    // this node's role (province or central)
  uint32_t chunk_bytes = 64 * 1024;
  uint32_t min_window = 4;        // outstanding FETCHes per peer, at least …
  uint32_t max_window = 64;       // … and at most (memory bound per peer: max_window × chunk)
};

struct PeerStats {
  std::string point;
  std::string key_id;
  bool connected = false;
  uint64_t bytes_received = 0;    // chunk payload bytes
  uint64_t blobs_received = 0;
  uint64_t entries_received = 0;
  uint64_t rejected = 0;          // refused messages (bad entries, malformed frames)
  uint32_t window = 0;
  double rate_bits_per_second = 0;
  std::string last_error;
};

class Receiver {
 public:
  // Binds `options.listen` (errors name the address). REQUIRES: store, identity and allow
  // outlive the receiver.
  static Result<std::unique_ptr<Receiver>> Start(node::Store* store,
                                                 const crypto::NodeIdentity* identity,
                                                 AllowList* allow, ReceiverOptions options);
  ~Receiver();  // stops and joins the thread

  std::string endpoint() const { return endpoint_; }  // the bound address (resolved port)
  std::vector<PeerStats> stats() const;
  uint64_t refused_messages() const { return refused_; }

 private:
  class Loop;
  Receiver() = default;

  std::string endpoint_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> refused_{0};
  mutable std::mutex mu_;
  std::vector<PeerStats> stats_;  // GUARDED_BY(mu_)
  std::unique_ptr<Loop> loop_;
  std::thread thread_;
  friend class Loop;
};

}  // namespace tcd::replicate
