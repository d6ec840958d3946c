#include "node/verifier.h"

#include <algorithm>
#include <set>

#include "node/blob_prefetch.h"
#include "node/store.h"

namespace tcd::node {
namespace {

using crypto::EntryKind;

// Walks the chain; each Check* returns false after recording the problem in the report.
class ChainWalker {
 public:
  ChainWalker(const crypto::SessionId& id, const BlobChecker& check_blob, VerifyReport* r,
              uint64_t evicted_below)
      : id_(id), check_blob_(check_blob), evicted_below_(evicted_below), r_(r) {}

  bool Visit(uint64_t key_seq, const ChainRecord& rec) {
    if (key_seq != next_)
      return Fail(key_seq > next_ ? Problem::kMissingEntry : Problem::kOutOfOrder, next_,
                  key_seq > next_ ? "entry missing from the chain"
                                  : "duplicate entry position");
    auto decoded = crypto::DecodeEntry(rec.entry);
    if (!decoded.ok()) return Fail(Problem::kBadEntry, key_seq, decoded.status().message());
    const crypto::ChainEntry& e = *decoded;
    if (closed_ && e.kind != EntryKind::kAnnotation)
      return Fail(Problem::kBadEntry, key_seq,
                  std::string(crypto::EntryKindName(e.kind)) + " entry after the session was "
                  "closed (only annotations may follow a seal)");
    if (e.seq != key_seq || e.session != id_)
      return Fail(Problem::kOutOfOrder, key_seq,
                  "position " + std::to_string(key_seq) + " holds entry seq " +
                      std::to_string(e.seq) +
                      (e.session != id_ ? " of another session" : ""));
    if (!CheckKind(e)) return false;
    if (e.prev_hash != prev_)
      return Fail(Problem::kBrokenLink, key_seq, "prev_hash is not the hash of entry " +
                                                     std::to_string(key_seq - 1));
    crypto::Hash256 h = crypto::EntryHash(e);
    if (!crypto::VerifyHead(r_->signer_pk, id_, e.seq, h, rec.signature))
      return Fail(Problem::kBadSignature, key_seq,
                  "signature does not verify with signer key " + r_->signer_key_id);
    if (!CheckBlob(e) || !CheckSeal(e) || !CheckNotes(e)) return false;
    if (e.kind == EntryKind::kSegment) {
      r_->segments++;
      if (e.duration_us < 0 ||
          __builtin_add_overflow(r_->media_duration_us, e.duration_us, &r_->media_duration_us))
        return Fail(Problem::kBadEntry, key_seq, "segment duration out of range");
    }
    if (e.kind == EntryKind::kGap) r_->gaps++;
    prev_ = h;
    r_->head_hash = h;
    r_->entries = ++next_;
    return true;
  }

  uint64_t next() const { return next_; }
  bool closed() const { return closed_; }  // sealed or closed by recovery

  bool Fail(Problem p, uint64_t seq, std::string detail) {
    r_->problem = p;
    r_->bad_seq = seq;
    r_->detail = std::move(detail);
    return false;
  }

 private:
  bool CheckKind(const crypto::ChainEntry& e) {
    if ((e.seq == 0) != (e.kind == EntryKind::kOpen))
      return Fail(Problem::kBadEntry, e.seq, e.seq == 0 ? "first entry is not an open entry"
                                                        : "open entry after seq 0");
    if (e.kind != EntryKind::kOpen) return true;
    auto body = crypto::DecodeOpenBody(e.body);
    if (!body.ok()) return Fail(Problem::kBadEntry, 0, body.status().message());
    r_->signer_pk = body->signer_pk;
    r_->meta = body->meta;
    r_->start_us = e.start_us;
    r_->signer_key_id = crypto::KeyId(body->signer_pk);
    return true;
  }

  bool CheckBlob(const crypto::ChainEntry& e) {
    if (e.kind != EntryKind::kInit && e.kind != EntryKind::kSegment) {
      if (e.cipher_hash != crypto::Hash256{} || e.plain_hash != crypto::Hash256{} ||
          e.cipher_size != 0 || e.plain_size != 0)
        return Fail(Problem::kBadEntry, e.seq, "a non-media entry carries blob hashes or sizes");
      return true;
    }
    auto run = crypto::DecodeRunBody(e.body);
    if (!run.ok()) return Fail(Problem::kBadEntry, e.seq, run.status().message());
    if (e.kind == EntryKind::kInit) runs_.insert(*run);
    else if (!runs_.count(*run))
      return Fail(Problem::kBadEntry, e.seq,
                  "segment of run " + std::to_string(*run) + " without an earlier init entry");
    if (e.cipher_size != e.plain_size + crypto::kBlobOverhead)
      return Fail(Problem::kBadEntry, e.seq, "cipher_size is not plain_size + 46");
    auto blob = check_blob_(e.cipher_hash, e.cipher_size);
    if (!blob.ok()) {
      if (blob.status().IsNotFound() && e.seq < evicted_below_) {
        r_->evicted += 1;
        return true;
      }
      if (blob.status().IsNotFound())
        return Fail(Problem::kMissingSegment, e.seq,
                    std::string(crypto::EntryKindName(e.kind)) + " blob " +
                        ToHex(e.cipher_hash) + " is missing");
      return Fail(Problem::kHashMismatch, e.seq, blob.status().message());
    }
    if (!*blob)
      return Fail(Problem::kHashMismatch, e.seq,
                  std::string(crypto::EntryKindName(e.kind)) + " blob " +
                      ToHex(e.cipher_hash) + ": content does not match the signed hash");
    return true;
  }

  bool CheckSeal(const crypto::ChainEntry& e) {
    if (e.kind != EntryKind::kSeal) return true;
    auto body = crypto::DecodeSealBody(e.body);
    if (!body.ok()) return Fail(Problem::kBadEntry, e.seq, body.status().message());
    if (body->segments != r_->segments || body->media_duration_us != r_->media_duration_us)
      return Fail(Problem::kSealMismatch, e.seq,
                  "seal counts " + std::to_string(body->segments) + " segments but the chain "
                  "holds " + std::to_string(r_->segments));
    closed_ = true;
    r_->sealed = true;
    r_->seal_reason = crypto::SealReasonName(body->reason);
    return true;
  }

  bool CheckNotes(const crypto::ChainEntry& e) {
    if (e.kind == EntryKind::kGap && (e.duration_us < 0 || !IsValidUtf8(e.body)))
      return Fail(Problem::kBadEntry, e.seq, "gap entry with a negative length or non-UTF-8 reason");
    if (e.kind == EntryKind::kAnnotation) {
      auto meta = crypto::DecodeMetaBody(e.body);
      if (!meta.ok()) return Fail(Problem::kBadEntry, e.seq, meta.status().message());
      r_->annotations.push_back({e.seq, e.start_us, std::move(meta).value()});
    } else if (e.kind == EntryKind::kRecoveryClose) {
      closed_ = true;
      r_->recovered = true;
      r_->recovery_note.assign(e.body.begin(), e.body.end());
    }
    return true;
  }

  const crypto::SessionId& id_;
  const BlobChecker& check_blob_;
  const uint64_t evicted_below_;
  VerifyReport* r_;
  uint64_t next_ = 0;
  crypto::Hash256 prev_{};
  bool closed_ = false;
  std::set<uint32_t> runs_;  // runs whose init entry has been seen
};

}  // namespace

const char* ProblemName(Problem p) {
  switch (p) {
    case Problem::kNone: return "none";
    case Problem::kBadEntry: return "bad-entry";
    case Problem::kMissingEntry: return "missing-entry";
    case Problem::kOutOfOrder: return "out-of-order";
    case Problem::kBrokenLink: return "broken-link";
    case Problem::kBadSignature: return "bad-signature";
    case Problem::kMissingSegment: return "missing-segment";
    case Problem::kHashMismatch: return "hash-mismatch";
    case Problem::kUnsealed: return "unsealed";
    case Problem::kSealMismatch: return "seal-mismatch";
    case Problem::kCatalogMismatch: return "catalog-mismatch";
    case Problem::kUntrustedSigner: return "untrusted-signer";
  }
  return "unknown";
}

VerifyReport VerifyChain(const crypto::SessionId& session,
                         const std::vector<std::pair<uint64_t, ChainRecord>>& chain,
                         std::optional<uint64_t> expected_entries, const BlobChecker& check_blob,
                         const VerifyOptions& options) {
  VerifyReport r;
  r.session = session;
  ChainWalker walker(session, check_blob, &r, options.evicted_below);
  for (const auto& [seq, rec] : chain) {
    if (!walker.Visit(seq, rec)) return r;
    if (seq == 0 && !options.trusted_signers.empty() &&
        std::find(options.trusted_signers.begin(), options.trusted_signers.end(),
                  r.signer_pk) == options.trusted_signers.end()) {
      walker.Fail(Problem::kUntrustedSigner, 0,
                  "signed by key " + r.signer_key_id + ", which is not a trusted signer");
      return r;
    }
  }
  if (walker.next() == 0) {
    walker.Fail(Problem::kMissingEntry, 0, "the session has no open entry");
    return r;
  }
  if (expected_entries && *expected_entries > walker.next()) {
    walker.Fail(walker.closed() ? Problem::kMissingEntry : Problem::kUnsealed, walker.next(),
                "chain cut off: the catalog lists " + std::to_string(*expected_entries) +
                    " entries but only " + std::to_string(walker.next()) + " are present");
    return r;
  }
  if (!walker.closed()) {
    walker.Fail(Problem::kUnsealed, walker.next(),
                "not sealed: the chain ends after seq " + std::to_string(walker.next() - 1) +
                    " (recording interrupted or truncated); it verifies up to there");
    return r;
  }
  r.ok = true;
  return r;
}

// The catalog's summary is not evidence, but it is what `tcd sessions` shows: it must say what
// the signed chain says.
static std::string CatalogDisagreement(const SessionRecord& rec, const VerifyReport& r) {
  std::string point;
  for (const auto& [k, v] : r.meta)
    if (k == "point") point = v;
  if (rec.next_seq != r.entries) return "entries " + std::to_string(rec.next_seq);
  if (rec.head_hash != r.head_hash) return "head_hash";
  if (rec.segments != r.segments) return "segments " + std::to_string(rec.segments);
  if (rec.media_duration_us != r.media_duration_us) return "media duration";
  if (rec.gaps != r.gaps) return "gaps " + std::to_string(rec.gaps);
  if (rec.start_us != r.start_us) return "start time";
  if (rec.point != point) return "point '" + rec.point + "'";
  bool state_ok = r.recovered ? rec.state == SessionState::kRecovered
                  : r.sealed  ? rec.state == SessionState::kSealed
                              : rec.state != SessionState::kSealed &&
                                    rec.state != SessionState::kRecovered;
  if (!state_ok) return std::string("state ") + SessionStateName(rec.state);
  return "";
}

Result<VerifyReport> VerifySession(Store* store, const crypto::SessionId& session,
                                   const VerifyOptions& options) {
  auto rec = store->catalog()->GetSession(session);
  TCD_ASSIGN_OR_RETURN(auto chain, store->catalog()->GetChain(session));
  // Blobs are read and hashed ahead of the walk on every core (BlobPrefetcher).
  static const decltype(chain) kNoBlobs;  // both arms lvalues: the chain is not copied
  BlobPrefetcher prefetch(store->blobs(), options.blob_contents ? chain : kNoBlobs);
  BlobChecker checker = [&](const crypto::Hash256& h, uint64_t size) -> Result<bool> {
    if (options.blob_contents) return prefetch.Check(h, size);
    TCD_ASSIGN_OR_RETURN(uint64_t got, store->blobs()->Size(h));
    return got == size;
  };
  std::optional<uint64_t> expected;
  if (rec.ok()) expected = rec->next_seq;
  VerifyOptions opts = options;
  if (auto repl = store->catalog()->GetRepl(session); repl.ok())
    opts.evicted_below = repl->evicted_below;
  VerifyReport r = VerifyChain(session, chain, expected, checker, opts);
  // A chain problem (a cut-off tail included) is the finding; the summary is compared only
  // with a chain that verifies (or ends unsealed where the catalog says it ends).
  if (!r.ok && (r.problem != Problem::kUnsealed || (rec.ok() && rec->next_seq != r.entries)))
    return r;
  std::string why = rec.ok() ? CatalogDisagreement(*rec, r)
                             : "its catalog record is unreadable: " + rec.status().message();
  if (!why.empty()) {
    r.ok = false;
    r.problem = Problem::kCatalogMismatch;
    r.bad_seq.reset();
    r.detail = "the catalog's summary disagrees with the signed chain (" + why +
               "): the catalog was altered or damaged; the chain itself verifies";
  }
  return r;
}

Result<SessionNotes> ReadSessionNotes(Store* store, const crypto::SessionId& session) {
  TCD_ASSIGN_OR_RETURN(auto chain, store->catalog()->GetChain(session));
  SessionNotes notes;
  for (const auto& [seq, rec] : chain) {
    auto e = crypto::DecodeEntry(rec.entry);
    if (!e.ok()) continue;  // reported by verify; listing shows what it can read
    if (e->kind == EntryKind::kOpen) {
      auto body = crypto::DecodeOpenBody(e->body);
      if (!body.ok()) continue;
      notes.signer_key_id = crypto::KeyId(body->signer_pk);
      notes.meta = body->meta;
    } else if (e->kind == EntryKind::kAnnotation) {
      auto meta = crypto::DecodeMetaBody(e->body);
      if (meta.ok()) notes.annotations.push_back({seq, e->start_us, std::move(meta).value()});
    }
  }
  return notes;
}

}  // namespace tcd::node
