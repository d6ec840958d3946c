#include "node/node_log.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <map>

#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "crypto/note.h"
#include "node/catalog_internal.h"

namespace tcd::node {
using namespace internal;
namespace {

constexpr std::string_view kLeafDomain("tcd/log-leaf/v1\0", 16);

// Keys within a log's prefix (docs/FORMAT.md §Store layout, log).
std::string SizeKey(const LogId& log) { return log.prefix + "S"; }
// log.prefix || kind || u64 n (and, for hashes, the level byte before n).
std::string NumberedKey(const LogId& log, char kind, uint64_t n, int level = -1) {
  Bytes k;
  Writer w(&k);
  w.Raw(log.prefix);
  w.U8(static_cast<uint8_t>(kind));
  if (level >= 0) w.U8(static_cast<uint8_t>(level));
  w.U64(n);
  return std::string(AsChars(k));
}
std::string LeafKey(const LogId& log, uint64_t index) { return NumberedKey(log, 'L', index); }
std::string HashKey(const LogId& log, int level, uint64_t index) {
  return NumberedKey(log, 'H', index, level);
}
std::string CheckpointKey(const LogId& log, uint64_t size) { return NumberedKey(log, 'C', size); }
std::string EntryKey(const LogId& log, const crypto::SessionId& session, uint64_t seq) {
  return log.prefix + "E" + ChainKey(session, seq);
}
std::string CheckpointLeafKey(const LogId& log, const crypto::Hash256& leaf_hash) {
  return log.prefix + "B" + std::string(reinterpret_cast<const char*>(leaf_hash.data()), 32);
}
std::string U64Value(uint64_t v) {
  Bytes b;
  Writer(&b).U64(v);
  return std::string(AsChars(b));
}

std::string Describe(const LogId& log) {
  if (log.prefix.size() == 1) return "node log";
  crypto::PublicKey pk;
  std::copy(log.prefix.begin() + 1, log.prefix.end(), pk.begin());
  return "log copy of " + LogOrigin(pk);
}

}  // namespace

Bytes EntryLeaf(const crypto::SessionId& session, uint64_t seq, const crypto::Hash256& entry_hash) {
  Bytes b;
  Writer w(&b);
  w.Raw(kLeafDomain);
  w.U8(kLeafEntry);
  w.Raw(session);
  w.U64(seq);
  w.Raw(entry_hash);
  return b;
}

Bytes CheckpointLeaf(std::string_view checkpoint_body) {
  Bytes b;
  Writer w(&b);
  w.Raw(kLeafDomain);
  w.U8(kLeafCheckpoint);
  w.Str16(checkpoint_body);
  return b;
}

Result<ParsedLeaf> ParseLeaf(ByteView leaf) {
  ParsedLeaf p;
  Reader r(leaf);
  ByteView domain;
  if (!r.Raw(kLeafDomain.size(), &domain) || AsChars(domain) != kLeafDomain)
    return Status::Corruption("leaf: does not start with \"tcd/log-leaf/v1\" 0x00");
  if (!r.U8(&p.kind)) return Status::Corruption("leaf: no kind");
  if (p.kind == kLeafEntry) {
    if (!r.Fixed(&p.session) || !r.U64(&p.seq) || !r.Fixed(&p.entry_hash) || !r.done())
      return Status::Corruption("leaf: an entry leaf is 73 bytes, this one " +
                                std::to_string(leaf.size()));
  } else if (p.kind == kLeafCheckpoint) {
    if (!r.Str16(&p.checkpoint) || !r.done())
      return Status::Corruption("leaf: a checkpoint leaf's length does not match its bytes");
  } else {
    return Status::Corruption("leaf: unknown kind " + std::to_string(p.kind));
  }
  return p;
}

std::string LogOrigin(const crypto::PublicKey& sign_pk) {
  return "tcd-archive/" + crypto::KeyId(sign_pk);
}

LogId LogId::Own() { return LogId{std::string(1, '\0')}; }
LogId LogId::Of(const crypto::PublicKey& signer) {
  return LogId{"\x01" + std::string(reinterpret_cast<const char*>(signer.data()), signer.size())};
}

Result<uint64_t> NodeLogs::Size(const LogId& log) {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_, SizeKey(log), &v);
  if (s.IsNotFound()) return uint64_t{0};
  TCD_RETURN_IF_ERROR(FromRocks(s, Describe(log) + ": read its size"));
  uint64_t n = 0;
  Reader r(AsBytes(v));
  if (!r.U64(&n) || !r.done()) return Status::Corruption(Describe(log) + ": damaged size record");
  return n;
}

Result<crypto::Hash256> NodeLogs::ReadHash(const LogId& log, int level, uint64_t index) {
  std::string v;
  const std::string what = Describe(log) + ": hash " + std::to_string(level) + "/" +
                           std::to_string(index);
  TCD_RETURN_IF_ERROR(FromRocks(db_->Get(rocksdb::ReadOptions(), cf_, HashKey(log, level, index),
                                         &v), what));
  if (v.size() != 32) return Status::Corruption(what + " is damaged");
  crypto::Hash256 h;
  std::copy(v.begin(), v.end(), h.begin());
  return h;
}

Status NodeLogs::CheckSize(const LogId& log, uint64_t size, const std::string& what) {
  TCD_ASSIGN_OR_RETURN(uint64_t n, Size(log));
  if (size == 0 || size > n)
    return Status::InvalidArgument(Describe(log) + " has " + std::to_string(n) +
                                   " leaves: no " + what + " at size " + std::to_string(size));
  return Status::OK();
}

Result<crypto::Hash256> NodeLogs::AddLeaves(rocksdb::WriteBatch* batch, const LogId& log,
                                            const std::vector<Bytes>& leaves) {
  TCD_ASSIGN_OR_RETURN(uint64_t n, Size(log));
  std::map<std::pair<int, uint64_t>, crypto::Hash256> added;  // hashes not yet in the db
  auto get = [&](int level, uint64_t index) -> Result<crypto::Hash256> {
    auto it = added.find({level, index});
    if (it != added.end()) return it->second;
    return ReadHash(log, level, index);
  };
  for (const Bytes& leaf : leaves) {
    const crypto::Hash256 leaf_hash = crypto::merkle::LeafHash(leaf);
    TCD_ASSIGN_OR_RETURN(auto made, crypto::merkle::NewSubtrees(n, leaf_hash, get));
    for (size_t k = 0; k < made.size(); ++k) {
      added[{static_cast<int>(k), n >> k}] = made[k];
      batch->Put(cf_, HashKey(log, static_cast<int>(k), n >> k), ToSlice(made[k]));
    }
    batch->Put(cf_, LeafKey(log, n), ToSlice(leaf));
    if (auto p = ParseLeaf(leaf); p.ok() && p->kind == kLeafEntry)
      batch->Put(cf_, EntryKey(log, p->session, p->seq), U64Value(n));
    else if (p.ok() && p->kind == kLeafCheckpoint)
      batch->Put(cf_, CheckpointLeafKey(log, leaf_hash), U64Value(n));
    ++n;
  }
  batch->Put(cf_, SizeKey(log), U64Value(n));
  if (n == 0) return crypto::merkle::EmptyRoot();
  return crypto::merkle::RootOf(n, get);
}

Status NodeLogs::Append(const LogId& log, const std::vector<Bytes>& leaves) {
  rocksdb::WriteBatch batch;
  auto lock = Lock();
  TCD_RETURN_IF_ERROR(AddLeaves(&batch, log, leaves).status());
  return Write(&batch, Describe(log) + ": append " + std::to_string(leaves.size()) + " leaves");
}

Status NodeLogs::AppendVerified(const LogId& log, const std::vector<Bytes>& leaves,
                                const crypto::Hash256& root, const std::string& note,
                                const Bytes* own_leaf) {
  rocksdb::WriteBatch batch;
  auto lock = Lock();
  TCD_ASSIGN_OR_RETURN(uint64_t n, Size(log));
  TCD_ASSIGN_OR_RETURN(crypto::Hash256 got, AddLeaves(&batch, log, leaves));
  if (got != root)
    return Status::Aborted(Describe(log) + ": the " + std::to_string(leaves.size()) +
                              " leaves after " + std::to_string(n) +
                              " do not lead to the checkpoint's root hash");
  batch.Put(cf_, CheckpointKey(log, n + leaves.size()), note);
  if (own_leaf) TCD_RETURN_IF_ERROR(AddLeaves(&batch, LogId::Own(), {*own_leaf}).status());
  return Write(&batch, Describe(log) + ": store the cosigned checkpoint of size " +
                           std::to_string(n + leaves.size()));
}

Status NodeLogs::Write(rocksdb::WriteBatch* batch, const std::string& what) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->Write(wo, batch), what);
}

Status NodeLogs::PutSplitView(const SplitView& v) {
  // One record per distinct contradicting note (a sender retrying the same one adds nothing),
  // at most kMaxSplitViews per log: evidence, not a way for a node to fill the disk.
  const std::string prefix = "\x02" + LogId::Of(v.signer).prefix.substr(1);
  const crypto::Hash256 digest = crypto::Blake2b256(AsBytes(v.note));
  Bytes k(prefix.begin(), prefix.end());
  Writer kw(&k);
  kw.U64(v.size);
  kw.Raw(ByteView(digest).first(8));
  std::string existing;
  rocksdb::Status g = db_->Get(rocksdb::ReadOptions(), cf_, ToSlice(k), &existing);
  if (g.ok()) return Status::OK();
  TCD_RETURN_IF_ERROR(FromRocks(g.IsNotFound() ? rocksdb::Status::OK() : g, "read split views"));
  size_t kept = 0;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) ++kept;
  if (kept >= kMaxSplitViews) return Status::OK();
  Bytes val;
  Writer vw(&val);
  vw.I64(v.seen_us);
  vw.Str16(v.why.substr(0, 4096));
  vw.Raw(v.note);
  rocksdb::WriteBatch batch;
  batch.Put(cf_, ToSlice(k), ToSlice(val));
  return Write(&batch, "keep the split view of " + LogOrigin(v.signer) + " at size " +
                           std::to_string(v.size));
}

Result<std::vector<NodeLogs::SplitView>> NodeLogs::SplitViews() {
  std::vector<SplitView> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_));
  for (it->Seek("\x02"); it->Valid() && it->key()[0] == 2; it->Next()) {
    SplitView v;
    Reader k(FromSlice(it->key()).subspan(1));
    Reader r(FromSlice(it->value()));
    ByteView digest, rest;
    if (!k.Fixed(&v.signer) || !k.U64(&v.size) || !k.Raw(8, &digest) || !k.done() ||
        !r.I64(&v.seen_us) || !r.Str16(&v.why) || !r.Raw(r.remaining(), &rest))
      return Status::Corruption("node logs: damaged split-view record");
    v.note.assign(AsChars(rest));
    out.push_back(std::move(v));
  }
  TCD_RETURN_IF_ERROR(FromRocks(it->status(), "node logs: list split views"));
  return out;
}

Result<uint64_t> NodeLogs::CentralCosignedSize() {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_, LogId::Own().prefix + "Z", &v);
  if (s.IsNotFound()) return uint64_t{0};
  TCD_RETURN_IF_ERROR(FromRocks(s, "node log: read the size the central tier cosigned"));
  uint64_t n = 0;
  Reader r(AsBytes(v));
  if (!r.U64(&n) || !r.done()) return Status::Corruption("node log: damaged central size");
  return n;
}

Result<uint64_t> NodeLogs::UpstreamSize(const LogId& log) {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_, log.prefix + "U", &v);
  if (s.IsNotFound()) return uint64_t{0};
  TCD_RETURN_IF_ERROR(FromRocks(s, "node log: read the upstream's cosigned size"));
  uint64_t n = 0;
  Reader r(AsBytes(v));
  if (!r.U64(&n) || !r.done()) return Status::Corruption("node log: damaged upstream size");
  return n;
}

Status NodeLogs::PutUpstreamCosigned(const LogId& log, uint64_t size, const std::string& note,
                                     bool further_up) {
  auto lock = Lock();  // against SignOwnCheckpointAt writing the same size
  TCD_ASSIGN_OR_RETURN(auto kept, CheckpointAt(log, size));
  TCD_ASSIGN_OR_RETURN(uint64_t up, UpstreamSize(log));
  TCD_ASSIGN_OR_RETURN(uint64_t central, CentralCosignedSize());
  const bool raise_up = size > up, raise_central = further_up && size > central;
  if (kept == note && !raise_up && !raise_central) return Status::OK();  // nothing new
  rocksdb::WriteBatch batch;  // sizes only ever rise: an older answer does not lower them
  batch.Put(cf_, CheckpointKey(log, size), note);
  if (raise_up) batch.Put(cf_, log.prefix + "U", U64Value(size));
  if (raise_central) batch.Put(cf_, LogId::Own().prefix + "Z", U64Value(size));
  return Write(&batch, Describe(log) + ": keep the upstream's cosignature of size " +
                           std::to_string(size));
}

Result<std::optional<uint64_t>> NodeLogs::IndexOfCheckpoint(const LogId& log,
                                                            std::string_view body) {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_,
                               CheckpointLeafKey(log, crypto::merkle::LeafHash(
                                                          CheckpointLeaf(body))),
                               &v);
  if (s.IsNotFound()) return std::optional<uint64_t>();
  TCD_RETURN_IF_ERROR(FromRocks(s, Describe(log) + ": read the leaf index of a checkpoint"));
  uint64_t i = 0;
  Reader r(AsBytes(v));
  if (!r.U64(&i) || !r.done())
    return Status::Corruption(Describe(log) + ": damaged leaf index of a checkpoint");
  return std::optional<uint64_t>(i);
}

Result<std::optional<std::pair<uint64_t, std::string>>> NodeLogs::CheckpointAtOrBelow(
    const LogId& log, uint64_t size) {
  const std::string prefix = log.prefix + "C";
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_));
  it->SeekForPrev(CheckpointKey(log, size));
  TCD_RETURN_IF_ERROR(FromRocks(it->status(), Describe(log) + ": find a checkpoint"));
  if (!it->Valid() || !it->key().starts_with(prefix))
    return std::optional<std::pair<uint64_t, std::string>>();
  uint64_t n = 0;
  Reader r(FromSlice(it->key()).subspan(prefix.size()));
  if (!r.U64(&n) || !r.done()) return Status::Corruption(Describe(log) + ": damaged checkpoint key");
  return std::optional<std::pair<uint64_t, std::string>>({n, it->value().ToString()});
}

Result<crypto::Hash256> NodeLogs::Root(const LogId& log, uint64_t size) {
  if (size == 0) return crypto::merkle::EmptyRoot();
  TCD_RETURN_IF_ERROR(CheckSize(log, size, "root"));
  return crypto::merkle::RootOf(
      size, [&](int level, uint64_t index) { return ReadHash(log, level, index); });
}

Result<Bytes> NodeLogs::Leaf(const LogId& log, uint64_t index) {
  std::string v;
  TCD_RETURN_IF_ERROR(FromRocks(db_->Get(rocksdb::ReadOptions(), cf_, LeafKey(log, index), &v),
                                Describe(log) + ": leaf " + std::to_string(index)));
  return Bytes(v.begin(), v.end());
}

Result<std::vector<crypto::Hash256>> NodeLogs::InclusionProof(const LogId& log, uint64_t index,
                                                              uint64_t size) {
  TCD_RETURN_IF_ERROR(CheckSize(log, size, "inclusion proof of leaf " + std::to_string(index)));
  if (index >= size)
    return Status::InvalidArgument(Describe(log) + ": leaf " + std::to_string(index) +
                                   " is not in the tree of " + std::to_string(size) + " leaves");
  return crypto::merkle::InclusionProofOf(
      index, size, [&](int level, uint64_t i) { return ReadHash(log, level, i); });
}

Result<std::vector<crypto::Hash256>> NodeLogs::ConsistencyProof(const LogId& log,
                                                                uint64_t old_size,
                                                                uint64_t new_size) {
  TCD_RETURN_IF_ERROR(CheckSize(log, new_size, "consistency proof"));
  if (old_size > new_size)
    return Status::InvalidArgument(Describe(log) + ": no consistency proof from " +
                                   std::to_string(old_size) + " down to " +
                                   std::to_string(new_size) + " leaves");
  if (old_size == 0 || old_size == new_size) return std::vector<crypto::Hash256>{};
  return crypto::merkle::ConsistencyProofOf(
      old_size, new_size, [&](int level, uint64_t i) { return ReadHash(log, level, i); });
}

Result<std::optional<uint64_t>> NodeLogs::IndexOfEntry(const LogId& log,
                                                       const crypto::SessionId& session,
                                                       uint64_t seq) {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_, EntryKey(log, session, seq), &v);
  if (s.IsNotFound()) return std::optional<uint64_t>();
  TCD_RETURN_IF_ERROR(FromRocks(s, Describe(log) + ": read the leaf index of an entry"));
  uint64_t i = 0;
  Reader r(AsBytes(v));
  if (!r.U64(&i) || !r.done())
    return Status::Corruption(Describe(log) + ": damaged leaf index of seq " + std::to_string(seq));
  return std::optional<uint64_t>(i);
}

Status NodeLogs::PutCheckpoint(const LogId& log, uint64_t size, const std::string& note,
                               const crypto::PublicKey* signer) {
  rocksdb::WriteBatch batch;
  batch.Put(cf_, CheckpointKey(log, size), note);
  if (signer) batch.Put(cf_, log.prefix + "K", ToSlice(*signer));
  return Write(&batch, Describe(log) + ": store the checkpoint of size " + std::to_string(size));
}

Result<std::optional<std::string>> NodeLogs::CheckpointAt(const LogId& log, uint64_t size) {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_, CheckpointKey(log, size), &v);
  if (s.IsNotFound()) return std::optional<std::string>();
  TCD_RETURN_IF_ERROR(FromRocks(s, Describe(log) + ": read the checkpoint of size " +
                                       std::to_string(size)));
  return std::optional<std::string>(std::move(v));
}

Result<std::vector<std::pair<uint64_t, std::string>>> NodeLogs::Checkpoints(const LogId& log,
                                                                              size_t newest) {
  std::vector<std::pair<uint64_t, std::string>> out;
  const std::string prefix = log.prefix + "C";
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_));
  it->SeekForPrev(prefix + std::string(8, '\xff'));  // past the largest size
  for (; it->Valid() && it->key().starts_with(prefix) && out.size() < newest; it->Prev()) {
    uint64_t size = 0;
    Reader r(FromSlice(it->key()).subspan(prefix.size()));
    if (!r.U64(&size) || !r.done())
      return Status::Corruption(Describe(log) + ": damaged checkpoint key");
    out.emplace_back(size, it->value().ToString());
  }
  TCD_RETURN_IF_ERROR(FromRocks(it->status(), Describe(log) + ": list checkpoints"));
  std::reverse(out.begin(), out.end());
  return out;
}

Result<std::optional<crypto::PublicKey>> NodeLogs::Signer(const LogId& log) {
  crypto::PublicKey pk;
  if (log.prefix.size() == 1 + pk.size()) {
    std::copy(log.prefix.begin() + 1, log.prefix.end(), pk.begin());
    return std::optional<crypto::PublicKey>(pk);
  }
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_, log.prefix + "K", &v);
  if (s.IsNotFound()) return std::optional<crypto::PublicKey>();
  TCD_RETURN_IF_ERROR(FromRocks(s, Describe(log) + ": read its signer key"));
  if (v.size() != pk.size()) return Status::Corruption(Describe(log) + ": damaged signer key");
  std::copy(v.begin(), v.end(), pk.begin());
  return std::optional<crypto::PublicKey>(pk);
}

Status NodeLogs::SetOwnSigner(const crypto::PublicKey& pk) {
  TCD_ASSIGN_OR_RETURN(auto signer, Signer(LogId::Own()));
  if (signer) return Status::OK();
  rocksdb::WriteBatch batch;
  batch.Put(cf_, LogId::Own().prefix + "K", ToSlice(pk));
  return Write(&batch, "node log: record its signer key");
}

Result<std::vector<crypto::PublicKey>> NodeLogs::Downstream() {
  std::vector<crypto::PublicKey> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_));
  for (it->Seek("\x01"); it->Valid() && it->key().size() >= 33 && it->key()[0] == 1;) {
    crypto::PublicKey pk;
    std::copy_n(it->key().data() + 1, 32, pk.begin());
    out.push_back(pk);
    it->Seek(LogId::Of(pk).prefix + "\xff");
  }
  TCD_RETURN_IF_ERROR(FromRocks(it->status(), "list the logs of downstream nodes"));
  return out;
}

Status CheckCheckpoint(NodeLogs* logs, const LogId& log, uint64_t size, const std::string& note) {
  const std::string what = Describe(log) + ": checkpoint of size " + std::to_string(size);
  TCD_ASSIGN_OR_RETURN(auto signer, logs->Signer(log));
  if (!signer) return Status::Corruption(what + ": the log has no signer key");
  auto n = crypto::note::ParseNote(note);
  if (!n.ok()) return n.status().WithContext(what);
  auto c = crypto::note::ParseCheckpoint(n->body);
  if (!c.ok()) return c.status().WithContext(what);
  const std::string origin = LogOrigin(*signer);
  if (c->origin != origin)
    return Status::Corruption(what + ": its origin is " + c->origin + ", not " + origin);
  if (c->size != size)
    return Status::Corruption(what + ": it says " + std::to_string(c->size) + " leaves");
  TCD_ASSIGN_OR_RETURN(crypto::Hash256 root, logs->Root(log, size));
  if (c->root != root)
    return Status::Corruption(what + ": its root hash is not the stored tree's root (the tree "
                              "or the checkpoint was changed)");
  Status s = crypto::note::VerifySignature(*n, origin, *signer);
  return s.ok() ? s : s.WithContext(what);
}

Result<std::string> SignOwnCheckpoint(NodeLogs* logs, const crypto::SecretBytes& sign_sk) {
  TCD_ASSIGN_OR_RETURN(uint64_t size, logs->Size(LogId::Own()));
  return SignOwnCheckpointAt(logs, sign_sk, size);
}

Result<std::string> SignOwnCheckpointAt(NodeLogs* logs, const crypto::SecretBytes& sign_sk,
                                        uint64_t size) {
  const LogId own = LogId::Own();
  crypto::PublicKey pk;
  std::copy_n(sign_sk.data() + 32, 32, pk.begin());
  TCD_ASSIGN_OR_RETURN(auto signer, logs->Signer(own));
  if (signer && *signer != pk)
    return Status::InvalidArgument("this node's log is signed by key " + crypto::KeyId(*signer) +
                                   ", not by the node key " + crypto::KeyId(pk));
  // Under the log's lock: a cosigned checkpoint the sender keeps at this size meanwhile is never
  // overwritten by this plain one.
  auto lock = logs->Lock();
  TCD_ASSIGN_OR_RETURN(auto kept, logs->CheckpointAt(own, size));
  if (kept) return *kept;
  TCD_ASSIGN_OR_RETURN(crypto::Hash256 root, logs->Root(own, size));
  const std::string origin = LogOrigin(pk);
  const std::string body = crypto::note::CheckpointBody({origin, size, root});
  const std::string note =
      crypto::note::FormatNote({body, {crypto::note::Sign(body, origin, sign_sk)}});
  TCD_RETURN_IF_ERROR(logs->PutCheckpoint(own, size, note, signer ? nullptr : &pk));
  return note;
}

}  // namespace tcd::node
