#include "replicate/log_cosigner.h"

#include <spdlog/spdlog.h>

#include "crypto/merkle.h"
#include "crypto/note.h"
#include "node/node_log.h"

namespace tcd::replicate {

Result<Cosigned> LogCosigner::SplitView(const EnrolledNode& peer, const Log& msg,
                                        const crypto::PublicKey& signer, uint64_t size,
                                        const std::string& why) {
  spdlog::error("node log {} (from {}): SPLIT VIEW at size {}: {}; the checkpoint is kept as "
                "evidence (tcd status, tcd log)",
                node::LogOrigin(signer), peer.point, size, why);
  TCD_RETURN_IF_ERROR(store_->catalog()->logs()->PutSplitView(
      {signer, size, store_->env()->NowMicros(), why, msg.checkpoint}));
  return Cosigned{msg.signer, LogResult::kRejected, size, "", "split view: " + why};
}

Result<Cosigned> LogCosigner::Accept(const EnrolledNode& peer, const Log& msg) {
  auto answer = [&](LogResult r, uint64_t size, std::string detail) {
    return Cosigned{msg.signer, r, size, "", std::move(detail)};
  };
  node::NodeLogs* logs = store_->catalog()->logs();
  // The sender's own log, or a downstream node's log it cosigned and relays.
  const bool relayed = msg.signer != crypto::PublicKey{} && msg.signer != peer.pub.sign_pk;
  const crypto::PublicKey signer = relayed ? msg.signer : peer.pub.sign_pk;
  const node::LogId copy = node::LogId::Of(signer);
  const std::string origin = node::LogOrigin(signer);
  auto note = crypto::note::ParseNote(msg.checkpoint);
  if (!note.ok()) return answer(LogResult::kRejected, 0, note.status().message());
  auto cp = crypto::note::ParseCheckpoint(note->body);
  if (!cp.ok()) return answer(LogResult::kRejected, 0, cp.status().message());
  if (cp->origin != origin)
    return answer(LogResult::kRejected, cp->size,
                  "checkpoint of origin " + cp->origin + ", not of the log " + origin);
  if (Status s = crypto::note::VerifySignature(*note, origin, signer); !s.ok())
    return answer(LogResult::kRejected, cp->size, "checkpoint: " + s.message());
  if (relayed) {  // the relaying node vouches for it with its cosignature
    const std::string by = node::LogOrigin(peer.pub.sign_pk);
    if (auto t = crypto::note::VerifyCosignature(*note, by, peer.pub.sign_pk); !t.ok())
      return answer(LogResult::kRejected, cp->size,
                    "relayed checkpoint: " + t.status().message() + " (the relaying node's)");
  }

  TCD_ASSIGN_OR_RETURN(uint64_t held, logs->Size(copy));
  if (cp->size <= held) {  // a size already held: it must show the same tree
    TCD_ASSIGN_OR_RETURN(crypto::Hash256 root, logs->Root(copy, cp->size));
    if (root != cp->root)
      return SplitView(peer, msg, signer, cp->size,
                       "a checkpoint of " + std::to_string(cp->size) +
                           " leaves with another root hash than the one cosigned here");
    // The answer is the checkpoint kept at that size or — newer news for a recorder waiting for
    // central custody — the newest one the tier above cosigned, if not larger.
    TCD_ASSIGN_OR_RETURN(uint64_t above, logs->UpstreamSize(copy));
    const uint64_t best = above > 0 && above <= cp->size ? above : cp->size;
    TCD_ASSIGN_OR_RETURN(auto kept, logs->CheckpointAt(copy, best));
    if (kept && (best == held || best == above))
      return Cosigned{msg.signer, LogResult::kCosigned, best, *kept, ""};
    return answer(LogResult::kResync, held, "this node holds " + std::to_string(held) + " leaves");
  }
  if (msg.old_size != held)
    return answer(LogResult::kResync, held, "this node holds " + std::to_string(held) + " leaves");
  if (cp->size != held + msg.leaves.size())
    return answer(LogResult::kRejected, cp->size,
                  "checkpoint of " + std::to_string(cp->size) + " leaves, but " +
                      std::to_string(held) + " held + " + std::to_string(msg.leaves.size()) +
                      " sent");
  TCD_ASSIGN_OR_RETURN(crypto::Hash256 old_root, logs->Root(copy, held));
  if (Status s = crypto::merkle::VerifyConsistency(held, cp->size, old_root, cp->root, msg.proof);
      !s.ok())
    return SplitView(peer, msg, signer, cp->size,
                     "not an extension of the " + std::to_string(held) +
                         " leaves cosigned here (" + s.message() + ")");
  for (size_t i = 0; i < msg.leaves.size(); ++i) {
    const std::string where = "leaf " + std::to_string(held + i);
    auto leaf = node::ParseLeaf(msg.leaves[i]);
    if (!leaf.ok())
      return answer(LogResult::kRejected, cp->size, where + ": " + leaf.status().message());
    if (leaf->kind == node::kLeafCheckpoint) {
      if (auto c = crypto::note::ParseCheckpoint(leaf->checkpoint); !c.ok())
        return answer(LogResult::kRejected, cp->size, where + ": " + c.status().message());
      continue;
    }
    const std::string entry = "session " + crypto::SessionIdToString(leaf->session) + " seq " +
                              std::to_string(leaf->seq);
    auto rec = store_->catalog()->GetChainEntry(leaf->session, leaf->seq);
    if (!rec.ok() && rec.status().IsNotFound())
      return answer(LogResult::kLater, held, where + " names " + entry + ", not stored here yet");
    TCD_RETURN_IF_ERROR(rec.status());
    if (crypto::EntryHashOf(rec->entry) != leaf->entry_hash)
      return SplitView(peer, msg, signer, cp->size,
                       where + " names " + entry + " with another entry hash than the entry it "
                       "sent (a forked chain)");
  }
  const std::string self = node::LogOrigin(identity_->pub.sign_pk);
  TCD_RETURN_IF_ERROR(logs->SetOwnSigner(identity_->pub.sign_pk));
  // The note kept and answered holds only the signatures checked here — the log key's and,
  // relayed, the relaying node's — then this node's: a line the sender added (a fake "central"
  // cosignature, or enough lines to pass the 100-line limit) never travels on.
  crypto::note::Note cosigned{note->body, {}};
  const std::string by = node::LogOrigin(peer.pub.sign_pk);
  const uint32_t log_id = crypto::note::KeyId(origin, crypto::note::kTypeEd25519, signer);
  const uint32_t by_id =
      crypto::note::KeyId(by, crypto::note::kTypeCosignature, peer.pub.sign_pk);
  bool have_log = false, have_by = false;
  for (const auto& sig : note->sigs) {  // the first of each: the ones Verify* checked
    if (!have_log && sig.name == origin && sig.key_id == log_id) {
      cosigned.sigs.push_back(sig);
      have_log = true;
    } else if (relayed && !have_by && sig.name == by && sig.key_id == by_id) {
      cosigned.sigs.push_back(sig);
      have_by = true;
    }
  }
  cosigned.sigs.push_back(crypto::note::Cosign(
      note->body, self, identity_->sign_sk,
      static_cast<uint64_t>(store_->env()->NowMicros() / 1'000'000)));
  const std::string text = crypto::note::FormatNote(cosigned);
  // A checkpoint of the sender's own log becomes a leaf of this node's log: that is how one
  // proof runs from a recorder's entry up to a checkpoint the central archive cosigned.
  const Bytes own_leaf = node::CheckpointLeaf(note->body);
  Status s = logs->AppendVerified(copy, msg.leaves, cp->root, text, relayed ? nullptr : &own_leaf);
  if (s.code() == Status::Code::kAborted)  // the leaves do not lead to the signed root
    return answer(LogResult::kRejected, cp->size, s.message());
  TCD_RETURN_IF_ERROR(s);  // a local failure: nothing cosigned, the sender retries
  spdlog::debug("node log {}: cosigned {} leaves", origin, cp->size);
  return Cosigned{msg.signer, LogResult::kCosigned, cp->size, text, ""};
}

}  // namespace tcd::replicate
