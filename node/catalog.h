// Catalog: the node's RocksDB database (DATA/catalog), one column family per record kind
// (docs/FORMAT.md §Store layout):
//   sessions  session_id[16]                 → SessionRecord (derived summary, rebuilt from chain)
//   chain     session_id[16] || u64 seq (BE) → ChainRecord (entry encoding + head signature)
//   blobs     cipher_hash[32]                → session_id[16] || u64 seq (which entry owns it)
//   meta      ASCII key                      → value (e.g. "format-version" → "1")
// Every mutation is one WriteBatch written with sync=true: it is either wholly durable or absent.
//
// Thread-safety: safe for concurrent use (RocksDB is). Read-only instances may be opened while
// another process holds the database open for writing; they see the state as of their Open().
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/chain.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
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

  Result<std::vector<SessionRecord>> ListSessions();  // in id order (= creation order)
  Result<SessionRecord> GetSession(const crypto::SessionId& id);
  // Every session id that has a summary record or chain entries (a session whose summary was
  // deleted or damaged is still found through its chain), in id order.
  Result<std::vector<crypto::SessionId>> ListSessionIds();
  // (seq as stored in the key, record) in key order.
  Result<std::vector<std::pair<uint64_t, ChainRecord>>> GetChain(const crypto::SessionId& id);
  // True when the chain holds an entry at (id, seq).
  Result<bool> HasChainEntry(const crypto::SessionId& id, uint64_t seq);
  // Every blob hash the catalog references.
  Result<std::vector<crypto::Hash256>> ListBlobRefs();

  // Test and repair hooks: raw access to one chain record (used by tamper tests and tools
  // that need to rewrite history deliberately).
  Status RawPutChain(const crypto::SessionId& id, uint64_t seq, ByteView value);
  Status RawDeleteChain(const crypto::SessionId& id, uint64_t seq);

 private:
  Catalog() = default;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // owned: destroyed before db_
  rocksdb::ColumnFamilyHandle* sessions_ = nullptr;
  rocksdb::ColumnFamilyHandle* chain_ = nullptr;
  rocksdb::ColumnFamilyHandle* blobs_ = nullptr;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
};

}  // namespace tcd::node
