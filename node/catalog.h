// Catalog: the node's RocksDB database (DATA/catalog), one column family per record kind
// (docs/FORMAT.md §Store layout):
//   sessions  session_id[16]                 → SessionRecord (derived summary, rebuilt from chain)
//   chain     session_id[16] || u64 seq (BE) → ChainRecord (entry encoding + head signature)
//   blobs     cipher_hash[32]                → session_id[16] || u64 seq (which entry owns it)
//   meta      ASCII key                      → value (e.g. "format-version" → "1")
//   repl      session_id[16]                 → ReplRecord (replication and retention state)
//   outbox    session_id[16]                 → empty (sessions the upstream tiers do not yet hold)
//   inbox     peer_pk[32] || session_id[16] || u64 seq → cipher_hash[32] || u64 size
//             (replicated entries whose blob has not arrived yet; the receiver fetches these)
//   search_docs, search_postings, search_cards, search_ids: the search index (node/search.h,
//   catalog_index.cc, catalog_search.cc)
//   log       the node logs (node/node_log.h): every chain entry Append() stores becomes the
//             next leaf of this node's own log in the same batch
// Every mutation is one WriteBatch written with sync=true: it is either wholly durable or absent.
//
// Thread-safety: safe for concurrent use (RocksDB is). Read-only instances may be opened while
// another process holds the database open for writing; they see the state as of their Open().
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/chain.h"

namespace rocksdb {
class DB;
class Iterator;
struct ReadOptions;
class ColumnFamilyHandle;
class WriteBatch;
}  // namespace rocksdb

namespace tcd::node {

// On disk: never renumber.
enum class SessionState : uint8_t {
  kRecording = 1,  // a recorder is (or was, until recovery runs) appending to it
  kSealed = 2,     // closed by a seal entry
  kUnsealed = 3,   // the recorder stopped without sealing (crash, power cut); found by recovery
  kRecovered = 4,  // unsealed, then closed by a signed recovery-close note
};
const char* SessionStateName(SessionState s);

struct SessionRecord {
  crypto::SessionId id{};
  SessionState state = SessionState::kRecording;
  int64_t start_us = 0;           // open entry's start (UTC µs)
  int64_t end_us = 0;             // end of the last segment or gap, or the seal time
  uint64_t next_seq = 0;          // number of chain entries
  uint64_t segments = 0;          // kSegment entries
  int64_t media_duration_us = 0;  // sum of segment durations
  uint32_t gaps = 0;
  crypto::Hash256 head_hash{};    // entry hash of entry next_seq-1
  std::string point;              // metadata "point"
};
Bytes EncodeSessionRecord(const SessionRecord& r);
Result<SessionRecord> DecodeSessionRecord(ByteView b);

struct ChainRecord {
  Bytes entry;  // EncodeEntry bytes
  crypto::Signature signature{};
};
Bytes EncodeChainRecord(const ChainRecord& r);
Result<ChainRecord> DecodeChainRecord(ByteView b);

// Replication state of one session on this node (docs/FORMAT.md §Store layout, repl).
struct ReplRecord {
  crypto::PublicKey from_peer{};  // transport key of the node it was received from; zero when
                                  // recorded here
  uint64_t up_stored = 0;         // entries the next tier has durably stored
  uint64_t up_held = 0;           // entries the next tier holds with their blobs
  uint64_t central_held = 0;      // entries the central tier holds with their blobs
  int64_t central_held_us = 0;    // this node's clock when central_held last advanced
  bool hold = false;              // evidence hold: never evicted
  uint64_t evicted_below = 0;     // blobs of entries with seq < this were evicted (retention)
};
Bytes EncodeReplRecord(const ReplRecord& r);
Result<ReplRecord> DecodeReplRecord(ByteView b);

// A replicated entry whose blob is still to be fetched from `peer`.
struct WantedBlob {
  crypto::PublicKey peer{};
  crypto::SessionId session{};
  uint64_t seq = 0;
  crypto::Hash256 hash{};
  uint64_t size = 0;
};

namespace search_index {
struct PostFilter;
class CardReader;
class IteratorPool;
}
class NodeLogs;      // node/node_log.h
struct SearchQuery;  // node/search.h
struct SearchHit;
struct SessionLocation;

class Catalog {
 public:
  // Opens DATA/catalog (creates it only when `create`; REQUIRES: !(read_only && create)).
  // Corruption names the directory and RocksDB's reason; IOError "… is in use by another
  // process" when another writer holds it.
  static Result<std::unique_ptr<Catalog>> Open(const std::string& dir, bool read_only,
                                               bool create = false);
  ~Catalog();

  // Appends one chain entry and its session's new summary, and (for segments) the blob
  // reference, in one synced batch. REQUIRES: record.next_seq == seq + 1.
  Status Append(const SessionRecord& record, uint64_t seq, const ChainRecord& chain,
                const std::optional<crypto::Hash256>& blob);
  Status PutSession(const SessionRecord& record);  // synced

  // When on (a node with an upstream), every Append also puts the session in the outbox.
  void set_track_outbox(bool on) { track_outbox_ = on; }
  // The role of the node that writes this catalog ("recorder", "province", "central"; "" when
  // never set), kept in the meta family (synced) so that read-only tools such as `tcd search`
  // know it: at the central archive a session held here completely is held at central.
  Status SetRole(const std::string& role);
  const std::string& role() const { return role_; }

  // --- Replication (catalog_repl.cc) ---
  // Entries received from `peer` (already verified by the caller), the session's new summary,
  // the blob references and wanted blobs, and the session's replication record: one synced
  // batch. REQUIRES: entries consecutive from record.next_seq - entries.size().
  Status AppendReplicated(const SessionRecord& record,
                          const std::vector<std::pair<uint64_t, ChainRecord>>& entries,
                          const std::vector<std::pair<crypto::Hash256, uint64_t>>& blob_refs,
                          const std::vector<WantedBlob>& wanted, const ReplRecord* new_repl);
  // The blob of `w` is durable in the blob store: removes it from the inbox (synced; with the
  // session's cards when it was the last one wanted: the session is now here).
  Status BlobArrived(const WantedBlob& w);
  // Up to `limit` wanted blobs of `peer` in (session, seq) order, starting after `after`
  // (nullopt: from the first).
  Result<std::vector<WantedBlob>> ListWanted(const crypto::PublicKey& peer, size_t limit,
                                             const std::optional<WantedBlob>& after);
  // The lowest seq of `session` still wanted from `peer`, if any.
  Result<std::optional<uint64_t>> FirstWanted(const crypto::PublicKey& peer,
                                              const crypto::SessionId& session);
  // The session is now sent by `to`: its wanted blobs and its ReplRecord's from_peer move from
  // `from` to `to` (one synced batch, with the session's cards if their place changes).
  Status MoveWanted(const crypto::SessionId& session, const crypto::PublicKey& from,
                    const crypto::PublicKey& to);
  // Every wanted blob hash (recovery must not report these as missing).
  Result<std::vector<crypto::Hash256>> ListWantedHashes();
  // NotFound when the session has no replication record yet.
  Result<ReplRecord> GetRepl(const crypto::SessionId& id);
  // Read-modify-write of a session's replication record (a default record when it has none),
  // serialized against other updates, in one batch with the session's cards if their place
  // changes. `sync` = false for acknowledgments (losing one only delays retention: it is asked
  // for again).
  Status UpdateRepl(const crypto::SessionId& id, const std::function<void(ReplRecord*)>& update,
                    bool sync);
  // Puts a session in the outbox (idempotent, synced).
  Status AddToOutbox(const crypto::SessionId& id);
  // Forgets the blob reference of an evicted blob (synced).
  Status RemoveBlobRef(const crypto::Hash256& h);
  // Sessions in the outbox, in id order, starting after `after` (nullopt: from the first).
  Result<std::vector<crypto::SessionId>> ListOutbox(size_t limit,
                                                    const std::optional<crypto::SessionId>& after);
  // Removes `id` from the outbox unless its chain has grown beyond `next_seq` entries since
  // the caller looked (then it stays: the new entries must travel too).
  Status RemoveFromOutbox(const crypto::SessionId& id, uint64_t next_seq);

  // --- Search (catalog_search.cc, catalog_index.cc; types in node/search.h) ---
  // Sessions matching `q`, newest first (by start time, then id), at most q.limit.
  // InvalidArgument naming the field when a filter has no searchable word.
  Result<std::vector<SearchHit>> Search(const SearchQuery& q);
  // Rebuilds the search index from the chain entries (writable catalogs only): drops it and
  // indexes every session again, in batches. `progress(done, total)` after each session.
  Status Reindex(const std::function<void(uint64_t, uint64_t)>& progress = {});
  // True when opening this catalog rebuilt its index (it had none of the current layout).
  bool reindexed_on_open() const { return reindexed_on_open_; }
  // Rewrites every family into its final shape (full compaction), e.g. after a reindex or a
  // bulk load, so that reads find bloom filters and few files. Writable catalogs only.
  Status Compact();
  // Bulk loaders (benchmarks) only: when false, writes are not synced. Default true.
  void set_sync(bool on) { sync_ = on; }
  // Bulk loaders (benchmarks) that stand for an archive's received sessions only: when false,
  // Append() adds no leaf to this node's log (an archive logs what it signs, not what it
  // receives). Default true.
  void set_node_log(bool on) { node_log_ = on; }

  // The node logs; null only for an old catalog (without the family) opened read-only.
  NodeLogs* logs() { return logs_.get(); }

  Result<std::vector<SessionRecord>> ListSessions();  // in id order (= creation order)
  // The same one at a time, without holding them all (an archive holds millions); stops at
  // fn's first error. Corruption names a summary that does not decode.
  Status ForEachSession(const std::function<Status(const SessionRecord&)>& fn);
  Result<SessionRecord> GetSession(const crypto::SessionId& id);
  // Every session id that has a summary record or chain entries (a session whose summary was
  // deleted or damaged is still found through its chain), in id order.
  Result<std::vector<crypto::SessionId>> ListSessionIds();
  // (seq as stored in the key, record) in key order.
  Result<std::vector<std::pair<uint64_t, ChainRecord>>> GetChain(const crypto::SessionId& id);
  // The chain record at (id, seq); NotFound when absent.
  Result<ChainRecord> GetChainEntry(const crypto::SessionId& id, uint64_t seq);
  // True when the chain holds an entry at (id, seq).
  Result<bool> HasChainEntry(const crypto::SessionId& id, uint64_t seq);
  // Every blob hash the catalog references, ascending.
  Result<std::vector<crypto::Hash256>> ListBlobRefs();
  // The same one at a time, without holding them all; stops at fn's first error.
  Status ForEachBlobRef(const std::function<Status(const crypto::Hash256&)>& fn);

  // Test and repair hooks: raw access to one chain record (used by tamper tests and tools
  // that need to rewrite history deliberately).
  Status RawPutChain(const crypto::SessionId& id, uint64_t seq, ByteView value);
  Status RawDeleteChain(const crypto::SessionId& id, uint64_t seq);
  // Deletes every catalog row of a session (summary, chain, blob references, replication and
  // outbox records), as an intruder would; its search index rows stay.
  Status RawDeleteSession(const crypto::SessionId& id);

 private:
  Catalog() = default;
  // Writes `batch` synced, adding the session to the outbox when outbox tracking is on (under
  // outbox_mu_, so that RemoveFromOutbox cannot interleave). `what` names it in errors.
  Status CommitWithOutbox(rocksdb::WriteBatch* batch, const crypto::SessionId& id,
                          const std::string& what);
  // Group commit of Append (catalog_group.cc): the batch, with the node-log leaf `leaf`, is
  // written in one synced write together with every other Append queued meanwhile; leaf
  // indices follow queue order and the group is durable all or nothing, so there is no hole.
  struct PendingAppend;
  Status CommitAppend(rocksdb::WriteBatch* batch, const crypto::SessionId& id, Bytes leaf,
                      const std::string& what);
  Status CommitGroup(const std::vector<PendingAppend*>& group);
  // Adds the search index's changes for chain entries `entries` (encodings, in chain order) of
  // session `id` to `batch` (catalog_index.cc). An entry that does not decode is not indexed
  // (logged): the index never stands in the way of storing evidence.
  // Also rewrites the session's search document with `record` (the summary results show).
  // The cards' place is derived from `repl`, the session's repl record as the batch leaves it
  // (null: the stored one), and `batch_wants` (PlaceOf). REQUIRES: SessionMutex(record.id)
  // held, or no other writer (Reindex).
  Status IndexForSearch(rocksdb::WriteBatch* batch, const SessionRecord& record,
                        const std::vector<ByteView>& entries, const ReplRecord* repl = nullptr,
                        bool batch_wants = false);
  // Puts the entries this node signed into its log when the catalog was written before the log
  // existed (meta "node-log" absent), in (session, seq) order; idempotent if interrupted.
  Status LogOldEntries();
  // Rebuilds the index when the catalog has none yet (created before the index existed, or a
  // rebuild was interrupted).
  Status ReindexIfMissing();
  // Reads the cards (keys card_prefix | doc key, through *cards) of the matches `postings`
  // (ascending, every session of each time slot they are in), then, of the sessions that
  // started in q's time range, when q.with_metadata or `filter` needs them, their documents
  // (one MultiGet); appends the ones that pass `filter` and q.states to *hits newest first (up
  // to q.limit), and clears *postings.
  Status ReadHits(const rocksdb::ReadOptions& ro, search_index::CardReader* cards,
                  const SearchQuery& q, const search_index::PostFilter& filter,
                  const std::string& card_prefix, std::vector<uint64_t>* postings,
                  std::vector<SearchHit>* hits);
  // Where complete copies of a session are, from its card's place bits and this node's role.
  SessionLocation LocationOf(uint8_t place) const;

  // --- A card's place (catalog_place.cc) ---
  // Every write that changes what a session's place derives from (its entries, its repl record,
  // its inbox rows) reads that state and writes the cards in one batch under the session's lock,
  // so that two such writes cannot leave a card with a place from a state neither wrote.
  std::mutex& SessionMutex(const crypto::SessionId& id);
  // The place never stands in the way of storing evidence: what it cannot read (a damaged
  // record, a read error) is logged by Unplaced and the write goes on, its place possibly stale
  // until `tcd reindex`.
  void Unplaced(const crypto::SessionId& id, const Status& why);
  // The session's repl record; a default one when it has none, the catalog has no such family,
  // or it cannot be read.
  ReplRecord ReplOrDefault(const crypto::SessionId& id);
  // The kPlace* bits (search_index.h) of session `s` whose repl record is `repl`, as the caller's
  // batch leaves them; `batch_wants`: the batch adds blobs of it wanted from repl.from_peer;
  // `removed`: an inbox key the batch deletes (not counted as still wanted).
  uint8_t PlaceOf(const SessionRecord& s, const ReplRecord& repl, bool batch_wants,
                  const std::string& removed = {});
  // Puts the session's card (doc key `doc_key`) under every key it is stored under.
  void PutCards(rocksdb::WriteBatch* batch, const std::string& doc_key, uint8_t place,
                ByteView session, const crypto::Metadata& meta);
  // Rewrites the session's cards in *batch with `place` unless the stored card has it (nothing
  // when the session is not indexed).
  void PutPlace(rocksdb::WriteBatch* batch, const crypto::SessionId& id, uint8_t place);
  // PlaceOf with the stored summary, then PutPlace (nothing when there is no summary).
  void RefreshPlace(rocksdb::WriteBatch* batch, const crypto::SessionId& id,
                    const ReplRecord& repl, bool batch_wants, const std::string& removed = {});
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // owned: destroyed before db_
  rocksdb::ColumnFamilyHandle* sessions_ = nullptr;
  rocksdb::ColumnFamilyHandle* chain_ = nullptr;
  rocksdb::ColumnFamilyHandle* blobs_ = nullptr;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  rocksdb::ColumnFamilyHandle* repl_ = nullptr;    // null on an old catalog opened read-only
  rocksdb::ColumnFamilyHandle* outbox_ = nullptr;  // idem
  rocksdb::ColumnFamilyHandle* inbox_ = nullptr;   // idem
  rocksdb::ColumnFamilyHandle* search_docs_ = nullptr;      // idem
  rocksdb::ColumnFamilyHandle* search_postings_ = nullptr;  // idem
  rocksdb::ColumnFamilyHandle* search_cards_ = nullptr;     // idem
  rocksdb::ColumnFamilyHandle* search_ids_ = nullptr;       // idem
  // The next session number the index gives (search_index.h), once read from search_ids.
  std::atomic<uint32_t> next_number_{0};
  std::unique_ptr<NodeLogs> logs_;
  // Read-only catalogs only: iterators over search_postings and search_cards kept between
  // searches (node/search_lists.h).
  std::unique_ptr<search_index::IteratorPool> postings_pool_, cards_pool_;
  bool track_outbox_ = false;
  bool sync_ = true;
  bool node_log_ = true;
  bool read_only_ = false;
  std::string role_;
  bool reindexed_on_open_ = false;
  bool search_ready_ = false;  // the search index is complete and of the current version
  std::mutex outbox_mu_;  // orders Append's outbox put against RemoveFromOutbox's check
  std::array<std::mutex, 256> session_mu_;  // SessionMutex: sessions share them by id
  std::mutex group_mu_;  // guards group_queue_, group_leader_
  std::condition_variable group_cv_;
  std::vector<PendingAppend*> group_queue_;  // waiting for the next group, in arrival order
  bool group_leader_ = false;                // a group is being written
};

}  // namespace tcd::node
