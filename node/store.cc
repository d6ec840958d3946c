#include "node/store.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "node/blob_match.h"

namespace tcd::node {

// At most one blob per session being recorded can be durable without its catalog entry.
constexpr size_t kMaxOrphans = 64;

Result<std::unique_ptr<Store>> Store::Open(Env* env, const std::string& dir,
                                           const StoreOptions& options) {
  std::unique_ptr<Store> s(new Store());
  s->env_ = env;
  s->dir_ = dir;
  s->options_ = options;
  s->min_free_bytes_ = options.min_free_bytes;
  const bool has_catalog = env->FileExists(dir + "/catalog/CURRENT");
  if (options.read_only && !has_catalog)
    return Status::NotFound("no archive at '" + dir + "' (no catalog/ inside)");
  if (!options.read_only) TCD_RETURN_IF_ERROR(env->CreateDirs(dir + "/catalog"));
  // On an existing archive Open creates nothing, so read-only media work too.
  TCD_ASSIGN_OR_RETURN(s->blobs_, BlobStore::Open(env, dir + "/blobs"));
  if (!has_catalog && !options.read_only) {
    // A new, empty catalog next to existing blobs would orphan every one of them.
    TCD_ASSIGN_OR_RETURN(auto present, s->blobs_->List());
    if (!present.empty())
      return Status::Corruption(
          "the catalog of '" + dir + "' is missing but its blobs/ holds " +
          std::to_string(present.size()) + " blob files: refusing to start with an empty "
          "catalog (restore " + dir + "/catalog from a backup)");
  }
  TCD_ASSIGN_OR_RETURN(s->catalog_, Catalog::Open(dir + "/catalog", options.read_only,
                                                  !has_catalog && !options.read_only));
  if (!has_catalog && !options.read_only) TCD_RETURN_IF_ERROR(env->SyncDir(dir));
  s->catalog_->set_track_outbox(options.track_outbox && !options.read_only);
  if (!options.read_only && !options.role.empty())
    TCD_RETURN_IF_ERROR(s->catalog_->SetRole(options.role));
  if (!options.read_only) TCD_RETURN_IF_ERROR(s->Recover());
  return s;
}

Status Store::Recover() {
  TCD_ASSIGN_OR_RETURN(recovery_.temp_files_removed, blobs_->CleanTemp());
  // Replicated entries whose blob is still being fetched are referenced but expected absent.
  TCD_ASSIGN_OR_RETURN(auto wanted, catalog_->ListWantedHashes());
  std::sort(wanted.begin(), wanted.end());
  // The catalog's references are merged with the blob files one shard at a time (MatchBlobs):
  // an archive holds tens of millions of blobs, and sets of them all took 2.3 GB and 7 s at
  // every writable open of 11,000,000.
  TCD_ASSIGN_OR_RETURN(
      BlobMatch m,
      MatchBlobs([&](const auto& fn) { return catalog_->ForEachBlobRef(fn); },
                 [&](uint8_t first) { return blobs_->ListShard(first); }, wanted,
                 kMaxOrphans, RecoveryReport::kMissingNamed));
  // A blob without a catalog entry was written just before a crash: its entry was never
  // committed, so nothing acknowledged it. There is at most one per session being recorded;
  // many more means the catalog is not the one these blobs belong to (an old backup?): then
  // nothing is touched and the operator decides.
  if (m.orphan_count > kMaxOrphans)
    return Status::Corruption(std::to_string(m.orphan_count) + " blob files in " + dir_ +
                              "/blobs are not in the catalog: is the catalog older than the "
                              "blobs (restored from a backup)? Refusing to start");
  for (const auto& h : m.orphans) {
    spdlog::warn("recovery: quarantining blob {} (written just before a crash; its catalog "
                 "entry never committed)", ToHex(h));
    TCD_RETURN_IF_ERROR(blobs_->Quarantine(h, "orphan: catalog entry never committed"));
    ++recovery_.orphan_blobs_removed;
  }
  recovery_.missing_blob_count = m.missing_count;
  for (const auto& h : m.missing) {
    spdlog::error("recovery: blob {} is referenced by the catalog but missing on disk", ToHex(h));
    recovery_.missing_blobs.push_back(ToHex(h));
  }
  if (recovery_.missing_blob_count > RecoveryReport::kMissingNamed)
    spdlog::error("recovery: {} blobs referenced by the catalog are missing on disk in all (the "
                  "first {} named above); `tcd verify --data DIR` names the sessions they belong to",
                  recovery_.missing_blob_count, RecoveryReport::kMissingNamed);
  return catalog_->ForEachSession([&](const SessionRecord& found) {
    if (found.state != SessionState::kRecording) return Status::OK();
    // A session received from another node is still being recorded there: its seal (or the
    // recorder's recovery note) arrives by replication.
    auto repl = catalog_->GetRepl(found.id);
    if (repl.ok() && repl->from_peer != crypto::PublicKey{}) return Status::OK();
    // We hold the catalog's write lock, so no recorder is appending to it any more.
    SessionRecord r = found;
    r.state = SessionState::kUnsealed;
    TCD_RETURN_IF_ERROR(catalog_->PutSession(r));
    std::string id = crypto::SessionIdToString(r.id);
    spdlog::warn("recovery: session {} was not sealed (recorder stopped uncleanly after {} "
                 "entries); marked unsealed", id, r.next_seq);
    recovery_.sessions_unsealed.push_back(id);
    return Status::OK();
  });
}

Status Store::Append(const SessionRecord& record, const crypto::ChainEntry& entry,
                     const crypto::Signature& sig, std::optional<ByteView> blob) {
  // Media and new sessions stop at the threshold; the small entries that close a session
  // (gap, seal) still go in, so a full disk ends a recording sealed instead of cut off.
  if (blob || entry.kind == crypto::EntryKind::kOpen) {
    TCD_ASSIGN_OR_RETURN(uint64_t free_bytes, env_->FreeBytes(dir_));
    const uint64_t min_free = min_free_bytes_.load();
    if (free_bytes < min_free)
      return Status::NoSpace("disk nearly full at " + dir_ + ": " +
                             std::to_string(free_bytes >> 20) + " MiB free, " +
                             std::to_string(min_free >> 20) +
                             " MiB required (--min-free-mb)");
  }
  if (record.next_seq != entry.seq + 1 || record.id != entry.session)
    return Status::InvalidArgument("session summary does not match entry seq " +
                                   std::to_string(entry.seq));
  // A signed entry is never overwritten: after an ambiguous failure (the batch may have
  // reached the disk although the write reported an error) the caller must not re-sign the
  // same seq with other content.
  TCD_ASSIGN_OR_RETURN(bool exists, catalog_->HasChainEntry(entry.session, entry.seq));
  if (exists)
    return Status::Corruption("session " + crypto::SessionIdToString(entry.session) + " seq " +
                              std::to_string(entry.seq) +
                              " is already stored: refusing to overwrite a signed entry");
  std::optional<crypto::Hash256> blob_hash;
  if (blob) {
    if (blob->size() != entry.cipher_size)
      return Status::Corruption("blob size differs from the entry's cipher_size at seq " +
                                std::to_string(entry.seq));
    // The entry's cipher_hash was computed from these bytes by the caller (ChainWriter).
    TCD_ASSIGN_OR_RETURN(blob_hash, blobs_->Put(*blob, entry.cipher_hash));
  }
  TCD_RETURN_IF_ERROR(env_->CrashPoint("catalog-commit"));
  ChainRecord cr{crypto::EncodeEntry(entry), sig};
  TCD_RETURN_IF_ERROR(catalog_->Append(record, entry.seq, cr, blob_hash));
  return env_->CrashPoint("after-catalog-commit");
}

Result<crypto::SessionId> Store::ResolveSession(const std::string& text) {
  auto exact = crypto::SessionIdFromString(text);
  if (exact.ok()) return exact;
  std::string want;
  for (char c : text)
    if (c != '-') want.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (want.size() < 4) return Status::InvalidArgument("session id '" + text + "' is too short");
  std::vector<crypto::SessionId> hits;
  TCD_RETURN_IF_ERROR(catalog_->ForEachSession([&](const SessionRecord& r) {
    if (ToHex(r.id).rfind(want, 0) == 0) hits.push_back(r.id);
    return Status::OK();
  }));
  if (hits.empty()) return Status::NotFound("no session matching '" + text + "' in " + dir_);
  if (hits.size() > 1)
    return Status::InvalidArgument("session id '" + text + "' is ambiguous (" +
                                   std::to_string(hits.size()) + " sessions match)");
  return hits[0];
}

}  // namespace tcd::node
