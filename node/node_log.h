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
struct ParsedLeaf {
  uint8_t kind = 0;
  crypto::SessionId session{};  // kLeafEntry
  uint64_t seq = 0;             // kLeafEntry
  crypto::Hash256 entry_hash{}; // kLeafEntry
  std::string checkpoint;       // kLeafCheckpoint: the checkpoint body
};
// Corruption naming what is wrong for anything but the two encodings above (exactly).
Result<ParsedLeaf> ParseLeaf(ByteView leaf);
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
  // entry leaves, the entry → index key); returns the root the log will have. REQUIRES: Lock()
  // held.
  Result<crypto::Hash256> AddLeaves(rocksdb::WriteBatch* batch, const LogId& log,
                                    const std::vector<Bytes>& leaves);
  // The same in a batch of their own, written synced.
  Status Append(const LogId& log, const std::vector<Bytes>& leaves);
  // A cosigner's step: appends `leaves` to the copy `log` and, only when they lead to `root`,
  // keeps `note` as the copy's checkpoint of the new size and adds `own_leaf` (when given) to
  // this node's own log, all in one synced batch. Aborted (nothing written) for another root.
  Status AppendVerified(const LogId& log, const std::vector<Bytes>& leaves,
                        const crypto::Hash256& root, const std::string& note,
                        const Bytes* own_leaf);

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
  // The index of the checkpoint leaf holding `body`, if the log has one.
  Result<std::optional<uint64_t>> IndexOfCheckpoint(const LogId& log, std::string_view body);

  // Checkpoint notes (signed-note text), one per tree size; Put is synced, and records
  // `signer` as the log's signer key when given.
  Status PutCheckpoint(const LogId& log, uint64_t size, const std::string& note,
                       const crypto::PublicKey* signer = nullptr);
  // The kept checkpoint of that size, if any.
  Result<std::optional<std::string>> CheckpointAt(const LogId& log, uint64_t size);
  // The kept checkpoint of the largest size ≤ `size`, if any.
  Result<std::optional<std::pair<uint64_t, std::string>>> CheckpointAtOrBelow(const LogId& log,
                                                                             uint64_t size);
  // The newest `newest` kept checkpoints, oldest first.
  Result<std::vector<std::pair<uint64_t, std::string>>> Checkpoints(const LogId& log,
                                                                    size_t newest = SIZE_MAX);
  // The key that signs the log's checkpoints: a downstream log's is in its LogId; this node's is
  // recorded when it first signs one (nullopt before).
  Result<std::optional<crypto::PublicKey>> Signer(const LogId& log);
  // Records this node's key as its log's signer when none is (a cosigner that never signs a
  // checkpoint of its own, the central archive, still names its key for bundle proofs).
  Status SetOwnSigner(const crypto::PublicKey& pk);
  // Split views: signed checkpoints of a downstream log that contradict the copy kept here (the
  // same size with another root, or no consistency proof with it), kept (synced) as evidence
  // with when and why: each distinct note once, at most kMaxSplitViews per log.
  static constexpr size_t kMaxSplitViews = 64;
  struct SplitView {
    crypto::PublicKey signer{};
    uint64_t size = 0;
    int64_t seen_us = 0;  // this node's clock
    std::string why;
    std::string note;  // the contradicting checkpoint as received
  };
  Status PutSplitView(const SplitView& v);
  Result<std::vector<SplitView>> SplitViews();
  // How much of `log` (this node's own, or a copy it relays) the upstream tier cosigned (0:
  // nothing yet).
  Result<uint64_t> UpstreamSize(const LogId& log);
  // Keeps the upstream's cosigned checkpoint of `size` (replacing the one kept) and raises the
  // recorded cosigned size to `size` — and, when `further_up`, the size cosigned by the central
  // tier too (this node's own log only): one synced batch; nothing when nothing changes.
  Status PutUpstreamCosigned(const LogId& log, uint64_t size, const std::string& note,
                             bool further_up = false);
  // Leaves of this node's own log under a checkpoint the central tier cosigned (0: none yet):
  // the custody retention relies on.
  Result<uint64_t> CentralCosignedSize();
  // Every downstream log this node keeps a copy of (their signer keys).
  Result<std::vector<crypto::PublicKey>> Downstream();

 private:
  Result<crypto::Hash256> ReadHash(const LogId& log, int level, uint64_t index);
  Status Write(rocksdb::WriteBatch* batch, const std::string& what);  // synced
  // Checks 0 < sizes ≤ Size(log), naming `what` otherwise.
  Status CheckSize(const LogId& log, uint64_t size, const std::string& what);
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  std::mutex mu_;
};

// Signs a checkpoint of this node's own log at its current size with `sign_sk` (64-byte
// Ed25519 secret key) and keeps it; when a checkpoint of this size is kept it is returned
// unchanged. Returns the note text. The log is bound to the first key that signs it:
// InvalidArgument, naming both keys, for another one.
Result<std::string> SignOwnCheckpoint(NodeLogs* logs, const crypto::SecretBytes& sign_sk);
// The same at an earlier size (≤ the log's size); a kept checkpoint of that size is returned.
Result<std::string> SignOwnCheckpointAt(NodeLogs* logs, const crypto::SecretBytes& sign_sk,
                                        uint64_t size);

// Checks a kept checkpoint against the stored tree: it parses, is of `log`'s origin and
// `size`, its root is the tree's root at that size, and it carries a valid signature by the
// log's signer. OK, or Corruption naming the size and what is wrong.
Status CheckCheckpoint(NodeLogs* logs, const LogId& log, uint64_t size, const std::string& note);

}  // namespace tcd::node
