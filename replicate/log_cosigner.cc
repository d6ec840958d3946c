#include "replicate/log_cosigner.h"

#include <spdlog/spdlog.h>

#include "crypto/merkle.h"
#include "crypto/note.h"
#include "node/node_log.h"

namespace tcd::replicate {
namespace {

Cosigned Answer(LogResult r, uint64_t size, std::string detail) {
  return Cosigned{r, size, "", std::move(detail)};
}

}  // namespace

Result<Cosigned> LogCosigner::SplitView(const EnrolledNode& peer, uint64_t size,
                                        const std::string& note, const std::string& why) {
  const std::string origin = node::LogOrigin(peer.pub.sign_pk);
  spdlog::error("node log of {} ({}): SPLIT VIEW at size {}: {}; the checkpoint is kept as "
                "evidence (tcd status, tcd log)",
                peer.point, origin, size, why);
  TCD_RETURN_IF_ERROR(store_->catalog()->logs()->PutSplitView(
      {peer.pub.sign_pk, size, store_->env()->NowMicros(), why, note}));
  return Answer(LogResult::kRejected, size, "split view: " + why);
}

Result<Cosigned> LogCosigner::Accept(const EnrolledNode& peer, const Log& msg) {
  node::NodeLogs* logs = store_->catalog()->logs();
  const node::LogId copy = node::LogId::Of(peer.pub.sign_pk);
  const std::string origin = node::LogOrigin(peer.pub.sign_pk);
  auto note = crypto::note::ParseNote(msg.checkpoint);
  if (!note.ok()) return Answer(LogResult::kRejected, 0, note.status().message());
  auto cp = crypto::note::ParseCheckpoint(note->body);
  if (!cp.ok()) return Answer(LogResult::kRejected, 0, cp.status().message());
  if (cp->origin != origin)
    return Answer(LogResult::kRejected, cp->size,
                  "checkpoint of origin " + cp->origin + ", not the sender's log " + origin);
  if (Status s = crypto::note::VerifySignature(*note, origin, peer.pub.sign_pk); !s.ok())
    return Answer(LogResult::kRejected, cp->size, "checkpoint: " + s.message());

  TCD_ASSIGN_OR_RETURN(uint64_t held, logs->Size(copy));
  if (cp->size <= held) {  // a size already held: it must show the same tree
    TCD_ASSIGN_OR_RETURN(crypto::Hash256 root, logs->Root(copy, cp->size));
    if (root != cp->root)
      return SplitView(peer, cp->size, msg.checkpoint,
                       "a checkpoint of " + std::to_string(cp->size) +
                           " leaves with another root hash than the one cosigned here");
    TCD_ASSIGN_OR_RETURN(auto kept, logs->CheckpointAt(copy, cp->size));
    if (cp->size == held && kept) return Cosigned{LogResult::kCosigned, held, *kept, ""};
    return Answer(LogResult::kResync, held, "this node holds " + std::to_string(held) + " leaves");
  }
  if (msg.old_size != held)
    return Answer(LogResult::kResync, held, "this node holds " + std::to_string(held) + " leaves");
  if (cp->size != held + msg.leaves.size())
    return Answer(LogResult::kRejected, cp->size,
                  "checkpoint of " + std::to_string(cp->size) + " leaves, but " +
                      std::to_string(held) + " held + " + std::to_string(msg.leaves.size()) +
                      " sent");
  TCD_ASSIGN_OR_RETURN(crypto::Hash256 old_root, logs->Root(copy, held));
  if (Status s = crypto::merkle::VerifyConsistency(held, cp->size, old_root, cp->root, msg.proof);
      !s.ok())
    return SplitView(peer, cp->size, msg.checkpoint,
                     "not an extension of the " + std::to_string(held) +
                         " leaves cosigned here (" + s.message() + ")");
  for (size_t i = 0; i < msg.leaves.size(); ++i) {
    const std::string where = "leaf " + std::to_string(held + i);
    auto leaf = node::ParseLeaf(msg.leaves[i]);
    if (!leaf.ok()) return Answer(LogResult::kRejected, cp->size, where + ": " + leaf.status().message());
    if (leaf->kind == node::kLeafCheckpoint) {
      if (auto c = crypto::note::ParseCheckpoint(leaf->checkpoint); !c.ok())
        return Answer(LogResult::kRejected, cp->size, where + ": " + c.status().message());
      continue;
    }
    const std::string entry = "session " + crypto::SessionIdToString(leaf->session) + " seq " +
                              std::to_string(leaf->seq);
    auto rec = store_->catalog()->GetChainEntry(leaf->session, leaf->seq);
    if (!rec.ok() && rec.status().IsNotFound())
      return Answer(LogResult::kLater, held, where + " names " + entry + ", not stored here yet");
    TCD_RETURN_IF_ERROR(rec.status());
    if (crypto::EntryHashOf(rec->entry) != leaf->entry_hash)
      return SplitView(peer, cp->size, msg.checkpoint,
                       where + " names " + entry + " with another entry hash than the entry it "
                       "sent (a forked chain)");
  }
  const std::string self = node::LogOrigin(identity_->pub.sign_pk);
  crypto::note::Note cosigned = *note;
  cosigned.sigs.push_back(crypto::note::Cosign(
      note->body, self, identity_->sign_sk,
      static_cast<uint64_t>(store_->env()->NowMicros() / 1'000'000)));
  const std::string text = crypto::note::FormatNote(cosigned);
  Status s = logs->AppendVerified(copy, msg.leaves, cp->root, text,
                                  node::CheckpointLeaf(note->body));
  if (s.IsCorruption()) return Answer(LogResult::kRejected, cp->size, s.message());
  TCD_RETURN_IF_ERROR(s);
  spdlog::debug("node log of {}: cosigned {} leaves", peer.point, cp->size);
  return Cosigned{LogResult::kCosigned, cp->size, text, ""};
}

}  // namespace tcd::replicate
