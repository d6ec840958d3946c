#include "replicate/retention.h"

#include <spdlog/spdlog.h>

#include "node/node_log.h"

namespace tcd::replicate {
namespace {

using crypto::EntryKind;

// Removes the blob files and references of media entries [from, to) that still exist.
Status RemoveBlobs(node::Store* store, const crypto::SessionId& id, uint64_t from, uint64_t to,
                   RetentionReport* report) {
  for (uint64_t seq = from; seq < to; ++seq) {
    auto cr = store->catalog()->GetChainEntry(id, seq);
    if (!cr.ok()) continue;
    auto e = crypto::DecodeEntry(cr->entry);
    if (!e.ok() || (e->kind != EntryKind::kInit && e->kind != EntryKind::kSegment)) continue;
    if (store->blobs()->Exists(e->cipher_hash)) {
      TCD_RETURN_IF_ERROR(store->blobs()->Remove(e->cipher_hash));
      report->blobs_evicted += 1;
      report->bytes_freed += e->cipher_size;
    }
    TCD_RETURN_IF_ERROR(store->catalog()->RemoveBlobRef(e->cipher_hash));
  }
  return Status::OK();
}

}  // namespace

Result<RetentionReport> EvictExpired(node::Store* store, int64_t retention_us, int64_t now_us,
                                     bool sweep) {
  RetentionReport report;
  // Custody is also a signed statement: only entries under a checkpoint of this node's log that
  // the central tier cosigned may lose their media.
  node::NodeLogs* logs = store->catalog()->logs();
  TCD_ASSIGN_OR_RETURN(uint64_t custody, logs->CentralCosignedSize());
  TCD_RETURN_IF_ERROR(store->catalog()->ForEachSession([&](const node::SessionRecord& rec) {
    auto repl_or = store->catalog()->GetRepl(rec.id);
    if (!repl_or.ok()) return Status::OK();
    node::ReplRecord repl = *repl_or;
    report.sessions_examined += 1;
    if (repl.hold) {
      report.sessions_on_hold += 1;
      return Status::OK();
    }
    if (retention_us <= 0) return Status::OK();
    // Leftovers of a pass interrupted after raising evicted_below.
    if (sweep) TCD_RETURN_IF_ERROR(RemoveBlobs(store, rec.id, 0, repl.evicted_below, &report));
    if (now_us - repl.central_held_us < retention_us) return Status::OK();
    uint64_t upto = repl.evicted_below;
    const uint64_t limit = std::min(repl.central_held, rec.next_seq);
    for (uint64_t seq = repl.evicted_below; seq < limit; ++seq) {
      auto cr = store->catalog()->GetChainEntry(rec.id, seq);
      if (!cr.ok()) break;
      auto e = crypto::DecodeEntry(cr->entry);
      if (!e.ok()) break;
      if (now_us - (e->start_us + e->duration_us) < retention_us) break;
      auto leaf = logs->IndexOfEntry(node::LogId::Own(), rec.id, seq);
      if (!leaf.ok() || !*leaf || **leaf >= custody) break;
      upto = seq + 1;
    }
    if (upto == repl.evicted_below) return Status::OK();
    const uint64_t from = repl.evicted_below;
    std::lock_guard<std::mutex> lock(store->retention_mu());
    bool held_now = false;
    TCD_RETURN_IF_ERROR(store->catalog()->UpdateRepl(
        rec.id,
        [&](node::ReplRecord* r) {
          held_now = r->hold;  // put on hold since we looked: evict nothing
          if (!held_now) r->evicted_below = std::max(r->evicted_below, upto);
        },
        /*sync=*/true));
    if (held_now) return Status::OK();
    const uint64_t before = report.blobs_evicted;
    Status removed = RemoveBlobs(store, rec.id, from, upto, &report);
    if (!removed.ok()) {  // one damaged session must not stop retention for the others
      spdlog::error("retention: session {}: {}", crypto::SessionIdToString(rec.id),
                    removed.ToString());
      report.errors += 1;
      return Status::OK();
    }
    spdlog::info("retention: session {}: evicted {} blobs held by the central archive",
                 crypto::SessionIdToString(rec.id), report.blobs_evicted - before);
    return Status::OK();
  }));
  return report;
}

}  // namespace tcd::replicate
