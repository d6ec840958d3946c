#include "node/catalog.h"
#include "node/catalog_internal.h"
#include "node/node_log.h"
#include "node/search_index.h"
#include "node/search_lists.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include <cstdarg>
#include <algorithm>
#include <iterator>
#include <set>

namespace tcd::node {
using namespace internal;
namespace {

constexpr uint8_t kRecordVersion = 1;
constexpr const char* kRoleKey = "node-role";  // meta family: Catalog::SetRole
constexpr const char* kLogKey = "node-log";    // meta family: "1" once every entry is logged
const char* const kCfNames[] = {"default", "sessions", "chain",       "blobs",
                                "meta",    "repl",     "outbox",      "inbox",
                                "search_docs", "search_postings", "search_cards", "log",
                                "search_ids"};

// Shared by every family of every catalog in the process: filled only by what is read, so a
// recorder's small catalog uses little of it. At a province or central archive it holds the
// search index's hot posting lists and documents (1,000,000 sessions: ~2 GB of index).
std::shared_ptr<rocksdb::Cache> BlockCache() {
  static std::shared_ptr<rocksdb::Cache> cache = rocksdb::NewLRUCache(size_t{1} << 30);
  return cache;
}

rocksdb::ColumnFamilyOptions FamilyOptions(const std::string& name) {
  rocksdb::ColumnFamilyOptions o;
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = BlockCache();
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));  // point lookups skip files
  t.cache_index_and_filter_blocks = true;  // bounded by the cache, not by the catalog's size
  t.pin_l0_filter_and_index_blocks_in_cache = true;
  if (name == "search_postings") {
    // Bloom filters over a posting list's term (field | term | 0x00): a seek into a term's
    // postings skips every file that has none (catalog_search.cc reads with
    // prefix_same_as_start).
    o.prefix_extractor = search_index::TermPrefixExtractor();
    t.whole_key_filtering = false;
    // Posting lists are appended to with Merge; read straight from the block cache: their
    // session ids are random bytes, which compression would only slow down.
    o.merge_operator = search_index::PostingsMerge();
    o.compression = rocksdb::kNoCompression;
    // Delta-coded lists are small, so a 64 MB table holds ~1,000,000 of them and its prefix
    // filter is ~1.3 MB, which a fresh `tcd search` reads whole for its first term: 16 MB tables
    // (about 12 on the 1,000,000-session benchmark) took that command from 10.5 to 8.7 ms.
    o.target_file_size_base = 16 << 20;
  }
  if (name == "search_ids") o.merge_operator = search_index::NumberMerge();
  if (name == "search_docs" || name == "search_cards") {
    // A page of results is up to 50 point reads in one of these: a hash index in each block,
    // with a restart point at every key, finds a record without a binary search or a scan, and
    // uncompressed blocks need no decompression on a cache miss.
    t.data_block_index_type = rocksdb::BlockBasedTableOptions::kDataBlockBinaryAndHash;
    t.block_restart_interval = 1;
    o.compression = rocksdb::kNoCompression;
    // Cards are read by stepping an iterator through a clustered copy, documents by MultiGet:
    // the blocks are in the page cache or not wanted at all, so RocksDB's readahead (a syscall
    // per sequential run) only costs time.
    t.max_auto_readahead_size = 0;
  }
  if (name.starts_with("search_")) {
    // A session's cards and document are rewritten with every entry (they carry its summary),
    // so the memtable holds a version per recent entry. Past 8 versions of one key, RocksDB's
    // iterator reseeks every level instead of stepping: reading the newest sessions' cards while
    // they were still in the memtable took 60 seeks a query instead of 2 ("common word" on the
    // benchmark catalog before compaction: p50 306 µs → 212 with this).
    o.max_sequential_skip_in_iterations = 64;
  }
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  return o;
}

}  // namespace

const char* SessionStateName(SessionState s) {
  switch (s) {
    case SessionState::kRecording: return "recording";
    case SessionState::kSealed: return "sealed";
    case SessionState::kUnsealed: return "unsealed";
    case SessionState::kRecovered: return "recovered";
  }
  return "unknown";
}

Bytes EncodeSessionRecord(const SessionRecord& r) {
  Bytes out;
  Writer w(&out);
  w.U8(kRecordVersion);
  w.U8(static_cast<uint8_t>(r.state));
  w.Raw(r.id);
  w.I64(r.start_us);
  w.I64(r.end_us);
  w.U64(r.next_seq);
  w.U64(r.segments);
  w.I64(r.media_duration_us);
  w.U32(r.gaps);
  w.Raw(r.head_hash);
  w.Str16(r.point);
  return out;
}

Result<SessionRecord> DecodeSessionRecord(ByteView b) {
  Reader rd(b);
  SessionRecord r;
  uint8_t version, state;
  if (!rd.U8(&version) || version != kRecordVersion)
    return Status::Corruption("session record: unknown version");
  if (!rd.U8(&state) || state < 1 || state > 4)
    return Status::Corruption("session record: bad state");
  r.state = static_cast<SessionState>(state);
  if (!rd.Fixed(&r.id) || !rd.I64(&r.start_us) || !rd.I64(&r.end_us) || !rd.U64(&r.next_seq) ||
      !rd.U64(&r.segments) || !rd.I64(&r.media_duration_us) || !rd.U32(&r.gaps) ||
      !rd.Fixed(&r.head_hash) || !rd.Str16(&r.point) || !rd.done())
    return Status::Corruption("session record: truncated or trailing bytes");
  return r;
}

Bytes EncodeChainRecord(const ChainRecord& r) {
  Bytes out;
  Writer w(&out);
  w.U8(kRecordVersion);
  w.Bytes32(r.entry);
  w.Raw(r.signature);
  return out;
}

Result<ChainRecord> DecodeChainRecord(ByteView b) {
  Reader rd(b);
  ChainRecord r;
  uint8_t version;
  if (!rd.U8(&version) || version != kRecordVersion)
    return Status::Corruption("chain record: unknown version");
  if (!rd.Bytes32(&r.entry) || !rd.Fixed(&r.signature) || !rd.done())
    return Status::Corruption("chain record: truncated or trailing bytes");
  return r;
}

Result<std::unique_ptr<Catalog>> Catalog::Open(const std::string& dir, bool read_only,
                                               bool create) {
  rocksdb::DBOptions options;
  options.create_if_missing = create;
  // Column families added by later versions are created when an older catalog is opened for
  // writing; a read-only open of an older catalog opens the ones it has (the others read as
  // empty).
  options.create_missing_column_families = !read_only;
  options.paranoid_checks = true;
  options.max_open_files = 256;
  // `tcd search` opens the catalog read-only while the node runs, which replays the
  // write-ahead log first, at about 19 ms per MB on a 2-core machine: flush column families
  // holding older log data once it exceeds 16 MiB, so that a search waits at most about 0.3 s
  // for it (at 64 MiB, up to 1.2 s). Bulk-loading 60,000 sessions took no longer this way
  // (38 s against 43), leaving 161 table files instead of 66.
  options.max_total_wal_size = 16 << 20;
  options.info_log = std::make_shared<SpdlogLogger>();
  if (read_only) {
    // A read-only open is a command (`tcd search`: 12 ms in all) that never compacts: it skips
    // the statistics compactions use and the size check of every table file (a damaged file
    // still fails when read), and opens the few tables it loads up front on this thread, not
    // on 16 new ones. 4.2 → 1.9 ms on the benchmark's 1,000,000-session catalog.
    options.skip_stats_update_on_db_open = true;
    options.skip_checking_sst_file_sizes_on_db_open = true;
    options.max_file_opening_threads = 1;
  }
  std::vector<std::string> existing;
  if (read_only) {
    rocksdb::Status ls = rocksdb::DB::ListColumnFamilies(options, dir, &existing);
    if (!ls.ok() && ls.ToString().find("No such file") != std::string::npos)
      return Status::NotFound("no archive at " + dir + " (catalog missing)");
    TCD_RETURN_IF_ERROR(FromRocks(ls, "cannot open catalog " + dir));
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  std::vector<int> slot;  // kCfNames index of each opened family
  for (int i = 0; i < static_cast<int>(std::size(kCfNames)); ++i) {
    if (read_only && std::find(existing.begin(), existing.end(), kCfNames[i]) == existing.end())
      continue;
    cfs.emplace_back(kCfNames[i], FamilyOptions(kCfNames[i]));
    slot.push_back(i);
  }
  std::unique_ptr<Catalog> c(new Catalog());
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      read_only ? rocksdb::DB::OpenForReadOnly(options, dir, cfs, &c->handles_, &raw)
                : rocksdb::DB::Open(options, dir, cfs, &c->handles_, &raw);
  if (!s.ok()) {
    if (read_only && s.IsIOError() && s.ToString().find("No such file") != std::string::npos)
      return Status::NotFound("no archive at " + dir + " (catalog missing)");
    return FromRocks(s, "cannot open catalog " + dir);
  }
  c->db_.reset(raw);
  rocksdb::ColumnFamilyHandle* by_name[std::size(kCfNames)] = {};
  for (size_t i = 0; i < slot.size(); ++i) by_name[slot[i]] = c->handles_[i];
  if (!by_name[1] || !by_name[2] || !by_name[3] || !by_name[4])
    return Status::Corruption("catalog " + dir + " lacks a column family of format 1");
  c->sessions_ = by_name[1];
  c->chain_ = by_name[2];
  c->blobs_ = by_name[3];
  c->meta_ = by_name[4];
  c->repl_ = by_name[5];
  c->outbox_ = by_name[6];
  c->inbox_ = by_name[7];
  c->search_docs_ = by_name[8];
  c->search_postings_ = by_name[9];
  c->search_cards_ = by_name[10];
  c->search_ids_ = by_name[12];
  if (by_name[11]) c->logs_ = std::make_unique<NodeLogs>(c->db_.get(), by_name[11]);
  c->read_only_ = read_only;
  if (!read_only) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    TCD_RETURN_IF_ERROR(FromRocks(c->db_->Put(wo, c->meta_, "format-version", "1"),
                                  "catalog " + dir + ": write format-version"));
    TCD_RETURN_IF_ERROR(c->ReindexIfMissing());
    TCD_RETURN_IF_ERROR(c->LogOldEntries());
  } else {
    std::string v;
    rocksdb::Status g = c->db_->Get(rocksdb::ReadOptions(), c->meta_, "format-version", &v);
    if (g.ok() && v != "1")
      return Status::Corruption("catalog " + dir + ": unsupported format-version " + v);
    if (c->search_docs_) TCD_RETURN_IF_ERROR(c->ReindexIfMissing());  // only reads the marker
    if (c->search_postings_ && c->search_cards_) {  // kept between searches (search_lists.h)
      rocksdb::ReadOptions postings;
      postings.prefix_same_as_start = true;  // one term's lists (prefix bloom filters)
      c->postings_pool_ = std::make_unique<search_index::IteratorPool>(
          c->db_.get(), c->search_postings_, postings);
      c->cards_pool_ = std::make_unique<search_index::IteratorPool>(
          c->db_.get(), c->search_cards_, rocksdb::ReadOptions());
    }
  }
  rocksdb::Status g = c->db_->Get(rocksdb::ReadOptions(), c->meta_, kRoleKey, &c->role_);
  if (!g.ok() && !g.IsNotFound()) return FromRocks(g, "catalog " + dir + ": read node-role");
  return c;
}

Status Catalog::LogOldEntries() {
  std::string v;
  rocksdb::Status g = db_->Get(rocksdb::ReadOptions(), meta_, kLogKey, &v);
  if (g.ok()) return Status::OK();
  TCD_RETURN_IF_ERROR(FromRocks(g.IsNotFound() ? rocksdb::Status::OK() : g, "read node-log"));
  const LogId own = LogId::Own();
  std::vector<Bytes> leaves;
  auto flush = [&]() -> Status {
    rocksdb::WriteBatch batch;
    auto lock = logs_->Lock();
    TCD_RETURN_IF_ERROR(logs_->AddLeaves(&batch, own, leaves).status());
    leaves.clear();
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return FromRocks(db_->Write(wo, &batch), "catalog: log the entries stored before the log");
  };
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), chain_));
  std::optional<crypto::SessionId> current;
  bool received = false;  // the current session came from a downstream node: not ours
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key().size() != 24) return Status::Corruption("catalog: damaged chain key");
    crypto::SessionId id;
    std::copy_n(it->key().data(), 16, id.begin());
    uint64_t seq = 0;
    Reader(FromSlice(it->key()).subspan(16)).U64(&seq);
    if (id != current) {
      current = id;
      auto r = GetRepl(id);
      if (!r.ok() && !r.status().IsNotFound()) return r.status();
      received = r.ok() && r.value().from_peer != crypto::PublicKey{};
    }
    if (received) continue;
    TCD_ASSIGN_OR_RETURN(auto logged, logs_->IndexOfEntry(own, id, seq));
    if (logged) continue;
    TCD_ASSIGN_OR_RETURN(ChainRecord rec, DecodeChainRecord(FromSlice(it->value())));
    leaves.push_back(EntryLeaf(id, seq, crypto::EntryHashOf(rec.entry)));
    if (leaves.size() == 4096) TCD_RETURN_IF_ERROR(flush());
  }
  TCD_RETURN_IF_ERROR(FromRocks(it->status(), "catalog: read the chain to log it"));
  if (!leaves.empty()) TCD_RETURN_IF_ERROR(flush());
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->Put(wo, meta_, kLogKey, "1"), "catalog: write node-log");
}

Status Catalog::SetRole(const std::string& role) {
  if (role == role_) return Status::OK();
  rocksdb::WriteOptions wo;
  wo.sync = true;
  TCD_RETURN_IF_ERROR(FromRocks(db_->Put(wo, meta_, kRoleKey, role), "catalog: write node-role"));
  role_ = role;
  return Status::OK();
}

Catalog::~Catalog() {
  postings_pool_.reset();  // their iterators, before the families and the database
  cards_pool_.reset();
  if (db_) {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    db_->Close();
  }
}

Status Catalog::Append(const SessionRecord& record, uint64_t seq, const ChainRecord& chain,
                       const std::optional<crypto::Hash256>& blob) {
  std::lock_guard<std::mutex> lock(SessionMutex(record.id));  // until the batch is written
  rocksdb::WriteBatch batch;
  Bytes rec = EncodeSessionRecord(record);
  Bytes ch = EncodeChainRecord(chain);
  batch.Put(sessions_, IdKey(record.id), rocksdb::Slice(AsChars(rec)));
  batch.Put(chain_, ChainKey(record.id, seq), rocksdb::Slice(AsChars(ch)));
  TCD_RETURN_IF_ERROR(IndexForSearch(&batch, record, {ByteView(chain.entry)}));
  if (blob) {
    Bytes ref(record.id.begin(), record.id.end());
    Writer(&ref).U64(seq);
    batch.Put(blobs_, rocksdb::Slice(reinterpret_cast<const char*>(blob->data()), blob->size()),
              rocksdb::Slice(AsChars(ref)));
  }
  const std::string what = "catalog append seq " + std::to_string(seq);
  if (!node_log_) return CommitWithOutbox(&batch, record.id, what);
  // The entry becomes the next leaf of this node's log in the same write (catalog_group.cc).
  return CommitAppend(&batch, record.id, EntryLeaf(record.id, seq, crypto::EntryHashOf(chain.entry)),
                      what);
}

Status Catalog::CommitWithOutbox(rocksdb::WriteBatch* batch, const crypto::SessionId& id,
                                 const std::string& what) {
  rocksdb::WriteOptions wo;
  wo.sync = sync_;
  std::unique_lock<std::mutex> lock(outbox_mu_, std::defer_lock);
  if (track_outbox_ && outbox_) {
    lock.lock();
    batch->Put(outbox_, IdKey(id), "");
  }
  return FromRocks(db_->Write(wo, batch), what);
}

Status Catalog::PutSession(const SessionRecord& record) {
  rocksdb::WriteOptions wo;
  wo.sync = sync_;
  std::lock_guard<std::mutex> lock(SessionMutex(record.id));
  rocksdb::WriteBatch batch;
  Bytes rec = EncodeSessionRecord(record);
  batch.Put(sessions_, IdKey(record.id), rocksdb::Slice(AsChars(rec)));
  TCD_RETURN_IF_ERROR(IndexForSearch(&batch, record, {}));  // the summary results show
  return FromRocks(db_->Write(wo, &batch), "catalog put session");
}

Result<std::vector<SessionRecord>> Catalog::ListSessions() {
  std::vector<SessionRecord> out;
  TCD_RETURN_IF_ERROR(ForEachSession([&](const SessionRecord& r) {
    out.push_back(r);
    return Status::OK();
  }));
  return out;
}

Status Catalog::ForEachSession(const std::function<Status(const SessionRecord&)>& fn) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), sessions_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto r = DecodeSessionRecord(AsBytes(std::string_view(it->value().data(), it->value().size())));
    if (!r.ok()) {
      crypto::SessionId id{};
      const bool is_id = it->key().size() == id.size();
      if (is_id) std::copy(it->key().data(), it->key().data() + id.size(), id.begin());
      return r.status().WithContext("catalog: summary of " +
                                    (is_id ? "session " + crypto::SessionIdToString(id)
                                           : "key " + ToHex(FromSlice(it->key()))));
    }
    TCD_RETURN_IF_ERROR(fn(*r));
  }
  return FromRocks(it->status(), "catalog sessions scan");
}

Result<SessionRecord> Catalog::GetSession(const crypto::SessionId& id) {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), sessions_, IdKey(id), &v);
  if (s.IsNotFound())
    return Status::NotFound("no session " + crypto::SessionIdToString(id) + " in this archive");
  TCD_RETURN_IF_ERROR(FromRocks(s, "catalog get session"));
  return DecodeSessionRecord(AsBytes(v));
}

Result<std::vector<crypto::SessionId>> Catalog::ListSessionIds() {
  std::set<crypto::SessionId> ids;
  auto add = [&](const rocksdb::Slice& key) {
    crypto::SessionId id;
    if (key.size() < id.size()) return false;
    std::copy(key.data(), key.data() + id.size(), id.begin());
    ids.insert(id);
    return true;
  };
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), sessions_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) add(it->key());
  TCD_RETURN_IF_ERROR(FromRocks(it->status(), "catalog sessions scan"));
  // One seek per session: jump past every key with this session's 16-byte prefix.
  it.reset(db_->NewIterator(rocksdb::ReadOptions(), chain_));
  for (it->SeekToFirst(); it->Valid();) {
    if (!add(it->key())) return Status::Corruption("catalog chain: bad key");
    std::string next(it->key().data(), 16);
    next.append(8, '\xff');
    it->Seek(next);
    if (it->Valid() && it->key() == rocksdb::Slice(next)) it->Next();
  }
  TCD_RETURN_IF_ERROR(FromRocks(it->status(), "catalog chain scan"));
  return std::vector<crypto::SessionId>(ids.begin(), ids.end());
}

Result<std::vector<std::pair<uint64_t, ChainRecord>>> Catalog::GetChain(
    const crypto::SessionId& id) {
  std::vector<std::pair<uint64_t, ChainRecord>> out;
  std::string prefix = IdKey(id);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), chain_));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    ByteView key(reinterpret_cast<const uint8_t*>(it->key().data()), it->key().size());
    Reader kr(key.subspan(16));
    uint64_t seq = 0;
    if (key.size() != 24 || !kr.U64(&seq)) return Status::Corruption("catalog chain: bad key");
    auto r = DecodeChainRecord(AsBytes(std::string_view(it->value().data(), it->value().size())));
    if (!r.ok()) return r.status().WithContext("catalog chain seq " + std::to_string(seq));
    out.emplace_back(seq, std::move(r).value());
  }
  TCD_RETURN_IF_ERROR(FromRocks(it->status(), "catalog chain scan"));
  return out;
}

Result<ChainRecord> Catalog::GetChainEntry(const crypto::SessionId& id, uint64_t seq) {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), chain_, ChainKey(id, seq), &v);
  if (s.IsNotFound())
    return Status::NotFound("session " + crypto::SessionIdToString(id) + " has no entry seq " +
                            std::to_string(seq));
  TCD_RETURN_IF_ERROR(FromRocks(s, "catalog get chain entry"));
  return DecodeChainRecord(AsBytes(v));
}

Result<bool> Catalog::HasChainEntry(const crypto::SessionId& id, uint64_t seq) {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), chain_, ChainKey(id, seq), &v);
  if (s.IsNotFound()) return false;
  TCD_RETURN_IF_ERROR(FromRocks(s, "catalog get chain entry"));
  return true;
}

Status Catalog::ForEachBlobRef(const std::function<Status(const crypto::Hash256&)>& fn) {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;  // one pass over every reference: keep the cache for searches
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, blobs_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key().size() != 32)
      return Status::Corruption("catalog blobs: a key of " + std::to_string(it->key().size()) +
                                " bytes, not 32 (" + ToHex(FromSlice(it->key())) + ")");
    crypto::Hash256 h;
    std::copy(it->key().data(), it->key().data() + 32, h.begin());
    TCD_RETURN_IF_ERROR(fn(h));
  }
  return FromRocks(it->status(), "catalog blobs scan");
}

Result<std::vector<crypto::Hash256>> Catalog::ListBlobRefs() {
  std::vector<crypto::Hash256> out;
  TCD_RETURN_IF_ERROR(ForEachBlobRef([&](const crypto::Hash256& h) {
    out.push_back(h);
    return Status::OK();
  }));
  return out;
}

Status Catalog::RawPutChain(const crypto::SessionId& id, uint64_t seq, ByteView value) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->Put(wo, chain_, ChainKey(id, seq), rocksdb::Slice(AsChars(value))),
                   "catalog raw put");
}

Status Catalog::RawDeleteChain(const crypto::SessionId& id, uint64_t seq) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->Delete(wo, chain_, ChainKey(id, seq)), "catalog raw delete");
}

Status Catalog::RawDeleteSession(const crypto::SessionId& id) {
  TCD_ASSIGN_OR_RETURN(auto chain, GetChain(id));
  rocksdb::WriteBatch batch;
  for (const auto& [seq, rec] : chain) {
    batch.Delete(chain_, ChainKey(id, seq));
    auto e = crypto::DecodeEntry(rec.entry);
    if (e.ok() && e->cipher_hash != crypto::Hash256{})
      batch.Delete(blobs_, rocksdb::Slice(reinterpret_cast<const char*>(e->cipher_hash.data()),
                                          e->cipher_hash.size()));
  }
  batch.Delete(sessions_, IdKey(id));
  if (repl_) batch.Delete(repl_, IdKey(id));
  if (outbox_) batch.Delete(outbox_, IdKey(id));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->Write(wo, &batch), "catalog raw delete of a session");
}

}  // namespace tcd::node
