// Node logs (../shared/DESIGN.md §3; docs/FORMAT.md §Node log): append-only Merkle trees
// (crypto/merkle, RFC 9162 hashing) kept in the catalog's `log` column family.
//   * This node's own log: a leaf for every chain entry this node signs, in the order they
//     become durable (in the same synced batch as the entry), and, at a province or central
//     archive, a leaf for every downstream checkpoint it cosigns.
//   * Copies of downstream nodes' logs, kept by the node that cosigns them (one per signer key).
// The node signs checkpoints of its own log in the C2SP signed-note/tlog-checkpoint format
// (crypto/note.h); they are kept, one per size, as evidence of what it showed.
//
// Thread-safety: safe for concurrent use. Leaves are appended only under Lock(), held until
// the batch holding them is written, so indices are assigned in durable order with no holes.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/chain.h"
#include "crypto/keys.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class WriteBatch;
}  // namespace rocksdb

namespace tcd::node {

// Leaf encodings: "tcd/log-leaf/v1" 0x00 | u8 kind | …
constexpr uint8_t kLeafEntry = 1;       // | session_id[16] | u64 seq | entry_hash[32]
constexpr uint8_t kLeafCheckpoint = 2;  // | u16 length | checkpoint body (a cosigned one)
Bytes EntryLeaf(const crypto::SessionId& session, uint64_t seq, const crypto::Hash256& entry_hash);
Bytes CheckpointLeaf(std::string_view checkpoint_body);
// A node's log origin (and key name): "tcd-archive/" + crypto::KeyId(its signing key).
std::string LogOrigin(const crypto::PublicKey& sign_pk);

// Which log: this node's own (Own()), or the copy of the log signed by a downstream key.
struct LogId {
  std::string prefix;  // the key prefix in the `log` family
  static LogId Own();
  static LogId Of(const crypto::PublicKey& signer);
};

class NodeLogs {
 public:
  NodeLogs(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) : db_(db), cf_(cf) {}

  // Held from AddLeaves until the batch is written (or dropped).
  std::unique_lock<std::mutex> Lock() { return std::unique_lock<std::mutex>(mu_); }
  // Adds `leaves` as the next leaves of `log` to `batch` (their hashes, the new size and, for
  // entry leaves, the entry → index key). REQUIRES: Lock() held.
  Status AddLeaves(rocksdb::WriteBatch* batch, const LogId& log, const std::vector<Bytes>& leaves);
  // The same in a batch of their own, written synced.
  Status Append(const LogId& log, const std::vector<Bytes>& leaves);

  Result<uint64_t> Size(const LogId& log);
  Result<crypto::Hash256> Root(const LogId& log, uint64_t size);
  Result<Bytes> Leaf(const LogId& log, uint64_t index);
  Result<std::vector<crypto::Hash256>> InclusionProof(const LogId& log, uint64_t index,
                                                      uint64_t size);
  Result<std::vector<crypto::Hash256>> ConsistencyProof(const LogId& log, uint64_t old_size,
                                                        uint64_t new_size);
  // The index of the entry leaf of (session, seq), if the log has one.
  Result<std::optional<uint64_t>> IndexOfEntry(const LogId& log, const crypto::SessionId& session,
                                               uint64_t seq);

  // Checkpoint notes (signed-note text), one per tree size; Put is synced, and records
  // `signer` as the log's signer key when given.
  Status PutCheckpoint(const LogId& log, uint64_t size, const std::string& note,
                       const crypto::PublicKey* signer = nullptr);
  // The newest `newest` kept checkpoints, oldest first.
  Result<std::vector<std::pair<uint64_t, std::string>>> Checkpoints(const LogId& log,
                                                                    size_t newest = SIZE_MAX);
  // The key that signs the log's checkpoints: a downstream log's is in its LogId; this node's is
  // recorded when it first signs one (nullopt before).
  Result<std::optional<crypto::PublicKey>> Signer(const LogId& log);
  // Every downstream log this node keeps a copy of (their signer keys).
  Result<std::vector<crypto::PublicKey>> Downstream();

 private:
  Result<crypto::Hash256> ReadHash(const LogId& log, int level, uint64_t index);
  // Checks 0 < sizes ≤ Size(log), naming `what` otherwise.
  Status CheckSize(const LogId& log, uint64_t size, const std::string& what);
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  std::mutex mu_;
};

// Signs a checkpoint of this node's own log at its current size with `sign_sk` (64-byte
// Ed25519 secret key) and keeps it; when the newest kept checkpoint already has this size it is
// returned unchanged. Returns the note text. The log is bound to the first key that signs it:
// InvalidArgument, naming both keys, for another one.
Result<std::string> SignOwnCheckpoint(NodeLogs* logs, const crypto::SecretBytes& sign_sk);

// Checks a kept checkpoint against the stored tree: it parses, is of `log`'s origin and
// `size`, its root is the tree's root at that size, and it carries a valid signature by the
// log's signer. OK, or Corruption naming the size and what is wrong.
Status CheckCheckpoint(NodeLogs* logs, const LogId& log, uint64_t size, const std::string& note);

}  // namespace tcd::node
