// The sender's node-log side (docs/FORMAT.md §Node log: cosigning): LOG messages of this node's
// own log and of the downstream logs it relays, and what it keeps of the COSIGNED answers.
#include <spdlog/spdlog.h>

#include "crypto/note.h"
#include "node/node_log.h"
#include "replicate/sender_loop.h"

namespace tcd::replicate {

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
  std::string waiting;  // what stops the leaves sent here, for tcd status
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
      if (parsed->seq >= it->second) {  // the upstream does not hold that entry yet
        waiting = "leaf " + std::to_string(i) + ": session " +
                  crypto::SessionIdToString(parsed->session) + " seq " +
                  std::to_string(parsed->seq) + " is not stored upstream yet";
        break;
      }
    }
    msg.leaves.push_back(std::move(leaf));
  }
  if (own) {
    std::lock_guard<std::mutex> lock(s_->mu_);
    if (waiting != s_->stats_.log_waiting) s_->stats_.log_waiting_since_us = env_->NowMicros();
    s_->stats_.log_waiting = waiting;
  }
  uint64_t end = base + msg.leaves.size();
  if (own && s_->options_.role == Role::kRecorder && base > 0) {
    // Every 3 s while the central tier's cosignature lags what the province cosigned, ask again
    // for the checkpoint the province cosigned: the answer is the newest one the central tier
    // cosigned too (the custody retention waits for), even while recording goes on.
    TCD_ASSIGN_OR_RETURN(uint64_t central, logs->CentralCosignedSize());
    const int64_t now = env_->MonotonicMicros();
    if (central < base && now >= central_poll_us_) {
      TCD_ASSIGN_OR_RETURN(auto kept, logs->CheckpointAt(log, base));
      if (kept) {
        central_poll_us_ = now + kCentralPollUs;
        msg.leaves.clear();
        msg.checkpoint = std::move(*kept);
        return std::optional<Log>(std::move(msg));
      }
    }
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
    if (auto b = log_backoff_.find(log.prefix); b != log_backoff_.end()) {
      if (now < b->second) continue;
      log_backoff_.erase(b);
    }
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
        log_backoff_[log.prefix] = now + kRejectBackoffUs;
        log_next_us_ = 0;
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
      log_upstream_[log.prefix] = std::max(log_upstream_[log.prefix], c.size);
      log_next_us_ = 0;  // more to send, perhaps
      return;
    }
    case LogResult::kResync:
      if (size.ok() && c.size > *size) {
        log_backoff_[log.prefix] = now + kRejectBackoffUs;
        log_next_us_ = 0;
        return Error("the upstream holds " + std::to_string(c.size) + " leaves of " + which +
                     ", which has " + std::to_string(*size) +
                     ": was this catalog restored from an older backup?");
      }
      log_upstream_[log.prefix] = c.size;
      log_next_us_ = 0;
      return;
    case LogResult::kLater:
      log_backoff_[log.prefix] = now + 2'000'000;
      log_next_us_ = 0;
      return;
    case LogResult::kRejected:
      log_backoff_[log.prefix] = now + kRejectBackoffUs;  // the other logs go on
      log_next_us_ = 0;
      return Error("the upstream refused the checkpoint of " + which + ": " + c.detail);
  }
}

}  // namespace tcd::replicate
