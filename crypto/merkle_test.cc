// The node log's Merkle tree (crypto/merkle.h): RFC 6962's published test vectors, and proofs
// for every tree size 1..2,000 against a straightforward recursive reference, with every single
// wrong hash refused.
#include "crypto/merkle.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace tcd::crypto::merkle {
namespace {

Hash256 FromHex(const std::string& hex) {
  Hash256 h{};
  for (size_t i = 0; i < h.size(); ++i) h[i] = std::stoi(hex.substr(2 * i, 2), nullptr, 16);
  return h;
}

std::vector<Hash256> Hexes(const std::vector<std::string>& hexes) {
  std::vector<Hash256> out;
  for (const auto& h : hexes) out.push_back(FromHex(h));
  return out;
}

// The reference: RFC 9162 §2.1's definitions, recursively, over a vector of leaf hashes.
Hash256 RefRoot(const std::vector<Hash256>& d, size_t begin, size_t end) {
  if (end == begin) return EmptyRoot();
  if (end - begin == 1) return d[begin];
  size_t k = 1;
  while (k * 2 < end - begin) k *= 2;
  return NodeHash(RefRoot(d, begin, begin + k), RefRoot(d, begin + k, end));
}

std::vector<Hash256> RefPath(const std::vector<Hash256>& d, size_t m, size_t begin, size_t end) {
  if (end - begin == 1) return {};
  size_t k = 1;
  while (k * 2 < end - begin) k *= 2;
  std::vector<Hash256> p;
  if (m < k) {
    p = RefPath(d, m, begin, begin + k);
    p.push_back(RefRoot(d, begin + k, end));
  } else {
    p = RefPath(d, m - k, begin + k, end);
    p.push_back(RefRoot(d, begin, begin + k));
  }
  return p;
}

std::vector<Hash256> RefSubProof(const std::vector<Hash256>& d, size_t m, size_t begin,
                                 size_t end, bool b) {
  const size_t n = end - begin;
  if (m == n) return b ? std::vector<Hash256>{} : std::vector<Hash256>{RefRoot(d, begin, end)};
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  std::vector<Hash256> p;
  if (m <= k) {
    p = RefSubProof(d, m, begin, begin + k, b);
    p.push_back(RefRoot(d, begin + k, end));
  } else {
    p = RefSubProof(d, m - k, begin + k, end, false);
    p.push_back(RefRoot(d, begin, begin + k));
  }
  return p;
}

// RFC 6962's test data (as published with Certificate Transparency's reference code).
const std::vector<std::string> kLeafHex = {"",         "00",       "10",
                                           "2021",     "3031",     "40414243",
                                           "5051525354555657",
                                           "606162636465666768696a6b6c6d6e6f"};
const std::vector<std::string> kRootHex = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};

Tree ReferenceTree() {
  Tree t;
  for (const auto& hex : kLeafHex) {
    Bytes leaf;
    for (size_t i = 0; i < hex.size(); i += 2)
      leaf.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    t.Append(LeafHash(leaf));
  }
  return t;
}

TEST(MerkleTest, MatchesRfc6962TestVectors) {
  const Tree t = ReferenceTree();
  for (uint64_t n = 0; n <= 8; ++n) EXPECT_EQ(*t.Root(n), FromHex(kRootHex[n])) << "size " << n;
  struct Case {
    uint64_t index, size;
    std::vector<std::string> proof;
  };
  const std::vector<Case> inclusion = {
      {0, 8, {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
              "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
              "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {5, 8, {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
              "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
              "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {0, 1, {}}};
  for (const auto& c : inclusion) {
    EXPECT_EQ(*t.InclusionProof(c.index, c.size), Hexes(c.proof)) << c.index << "/" << c.size;
    EXPECT_TRUE(VerifyInclusion(c.index, c.size, t.leaf(c.index), Hexes(c.proof),
                                FromHex(kRootHex[c.size])).ok());
  }
  const std::vector<Case> consistency = {
      {1, 1, {}},
      {1, 8, {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
              "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
              "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {6, 8, {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
              "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
              "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {2, 5, {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
              "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}}};
  for (const auto& c : consistency) {
    EXPECT_EQ(*t.ConsistencyProof(c.index, c.size), Hexes(c.proof)) << c.index << "→" << c.size;
    EXPECT_TRUE(VerifyConsistency(c.index, c.size, FromHex(kRootHex[c.index]),
                                  FromHex(kRootHex[c.size]), Hexes(c.proof)).ok());
  }
}

// Every size 1..2,000: the root and the proofs (first, last and a random leaf; a random older
// size) equal the reference's and verify; changing any one hash of a proof, the leaf, the index
// or either root makes verification fail.
TEST(MerkleTest, ProofsMatchTheReferenceAndEveryWrongHashFails) {
  std::mt19937_64 rng(6962);
  std::vector<Hash256> leaves;
  Tree t;
  auto flip = [&](Hash256 h) {
    h[rng() % h.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
    return h;
  };
  for (uint64_t n = 1; n <= 2000; ++n) {
    Bytes leaf(8);
    for (auto& b : leaf) b = static_cast<uint8_t>(rng());
    leaves.push_back(LeafHash(leaf));
    t.Append(leaves.back());
    const Hash256 root = RefRoot(leaves, 0, n);
    ASSERT_EQ(*t.Root(n), root) << "size " << n;

    for (uint64_t m : {uint64_t{0}, n - 1, rng() % n}) {
      auto proof = t.InclusionProof(m, n);
      ASSERT_TRUE(proof.ok());
      ASSERT_EQ(*proof, RefPath(leaves, m, 0, n)) << "leaf " << m << " of " << n;
      ASSERT_TRUE(VerifyInclusion(m, n, leaves[m], *proof, root).ok()) << m << " of " << n;
      for (size_t i = 0; i < proof->size(); ++i) {
        auto bad = *proof;
        bad[i] = flip(bad[i]);
        EXPECT_FALSE(VerifyInclusion(m, n, leaves[m], bad, root).ok()) << m << "/" << n << " #" << i;
      }
      EXPECT_FALSE(VerifyInclusion(m, n, flip(leaves[m]), *proof, root).ok());
      EXPECT_FALSE(VerifyInclusion(m, n, leaves[m], *proof, flip(root)).ok());
      if (m + 1 < n) {
        EXPECT_FALSE(VerifyInclusion(m + 1, n, leaves[m], *proof, root).ok());
      }
      auto longer = *proof;
      longer.push_back(root);
      EXPECT_FALSE(VerifyInclusion(m, n, leaves[m], longer, root).ok());
      if (!proof->empty()) {
        auto shorter = *proof;
        shorter.pop_back();
        EXPECT_FALSE(VerifyInclusion(m, n, leaves[m], shorter, root).ok());
      }
    }

    const uint64_t old = 1 + rng() % n;
    auto proof = t.ConsistencyProof(old, n);
    ASSERT_TRUE(proof.ok());
    const Hash256 old_root = RefRoot(leaves, 0, old);
    ASSERT_EQ(*proof, old == n ? std::vector<Hash256>{} : RefSubProof(leaves, old, 0, n, true))
        << old << " → " << n;
    ASSERT_TRUE(VerifyConsistency(old, n, old_root, root, *proof).ok()) << old << " → " << n;
    for (size_t i = 0; i < proof->size(); ++i) {
      auto bad = *proof;
      bad[i] = flip(bad[i]);
      EXPECT_FALSE(VerifyConsistency(old, n, old_root, root, bad).ok()) << old << "→" << n << " #" << i;
    }
    EXPECT_FALSE(VerifyConsistency(old, n, flip(old_root), root, *proof).ok()) << old << "→" << n;
    EXPECT_FALSE(VerifyConsistency(old, n, old_root, flip(root), *proof).ok()) << old << "→" << n;
  }
}

TEST(MerkleTest, RefusalsNameTheSizes) {
  const Tree t = ReferenceTree();
  EXPECT_TRUE(t.Root(9).status().IsInvalidArgument());
  EXPECT_TRUE(t.InclusionProof(8, 8).status().IsInvalidArgument());
  EXPECT_TRUE(t.ConsistencyProof(5, 4).status().IsInvalidArgument());
  const Status split = VerifyConsistency(8, 8, *t.Root(8), *t.Root(7), {});
  EXPECT_NE(split.ToString().find("split view"), std::string::npos) << split.ToString();
  const Status s = VerifyInclusion(5, 8, t.leaf(5), {}, *t.Root(8));
  EXPECT_NE(s.ToString().find("leaf 5 of a tree of 8 leaves"), std::string::npos) << s.ToString();
  EXPECT_TRUE(VerifyConsistency(0, 8, EmptyRoot(), *t.Root(8), {}).ok());
}

}  // namespace
}  // namespace tcd::crypto::merkle
