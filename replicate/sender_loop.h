// Private to replicate/sender*.cc: the sender thread's state. sender.cc holds the connection,
// the entries and the blobs; sender_log.cc the node logs (LOG and COSIGNED).
#pragma once

#include <zmq.hpp>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "node/node_log.h"
#include "replicate/rate_limiter.h"
#include "replicate/sender.h"

namespace tcd::replicate {

namespace sender_internal {

constexpr size_t kMaxQueuedFetches = 1024;
constexpr size_t kMaxBatchBytes = 512 * 1024;
constexpr int64_t kEntriesAckTimeoutUs = 30'000'000;
constexpr int64_t kRejectBackoffUs = 60'000'000;
constexpr size_t kOutboxScanLimit = 2000;
constexpr int64_t kCentralPollUs = 3'000'000;

}  // namespace sender_internal
using namespace sender_internal;

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
  std::map<std::string, int64_t> log_backoff_;  // per log (LogId prefix): monotonic, none before
};

}  // namespace tcd::replicate
