#include "crypto/merkle.h"

#include <sodium.h>

#include <bit>
#include <string>

#include "crypto/internal.h"

namespace tcd::crypto::merkle {
namespace {

// The largest power of two below n (n > 1): where RFC 9162 splits a tree of n leaves.
uint64_t Split(uint64_t n) { return std::bit_floor(n - 1); }

std::string Sizes(uint64_t a, uint64_t b) {
  return std::to_string(a) + " of a tree of " + std::to_string(b) + " leaves";
}

}  // namespace

Hash256 LeafHash(ByteView leaf) {
  internal::MustInitCrypto();
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  const uint8_t prefix = 0x00;
  crypto_hash_sha256_update(&st, &prefix, 1);
  crypto_hash_sha256_update(&st, leaf.data(), leaf.size());
  Hash256 h;
  crypto_hash_sha256_final(&st, h.data());
  return h;
}

Hash256 NodeHash(const Hash256& left, const Hash256& right) {
  internal::MustInitCrypto();
  uint8_t in[1 + 32 + 32];
  in[0] = 0x01;
  std::copy(left.begin(), left.end(), in + 1);
  std::copy(right.begin(), right.end(), in + 33);
  Hash256 h;
  crypto_hash_sha256(h.data(), in, sizeof in);
  return h;
}

Hash256 EmptyRoot() {
  internal::MustInitCrypto();
  Hash256 h;
  crypto_hash_sha256(h.data(), nullptr, 0);
  return h;
}

namespace {

// MTH of leaves [begin, end) (non-empty) from the stored complete subtrees.
Result<Hash256> Range(uint64_t begin, uint64_t end, const SubtreeHashes& get) {
  const uint64_t n = end - begin;
  if (std::has_single_bit(n) && begin % n == 0) {  // a complete subtree: stored
    const int k = std::countr_zero(n);
    return get(k, begin >> k);
  }
  const uint64_t k = Split(n);
  TCD_ASSIGN_OR_RETURN(Hash256 left, Range(begin, begin + k, get));
  TCD_ASSIGN_OR_RETURN(Hash256 right, Range(begin + k, end, get));
  return NodeHash(left, right);
}

Status Path(uint64_t index, uint64_t begin, uint64_t end, const SubtreeHashes& get,
            std::vector<Hash256>* out) {
  if (end - begin == 1) return Status::OK();
  const uint64_t mid = begin + Split(end - begin);
  const bool left = index < mid;
  TCD_RETURN_IF_ERROR(left ? Path(index, begin, mid, get, out) : Path(index, mid, end, get, out));
  TCD_ASSIGN_OR_RETURN(Hash256 sibling, left ? Range(mid, end, get) : Range(begin, mid, get));
  out->push_back(sibling);
  return Status::OK();
}

Status SubProof(uint64_t old_end, uint64_t begin, uint64_t end, bool whole,
                const SubtreeHashes& get, std::vector<Hash256>* out) {
  if (old_end == end) {  // the old tree's subtree is this one: known to the verifier if whole
    if (whole) return Status::OK();
    TCD_ASSIGN_OR_RETURN(Hash256 h, Range(begin, end, get));
    out->push_back(h);
    return Status::OK();
  }
  const uint64_t mid = begin + Split(end - begin);
  const bool left = old_end <= mid;
  TCD_RETURN_IF_ERROR(left ? SubProof(old_end, begin, mid, whole, get, out)
                           : SubProof(old_end, mid, end, false, get, out));
  TCD_ASSIGN_OR_RETURN(Hash256 sibling, left ? Range(mid, end, get) : Range(begin, mid, get));
  out->push_back(sibling);
  return Status::OK();
}

}  // namespace

Result<Hash256> RootOf(uint64_t size, const SubtreeHashes& get) { return Range(0, size, get); }

Result<std::vector<Hash256>> InclusionProofOf(uint64_t index, uint64_t size,
                                              const SubtreeHashes& get) {
  std::vector<Hash256> out;
  TCD_RETURN_IF_ERROR(Path(index, 0, size, get, &out));
  return out;
}

Result<std::vector<Hash256>> ConsistencyProofOf(uint64_t old_size, uint64_t new_size,
                                                const SubtreeHashes& get) {
  std::vector<Hash256> out;
  TCD_RETURN_IF_ERROR(SubProof(old_size, 0, new_size, true, get, &out));
  return out;
}

Result<std::vector<Hash256>> NewSubtrees(uint64_t size, const Hash256& leaf_hash,
                                         const SubtreeHashes& get) {
  std::vector<Hash256> out{leaf_hash};
  // Each level whose new subtree is a right child completes a pair one level up.
  for (int k = 0; (size >> k) & 1; ++k) {
    TCD_ASSIGN_OR_RETURN(Hash256 left, get(k, (size >> k) - 1));
    out.push_back(NodeHash(left, out.back()));
  }
  return out;
}

SubtreeHashes Tree::Reader() const {
  return [this](int level, uint64_t index) -> Result<Hash256> { return levels_[level][index]; };
}

void Tree::Append(const Hash256& leaf_hash) {
  const uint64_t n = size();
  std::vector<Hash256> made = NewSubtrees(n, leaf_hash, Reader()).value();
  if (levels_.size() < made.size()) levels_.resize(made.size());
  for (size_t k = 0; k < made.size(); ++k) levels_[k].push_back(made[k]);
}

Result<Hash256> Tree::Root(uint64_t size) const {
  if (size > this->size())
    return Status::InvalidArgument("merkle: no root for " + std::to_string(size) +
                                   " leaves: the tree has " + std::to_string(this->size()));
  return size == 0 ? EmptyRoot() : RootOf(size, Reader());
}

Result<std::vector<Hash256>> Tree::InclusionProof(uint64_t index, uint64_t size) const {
  if (size > this->size() || index >= size)
    return Status::InvalidArgument("merkle: no inclusion proof for leaf " + Sizes(index, size) +
                                   " (the tree has " + std::to_string(this->size()) + ")");
  return InclusionProofOf(index, size, Reader());
}

Result<std::vector<Hash256>> Tree::ConsistencyProof(uint64_t old_size, uint64_t new_size) const {
  if (new_size > size() || old_size > new_size)
    return Status::InvalidArgument("merkle: no consistency proof from " +
                                   std::to_string(old_size) + " to " + std::to_string(new_size) +
                                   " leaves (the tree has " + std::to_string(size()) + ")");
  if (old_size == 0 || old_size == new_size) return std::vector<Hash256>{};
  return ConsistencyProofOf(old_size, new_size, Reader());
}

Status VerifyInclusion(uint64_t index, uint64_t size, const Hash256& leaf_hash,
                       const std::vector<Hash256>& proof, const Hash256& root) {
  const std::string what = "inclusion proof of leaf " + Sizes(index, size);
  if (index >= size) return Status::Corruption(what + ": the leaf is outside the tree");
  uint64_t fn = index, sn = size - 1;
  Hash256 r = leaf_hash;
  for (size_t i = 0; i < proof.size(); ++i) {
    if (sn == 0)
      return Status::Corruption(what + ": " + std::to_string(proof.size()) +
                                " hashes, more than the tree's height (" + std::to_string(i) +
                                ")");
    if ((fn & 1) || fn == sn) {
      r = NodeHash(proof[i], r);
      if (!(fn & 1))
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
    } else {
      r = NodeHash(r, proof[i]);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0)
    return Status::Corruption(what + ": " + std::to_string(proof.size()) +
                              " hashes, fewer than the path to the root needs");
  if (r != root) return Status::Corruption(what + ": it leads to another root than the one given");
  return Status::OK();
}

Status VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash256& old_root,
                         const Hash256& new_root, const std::vector<Hash256>& proof) {
  const std::string what = "consistency proof from " + std::to_string(old_size) + " to " +
                           std::to_string(new_size) + " leaves";
  if (old_size > new_size) return Status::Corruption(what + ": the old tree is the larger");
  if (old_size == 0) {  // the empty tree is a prefix of every tree
    if (!proof.empty()) return Status::Corruption(what + ": must be empty from the empty tree");
    return Status::OK();
  }
  if (old_size == new_size) {
    if (!proof.empty()) return Status::Corruption(what + ": must be empty between equal sizes");
    if (old_root != new_root)
      return Status::Corruption(what + ": two different roots for the same size (a split view)");
    return Status::OK();
  }
  if (proof.empty()) return Status::Corruption(what + ": no hashes");
  // The old tree's root is the first hash, unless old_size is a power of two: it is then a
  // complete subtree the verifier already knows.
  std::vector<Hash256> path;
  if (std::has_single_bit(old_size)) path.push_back(old_root);
  path.insert(path.end(), proof.begin(), proof.end());
  uint64_t fn = old_size - 1, sn = new_size - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash256 fr = path[0], sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    if (sn == 0)
      return Status::Corruption(what + ": " + std::to_string(proof.size()) +
                                " hashes, more than the trees need");
    if ((fn & 1) || fn == sn) {
      fr = NodeHash(path[i], fr);
      sr = NodeHash(path[i], sr);
      if (!(fn & 1))
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
    } else {
      sr = NodeHash(sr, path[i]);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0)
    return Status::Corruption(what + ": " + std::to_string(proof.size()) +
                              " hashes, fewer than the trees need");
  if (fr != old_root)
    return Status::Corruption(what + ": it does not lead to the old root given");
  if (sr != new_root)
    return Status::Corruption(what + ": it does not lead to the new root given");
  return Status::OK();
}

}  // namespace tcd::crypto::merkle
