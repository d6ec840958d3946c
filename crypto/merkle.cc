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

void Tree::Append(const Hash256& leaf_hash) {
  if (levels_.empty()) levels_.emplace_back();
  levels_[0].push_back(leaf_hash);
  // Each level whose new last entry completes a pair makes a hash one level up.
  for (size_t k = 0; levels_[k].size() % 2 == 0; ++k) {
    if (k + 1 == levels_.size()) levels_.emplace_back();
    const auto& l = levels_[k];
    levels_[k + 1].push_back(NodeHash(l[l.size() - 2], l[l.size() - 1]));
  }
}

Hash256 Tree::Range(uint64_t begin, uint64_t end) const {
  const uint64_t n = end - begin;
  if (std::has_single_bit(n) && begin % n == 0) {  // a complete subtree: stored
    const int k = std::countr_zero(n);
    return levels_[k][begin >> k];
  }
  const uint64_t k = Split(n);
  return NodeHash(Range(begin, begin + k), Range(begin + k, end));
}

Result<Hash256> Tree::Root(uint64_t size) const {
  if (size > this->size())
    return Status::InvalidArgument("merkle: no root for " + std::to_string(size) +
                                   " leaves: the tree has " + std::to_string(this->size()));
  return size == 0 ? EmptyRoot() : Range(0, size);
}

void Tree::Path(uint64_t index, uint64_t begin, uint64_t end, std::vector<Hash256>* out) const {
  if (end - begin == 1) return;
  const uint64_t mid = begin + Split(end - begin);
  if (index < mid) {
    Path(index, begin, mid, out);
    out->push_back(Range(mid, end));
  } else {
    Path(index, mid, end, out);
    out->push_back(Range(begin, mid));
  }
}

Result<std::vector<Hash256>> Tree::InclusionProof(uint64_t index, uint64_t size) const {
  if (size > this->size() || index >= size)
    return Status::InvalidArgument("merkle: no inclusion proof for leaf " + Sizes(index, size) +
                                   " (the tree has " + std::to_string(this->size()) + ")");
  std::vector<Hash256> out;
  Path(index, 0, size, &out);
  return out;
}

void Tree::SubProof(uint64_t old_end, uint64_t begin, uint64_t end, bool whole,
                    std::vector<Hash256>* out) const {
  if (old_end == end) {  // the old tree's subtree is this one: known to the verifier if whole
    if (!whole) out->push_back(Range(begin, end));
    return;
  }
  const uint64_t mid = begin + Split(end - begin);
  if (old_end <= mid) {
    SubProof(old_end, begin, mid, whole, out);
    out->push_back(Range(mid, end));
  } else {
    SubProof(old_end, mid, end, false, out);
    out->push_back(Range(begin, mid));
  }
}

Result<std::vector<Hash256>> Tree::ConsistencyProof(uint64_t old_size, uint64_t new_size) const {
  if (new_size > size() || old_size > new_size)
    return Status::InvalidArgument("merkle: no consistency proof from " +
                                   std::to_string(old_size) + " to " + std::to_string(new_size) +
                                   " leaves (the tree has " + std::to_string(size()) + ")");
  std::vector<Hash256> out;
  if (old_size > 0 && old_size < new_size) SubProof(old_size, 0, new_size, true, &out);
  return out;
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
