// CurveZMQ for replication: socket setup with a node's keys, and the ZAP handler that holds
// the allow-list (a CURVE server without a ZAP handler accepts any client key: DESIGN.md §5).
// cppzmq exceptions stop here: every function returns Status.
//
// Thread-safety: ZapHandler runs its own thread; its methods are thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include <zmq.hpp>

#include "base/status.h"
#include "crypto/keys.h"
#include "replicate/enrollment.h"

namespace tcd::replicate {

// Converts a cppzmq/libzmq error to a Status naming `what` ("bind tcp://…: Address in use").
Status FromZmq(const zmq::error_t& e, const std::string& what);

// Common options of every replication socket: ZMTP heartbeats (ivl 2 s, timeout 6 s, ttl 6 s),
// linger 0, reconnect ivl 100 ms with backoff to `reconnect_max_ms`, high-water marks, and a
// 4 MiB maximum frame size (a larger frame disconnects the peer).
Status SetCommonOptions(zmq::socket_t& s, int reconnect_max_ms = 10000);
// Makes `s` a CURVE server with the node's transport key (ZMQ_CURVE_SERVER, SECRETKEY) and a
// ZAP domain ("tcd").
Status SetCurveServer(zmq::socket_t& s, const crypto::NodeIdentity& id);
// Makes `s` a CURVE client of the server whose transport key is `server_pk`.
Status SetCurveClient(zmq::socket_t& s, const crypto::NodeIdentity& id,
                      const crypto::PublicKey& server_pk);

// Serves ZAP (ZeroMQ RFC 27) on inproc://zeromq.zap.01 of `ctx`: accepts a CURVE client whose
// transport key `allow` finds (status 200, User-Id = 64 lowercase hex chars of that key);
// refuses every other key (400) and every other mechanism (400), logging the reason
// (WhyRefused) at warning level, at most once per key per 60 s.
// REQUIRES: ctx outlives the handler; Start before binding any CURVE server socket of ctx.
class ZapHandler {
 public:
  static Result<std::unique_ptr<ZapHandler>> Start(zmq::context_t* ctx, AllowList* allow);
  ~ZapHandler();  // stops and joins the thread
  uint64_t accepted() const { return accepted_; }
  uint64_t refused() const { return refused_; }

 private:
  ZapHandler() = default;
  void Run();
  zmq::context_t* ctx_ = nullptr;
  AllowList* allow_ = nullptr;
  std::unique_ptr<zmq::socket_t> rep_;  // used only by the thread after Start
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> refused_{0};
  std::thread thread_;
};

// The transport key encoded in a ZAP User-Id ("hex"); Corruption otherwise.
Result<crypto::PublicKey> PeerKeyFromUserId(const std::string& user_id);

}  // namespace tcd::replicate
