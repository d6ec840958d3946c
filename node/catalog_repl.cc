// Catalog: the replication column families (repl, outbox, inbox). See catalog.h.
#include <algorithm>

#include "node/catalog.h"
#include "node/catalog_internal.h"

namespace tcd::node {
using namespace internal;
namespace {

constexpr uint8_t kReplVersion = 1;

std::string InboxKey(const WantedBlob& w) {
  std::string k = InboxPrefix(w.peer, &w.session);
  Bytes seq;
  Writer(&seq).U64(w.seq);
  k.append(AsChars(seq));
  return k;
}

Result<WantedBlob> DecodeInbox(const rocksdb::Slice& key, const rocksdb::Slice& value) {
  WantedBlob w;
  Reader kr(FromSlice(key)), vr(FromSlice(value));
  if (!kr.Fixed(&w.peer) || !kr.Fixed(&w.session) || !kr.U64(&w.seq) || !kr.done() ||
      !vr.Fixed(&w.hash) || !vr.U64(&w.size) || !vr.done())
    return Status::Corruption("catalog inbox: malformed record");
  return w;
}

Status NoFamily(const char* name) {
  return Status::NotFound(std::string("catalog has no '") + name +
                          "' column family (written by an older version)");
}

}  // namespace

Bytes EncodeReplRecord(const ReplRecord& r) {
  Bytes out;
  out.reserve(96);
  Writer w(&out);
  w.U8(kReplVersion);
  w.Raw(r.from_peer);
  w.U64(r.up_stored);
  w.U64(r.up_held);
  w.U64(r.central_held);
  w.I64(r.central_held_us);
  w.U8(r.hold ? 1 : 0);
  w.U64(r.evicted_below);
  return out;
}

Result<ReplRecord> DecodeReplRecord(ByteView b) {
  Reader rd(b);
  ReplRecord r;
  uint8_t version = 0, hold = 0;
  if (!rd.U8(&version) || version != kReplVersion)
    return Status::Corruption("repl record: unknown version");
  if (!rd.Fixed(&r.from_peer) || !rd.U64(&r.up_stored) || !rd.U64(&r.up_held) ||
      !rd.U64(&r.central_held) || !rd.I64(&r.central_held_us) || !rd.U8(&hold) || hold > 1 ||
      !rd.U64(&r.evicted_below) || !rd.done())
    return Status::Corruption("repl record: truncated, bad hold flag or trailing bytes");
  r.hold = hold == 1;
  return r;
}

Status Catalog::AppendReplicated(const SessionRecord& record,
                                 const std::vector<std::pair<uint64_t, ChainRecord>>& entries,
                                 const std::vector<std::pair<crypto::Hash256, uint64_t>>& refs,
                                 const std::vector<WantedBlob>& wanted,
                                 const ReplRecord* new_repl) {
  if (!repl_ || !inbox_) return NoFamily("repl");
  std::lock_guard<std::mutex> lock(SessionMutex(record.id));  // until the batch is written
  rocksdb::WriteBatch batch;
  Bytes rec = EncodeSessionRecord(record);
  batch.Put(sessions_, IdKey(record.id), ToSlice(rec));
  std::vector<ByteView> encodings;
  for (const auto& [seq, cr] : entries) {
    Bytes ch = EncodeChainRecord(cr);
    batch.Put(chain_, ChainKey(record.id, seq), ToSlice(ch));
    encodings.push_back(cr.entry);
  }
  // The session's repl record as the batch leaves it.
  const ReplRecord repl = new_repl ? *new_repl : ReplOrDefault(record.id);
  const bool wants = std::any_of(wanted.begin(), wanted.end(), [&](const WantedBlob& w) {
    return w.peer == repl.from_peer && w.session == record.id;
  });
  TCD_RETURN_IF_ERROR(IndexForSearch(&batch, record, encodings, &repl, wants));
  for (const auto& [hash, seq] : refs) {
    Bytes ref(record.id.begin(), record.id.end());
    Writer(&ref).U64(seq);
    batch.Put(blobs_, ToSlice(hash), ToSlice(ref));
  }
  for (const auto& w : wanted) {
    Bytes v(w.hash.begin(), w.hash.end());
    Writer(&v).U64(w.size);
    batch.Put(inbox_, InboxKey(w), ToSlice(v));
  }
  if (new_repl) {
    Bytes rr = EncodeReplRecord(*new_repl);
    batch.Put(repl_, IdKey(record.id), ToSlice(rr));
  }
  return CommitWithOutbox(&batch, record.id,
                          "catalog: store replicated entries of session " +
                              crypto::SessionIdToString(record.id));
}

Status Catalog::BlobArrived(const WantedBlob& w) {
  if (!inbox_) return NoFamily("inbox");
  std::lock_guard<std::mutex> lock(SessionMutex(w.session));
  rocksdb::WriteBatch batch;
  const std::string key = InboxKey(w);
  batch.Delete(inbox_, key);
  RefreshPlace(&batch, w.session, ReplOrDefault(w.session), false, key);  // the last one?
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->Write(wo, &batch), "catalog inbox delete");
}

Result<std::vector<WantedBlob>> Catalog::ListWanted(const crypto::PublicKey& peer, size_t limit,
                                                    const std::optional<WantedBlob>& after) {
  std::vector<WantedBlob> out;
  if (!inbox_) return out;
  const std::string prefix = InboxPrefix(peer, nullptr);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), inbox_));
  if (after) {
    std::string k = InboxKey(*after);
    it->Seek(k);
    if (it->Valid() && it->key() == rocksdb::Slice(k)) it->Next();
  } else {
    it->Seek(prefix);
  }
  for (; it->Valid() && it->key().starts_with(prefix) && out.size() < limit; it->Next()) {
    TCD_ASSIGN_OR_RETURN(WantedBlob w, DecodeInbox(it->key(), it->value()));
    out.push_back(w);
  }
  TCD_RETURN_IF_ERROR(FromRocks(it->status(), "catalog inbox scan"));
  return out;
}

Result<std::optional<uint64_t>> Catalog::FirstWanted(const crypto::PublicKey& peer,
                                                     const crypto::SessionId& session) {
  if (!inbox_) return std::optional<uint64_t>();
  const std::string prefix = InboxPrefix(peer, &session);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), inbox_));
  it->Seek(prefix);
  if (it->Valid() && it->key().starts_with(prefix)) {
    TCD_ASSIGN_OR_RETURN(WantedBlob w, DecodeInbox(it->key(), it->value()));
    return std::optional<uint64_t>(w.seq);
  }
  TCD_RETURN_IF_ERROR(FromRocks(it->status(), "catalog inbox seek"));
  return std::optional<uint64_t>();
}

Status Catalog::MoveWanted(const crypto::SessionId& session, const crypto::PublicKey& from,
                           const crypto::PublicKey& to) {
  if (!inbox_ || !repl_) return NoFamily("inbox");
  std::lock_guard<std::mutex> lock(SessionMutex(session));
  rocksdb::WriteBatch batch;
  const std::string prefix = InboxPrefix(from, &session);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), inbox_));
  bool moved = false;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    TCD_ASSIGN_OR_RETURN(WantedBlob w, DecodeInbox(it->key(), it->value()));
    batch.Delete(inbox_, it->key());
    w.peer = to;
    batch.Put(inbox_, InboxKey(w), it->value());
    moved = true;
  }
  TCD_RETURN_IF_ERROR(FromRocks(it->status(), "catalog inbox scan"));
  auto old = GetRepl(session);
  ReplRecord r = old.ok() ? *old : ReplRecord{};
  r.from_peer = to;
  Bytes v = EncodeReplRecord(r);
  batch.Put(repl_, IdKey(session), ToSlice(v));
  RefreshPlace(&batch, session, r, moved);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->Write(wo, &batch), "catalog: move wanted blobs");
}

Result<std::vector<crypto::Hash256>> Catalog::ListWantedHashes() {
  std::vector<crypto::Hash256> out;
  if (!inbox_) return out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), inbox_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    TCD_ASSIGN_OR_RETURN(WantedBlob w, DecodeInbox(it->key(), it->value()));
    out.push_back(w.hash);
  }
  TCD_RETURN_IF_ERROR(FromRocks(it->status(), "catalog inbox scan"));
  return out;
}

Result<ReplRecord> Catalog::GetRepl(const crypto::SessionId& id) {
  if (!repl_) return NoFamily("repl");
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), repl_, IdKey(id), &v);
  if (s.IsNotFound())
    return Status::NotFound("no replication record for session " +
                            crypto::SessionIdToString(id));
  TCD_RETURN_IF_ERROR(FromRocks(s, "catalog get repl"));
  return DecodeReplRecord(AsBytes(v));
}

Status Catalog::UpdateRepl(const crypto::SessionId& id,
                           const std::function<void(ReplRecord*)>& update, bool sync) {
  if (!repl_) return NoFamily("repl");
  std::lock_guard<std::mutex> lock(SessionMutex(id));
  auto old = GetRepl(id);
  if (!old.ok() && !old.status().IsNotFound()) return old.status();
  ReplRecord r = old.ok() ? *old : ReplRecord{};
  update(&r);
  rocksdb::WriteBatch batch;
  Bytes v = EncodeReplRecord(r);
  batch.Put(repl_, IdKey(id), ToSlice(v));
  RefreshPlace(&batch, id, r, false);
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  return FromRocks(db_->Write(wo, &batch), "catalog put repl");
}

Status Catalog::AddToOutbox(const crypto::SessionId& id) {
  if (!outbox_) return NoFamily("outbox");
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->Put(wo, outbox_, IdKey(id), ""), "catalog outbox put");
}

Status Catalog::RemoveBlobRef(const crypto::Hash256& h) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->Delete(wo, blobs_, ToSlice(h)), "catalog blob reference delete");
}

Result<std::vector<crypto::SessionId>> Catalog::ListOutbox(
    size_t limit, const std::optional<crypto::SessionId>& after) {
  std::vector<crypto::SessionId> out;
  if (!outbox_) return out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), outbox_));
  if (after) {
    std::string k = IdKey(*after);
    it->Seek(k);
    if (it->Valid() && it->key() == rocksdb::Slice(k)) it->Next();
  } else {
    it->SeekToFirst();
  }
  for (; it->Valid() && out.size() < limit; it->Next()) {
    crypto::SessionId id;
    if (it->key().size() != id.size()) return Status::Corruption("catalog outbox: bad key");
    std::copy(it->key().data(), it->key().data() + id.size(), id.begin());
    out.push_back(id);
  }
  TCD_RETURN_IF_ERROR(FromRocks(it->status(), "catalog outbox scan"));
  return out;
}

Status Catalog::RemoveFromOutbox(const crypto::SessionId& id, uint64_t next_seq) {
  if (!outbox_) return NoFamily("outbox");
  std::lock_guard<std::mutex> lock(outbox_mu_);
  TCD_ASSIGN_OR_RETURN(SessionRecord rec, GetSession(id));
  if (rec.next_seq != next_seq) return Status::OK();
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->Delete(wo, outbox_, IdKey(id)), "catalog outbox delete");
}

}  // namespace tcd::node
