// The node log's Merkle tree (../shared/DESIGN.md §3; docs/FORMAT.md §Node log): RFC 9162
// §2.1 hashing with SHA-256, as Certificate Transparency and the C2SP tlog formats use it, so
// that any RFC 9162 verifier checks our proofs.
//   leaf hash  SHA-256(0x00 || leaf)
//   node hash  SHA-256(0x01 || left || right)
//   root       MTH of the leaf hashes: the empty tree's is SHA-256(""); one leaf's, its leaf
//              hash; n > 1 leaves, NodeHash(MTH(first k), MTH(the rest)), k the largest power
//              of two below n.
// Proofs are lists of hashes, bottom up: RFC 9162 §2.1.3 (inclusion) and §2.1.4 (consistency).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/hash.h"

namespace tcd::crypto::merkle {

Hash256 LeafHash(ByteView leaf);
Hash256 NodeHash(const Hash256& left, const Hash256& right);
Hash256 EmptyRoot();

// Where a tree's hashes are kept: the hash of the complete subtree (level k, index i), which
// covers leaves [i·2^k, (i+1)·2^k); level 0 holds the leaf hashes. Asked only for subtrees that
// exist in the tree the caller describes; an error (e.g. a failed read) is passed on.
using SubtreeHashes = std::function<Result<Hash256>(int level, uint64_t index)>;

// Over any storage of a tree of at least the sizes given (the caller checks the sizes):
// the root of the first `size` leaves (size > 0), RFC 9162's PATH(index, D[size]) and
// PROOF(old_size, D[new_size]) (0 < old_size < new_size). Each reads O(log² n) hashes at most.
Result<Hash256> RootOf(uint64_t size, const SubtreeHashes& get);
Result<std::vector<Hash256>> InclusionProofOf(uint64_t index, uint64_t size,
                                              const SubtreeHashes& get);
Result<std::vector<Hash256>> ConsistencyProofOf(uint64_t old_size, uint64_t new_size,
                                                const SubtreeHashes& get);
// Appending leaf number `size` (0-based) to a tree of `size` leaves completes the subtrees
// (k, size >> k) for k = 0 … countr_one(size): their hashes, level 0 first (the leaf hash).
// `get` is asked for the left siblings (k, (size >> k) - 1).
Result<std::vector<Hash256>> NewSubtrees(uint64_t size, const Hash256& leaf_hash,
                                         const SubtreeHashes& get);

// An in-memory tree that grows by appending leaf hashes. It keeps the hash of every complete subtree
// (2^k leaves starting at a multiple of 2^k), so the root of any earlier size, and any proof,
// costs O(log² n) hashes.
class Tree {
 public:
  void Append(const Hash256& leaf_hash);
  uint64_t size() const { return levels_.empty() ? 0 : levels_[0].size(); }
  const Hash256& leaf(uint64_t index) const { return levels_[0][index]; }  // REQUIRES: < size()

  // The root when the tree had `size` leaves (InvalidArgument when size > size()).
  Result<Hash256> Root(uint64_t size) const;
  // The hashes that lead from leaf `index` to the root of the tree of `size` leaves.
  Result<std::vector<Hash256>> InclusionProof(uint64_t index, uint64_t size) const;
  // The hashes that prove the tree of `old_size` leaves is a prefix of that of `new_size`
  // (empty when old_size is 0 or equal to new_size).
  Result<std::vector<Hash256>> ConsistencyProof(uint64_t old_size, uint64_t new_size) const;

 private:
  SubtreeHashes Reader() const;
  std::vector<std::vector<Hash256>> levels_;  // levels_[k][i]: leaves [i·2^k, (i+1)·2^k)
};

// RFC 9162 §2.1.3.2: OK when `proof` leads from `leaf_hash` at `index` to `root` of a tree of
// `size` leaves; otherwise Corruption naming the index, the size and what did not match.
Status VerifyInclusion(uint64_t index, uint64_t size, const Hash256& leaf_hash,
                       const std::vector<Hash256>& proof, const Hash256& root);
// RFC 9162 §2.1.4.2: OK when `proof` shows the tree of `old_size` leaves with root `old_root`
// is a prefix of the tree of `new_size` leaves with root `new_root`; otherwise Corruption.
Status VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash256& old_root,
                         const Hash256& new_root, const std::vector<Hash256>& proof);

}  // namespace tcd::crypto::merkle
