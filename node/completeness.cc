#include "node/completeness.h"

#include <set>

#include "node/node_log.h"

namespace tcd::node {

Result<std::vector<LogCompleteness>> CheckCompleteness(Store* store) {
  NodeLogs* logs = store->catalog()->logs();
  if (logs == nullptr) return std::vector<LogCompleteness>{};
  TCD_ASSIGN_OR_RETURN(auto wanted_list, store->catalog()->ListWantedHashes());
  const std::set<crypto::Hash256> wanted(wanted_list.begin(), wanted_list.end());
  TCD_ASSIGN_OR_RETURN(auto signers, logs->Downstream());
  std::vector<LogCompleteness> out;
  for (const auto& signer : signers) {
    const LogId copy = LogId::Of(signer);
    LogCompleteness c;
    c.signer = signer;
    c.origin = LogOrigin(signer);
    TCD_ASSIGN_OR_RETURN(c.leaves, logs->Size(copy));
    std::set<crypto::SessionId> sessions;
    auto missing = [&](uint64_t i, const ParsedLeaf& l, const std::string& what) {
      ++c.missing;
      if (c.first_missing.size() < 20) c.first_missing.push_back({i, l.session, l.seq, what});
      if (sessions.insert(l.session).second) c.sessions_missing.push_back(l.session);
    };
    for (uint64_t i = 0; i < c.leaves; ++i) {
      TCD_ASSIGN_OR_RETURN(Bytes bytes, logs->Leaf(copy, i));
      auto leaf = ParseLeaf(bytes);
      if (!leaf.ok())
        return leaf.status().WithContext(c.origin + " leaf " + std::to_string(i));
      if (leaf->kind == kLeafCheckpoint) {
        ++c.checkpoint_leaves;
        continue;
      }
      ++c.entry_leaves;
      auto rec = store->catalog()->GetChainEntry(leaf->session, leaf->seq);
      if (!rec.ok() && rec.status().IsNotFound()) {
        missing(i, *leaf, "chain entry missing");
        continue;
      }
      TCD_RETURN_IF_ERROR(rec.status());
      if (crypto::EntryHashOf(rec->entry) != leaf->entry_hash) {
        missing(i, *leaf, "chain entry differs from the one logged");
        continue;
      }
      auto entry = crypto::DecodeEntry(rec->entry);
      if (!entry.ok()) {
        missing(i, *leaf, "chain entry does not decode");
        continue;
      }
      if (entry->kind != crypto::EntryKind::kInit && entry->kind != crypto::EntryKind::kSegment)
        continue;
      if (store->blobs()->Exists(entry->cipher_hash)) continue;
      if (wanted.count(entry->cipher_hash)) {
        ++c.pending_blobs;
        continue;
      }
      auto repl = store->catalog()->GetRepl(leaf->session);
      if (repl.ok() && repl->evicted_below > leaf->seq) {
        ++c.evicted_blobs;
        continue;
      }
      missing(i, *leaf, "blob missing");
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace tcd::node
