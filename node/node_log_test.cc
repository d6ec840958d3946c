// Node logs (node/node_log.h): the stored tree against the in-memory reference across reopens,
// every entry a recorder stores as a leaf in durable order (also from concurrent sessions),
// signed checkpoints, and the upgrade of a catalog written before the log existed.
#include "node/node_log.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <boost/filesystem.hpp>
#include <random>
#include <set>
#include <thread>

#include "crypto/merkle.h"
#include "crypto/note.h"
#include "node/catalog.h"
#include "node/log_proof.h"
#include "node/session_recorder.h"
#include "node/store.h"

namespace tcd::node {
namespace {

namespace fs = boost::filesystem;
namespace merkle = crypto::merkle;

// Opens the catalog's RocksDB directly and calls `edit` with each column family. REQUIRES: the
// catalog was compacted (Catalog::Compact) before it was closed: without the catalog's merge
// operator, replaying a write-ahead log that holds search postings stops at the first one.
void EditRaw(const std::string& dir,
             const std::function<void(rocksdb::DB*, const std::string&,
                                      rocksdb::ColumnFamilyHandle*)>& edit) {
  rocksdb::DBOptions o;
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(o, dir, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(o, dir, cfs, &handles, &db).ok());
  for (size_t i = 0; i < names.size(); ++i) edit(db, names[i], handles[i]);
  for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
  delete db;
}

class NodeLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto::InitCrypto().ok());
    root_ = (fs::temp_directory_path() / fs::unique_path("tcd-log-%%%%%%%%")).string();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(root_);
  }
  void OpenStore() {
    store_.reset();
    auto s = Store::Open(Env::Default(), root_ + "/data");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  NodeLogs* logs() { return store_->catalog()->logs(); }

  // A session of `segments` synthetic segments, sealed.
  crypto::SessionId Record(const std::string& point, int segments) {
    auto rec = SessionRecorder::Start(store_.get(), &node_, {archive_.pub}, {{"point", point}});
    EXPECT_TRUE(rec.ok()) << rec.status().ToString();
    if (!rec.ok()) return {};
    const int64_t t = (*rec)->record().start_us;
    EXPECT_TRUE((*rec)->OnInit(0, Bytes(300, 7), "test").ok());
    for (int i = 0; i < segments; ++i) {
      ingest::MediaSegment s;
      s.index = i;
      s.data = Bytes(500 + i, static_cast<uint8_t>(i));
      s.duration_us = 1'000'000;
      s.wall_start_us = t + int64_t{i} * 1'000'000;
      EXPECT_TRUE((*rec)->OnSegment(std::move(s)).ok());
    }
    EXPECT_TRUE((*rec)->Seal(crypto::SealReason::kStopped).ok());
    return (*rec)->id();
  }

  // Every stored entry (of sessions not in `received`) has exactly one leaf, the leaf names it
  // and its hash, and the indices are exactly 0 … size-1.
  void ExpectEveryEntryLogged(uint64_t expected_entries,
                              const std::set<crypto::SessionId>& received = {}) {
    auto size = logs()->Size(LogId::Own());
    ASSERT_TRUE(size.ok());
    EXPECT_EQ(*size, expected_entries);
    std::set<uint64_t> indices;
    auto sessions = store_->catalog()->ListSessionIds();
    ASSERT_TRUE(sessions.ok());
    for (const auto& id : *sessions) {
      if (received.count(id)) {
        auto none = logs()->IndexOfEntry(LogId::Own(), id, 0);
        ASSERT_TRUE(none.ok());
        EXPECT_FALSE(none->has_value()) << "a received session's entry is in the node's log";
        continue;
      }
      auto chain = store_->catalog()->GetChain(id);
      ASSERT_TRUE(chain.ok());
      for (const auto& [seq, rec] : *chain) {
        auto index = logs()->IndexOfEntry(LogId::Own(), id, seq);
        ASSERT_TRUE(index.ok() && index->has_value()) << "seq " << seq;
        EXPECT_TRUE(indices.insert(**index).second) << "two entries share leaf " << **index;
        auto leaf = logs()->Leaf(LogId::Own(), **index);
        ASSERT_TRUE(leaf.ok());
        EXPECT_EQ(*leaf, EntryLeaf(id, seq, crypto::EntryHashOf(rec.entry)));
      }
    }
    EXPECT_EQ(indices.size(), expected_entries);
    if (!indices.empty()) { EXPECT_EQ(*indices.rbegin(), expected_entries - 1); }
  }

  std::string root_;
  std::unique_ptr<Store> store_;
  crypto::NodeIdentity node_ = crypto::GenerateNodeIdentity();
  crypto::ArchiveKeyPair archive_ = crypto::GenerateArchiveKey();
};

TEST_F(NodeLogTest, StoredTreeAgreesWithTheReferenceAcrossReopens) {
  OpenStore();
  const LogId log = LogId::Of(node_.pub.sign_pk);  // a downstream log copy: leaves added here
  merkle::Tree ref;
  std::mt19937_64 rng(11);
  uint64_t n = 0;
  for (int round = 0; round < 6; ++round) {
    for (int batch = 0; batch < 25; ++batch) {
      std::vector<Bytes> leaves(1 + rng() % (batch % 5 == 0 ? 40 : 3));
      for (auto& l : leaves) {
        l = CheckpointLeaf("leaf " + std::to_string(n++));
        ref.Append(merkle::LeafHash(l));
      }
      ASSERT_TRUE(logs()->Append(log, leaves).ok());
    }
    OpenStore();  // the tree continues from what is on disk
    auto size = logs()->Size(log);
    ASSERT_TRUE(size.ok());
    ASSERT_EQ(*size, ref.size());
    for (uint64_t s = 0; s <= ref.size(); s += 1 + rng() % 7) {
      EXPECT_EQ(*logs()->Root(log, s), *ref.Root(s)) << "size " << s;
      if (s == 0) continue;
      const uint64_t i = rng() % s, old = 1 + rng() % s;
      EXPECT_EQ(*logs()->InclusionProof(log, i, s), *ref.InclusionProof(i, s)) << i << "/" << s;
      EXPECT_EQ(*logs()->ConsistencyProof(log, old, s), *ref.ConsistencyProof(old, s))
          << old << "→" << s;
    }
  }
  EXPECT_GT(ref.size(), 300u);
  EXPECT_FALSE(logs()->Root(log, ref.size() + 1).ok());
  EXPECT_FALSE(logs()->InclusionProof(log, ref.size(), ref.size()).ok());
  auto down = logs()->Downstream();
  ASSERT_TRUE(down.ok());
  ASSERT_EQ(down->size(), 1u);
  EXPECT_EQ((*down)[0], node_.pub.sign_pk);
}

TEST_F(NodeLogTest, EveryStoredEntryIsALeafAndEachSealSignsACheckpoint) {
  OpenStore();
  const std::string origin = LogOrigin(node_.pub.sign_pk);
  Record("xa-a", 5);  // open, init, 5 segments, seal
  ExpectEveryEntryLogged(8);
  const crypto::SessionId second = Record("xa-a", 2);
  ExpectEveryEntryLogged(8 + 5);

  auto kept = logs()->Checkpoints(LogId::Own());
  ASSERT_TRUE(kept.ok());
  ASSERT_EQ(kept->size(), 2u);
  EXPECT_EQ((*kept)[0].first, 8u);
  EXPECT_EQ((*kept)[1].first, 13u);
  for (const auto& [size, text] : *kept) {
    auto n = crypto::note::ParseNote(text);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_TRUE(crypto::note::VerifySignature(*n, origin, node_.pub.sign_pk).ok());
    auto cp = crypto::note::ParseCheckpoint(n->body);
    ASSERT_TRUE(cp.ok()) << cp.status().ToString();
    EXPECT_EQ(cp->origin, origin);
    EXPECT_EQ(cp->size, size);
    EXPECT_EQ(cp->root, *logs()->Root(LogId::Own(), size));
  }
  // Each kept checkpoint checks against the stored tree; an edited one does not, and says why.
  for (const auto& [size, text] : *kept)
    EXPECT_TRUE(CheckCheckpoint(logs(), LogId::Own(), size, text).ok());
  const std::string& note = (*kept)[1].second;
  std::string other_size = note;
  other_size.replace(other_size.find("\n13\n"), 4, "\n12\n");
  EXPECT_NE(CheckCheckpoint(logs(), LogId::Own(), 13, other_size).ToString().find("12 leaves"),
            std::string::npos);
  auto resigned = crypto::note::ParseNote(note);  // a valid signature over another root
  ASSERT_TRUE(resigned.ok());
  const std::string forged_body = crypto::note::CheckpointBody({origin, 13, merkle::EmptyRoot()});
  const std::string forged = crypto::note::FormatNote(
      {forged_body, {crypto::note::Sign(forged_body, origin, node_.sign_sk)}});
  EXPECT_NE(CheckCheckpoint(logs(), LogId::Own(), 13, forged).ToString().find("root hash"),
            std::string::npos);
  const crypto::NodeIdentity stranger = crypto::GenerateNodeIdentity();
  const std::string by_stranger = crypto::note::FormatNote(
      {resigned->body, {crypto::note::Sign(resigned->body, origin, stranger.sign_sk)}});
  EXPECT_NE(CheckCheckpoint(logs(), LogId::Own(), 13, by_stranger).ToString().find(
                "no signature by " + origin),
            std::string::npos);
  // The log is bound to its key.
  EXPECT_FALSE(SignOwnCheckpoint(logs(), stranger.sign_sk).ok());

  // Signing again at the same size returns the kept checkpoint.
  auto again = SignOwnCheckpoint(logs(), node_.sign_sk);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, (*kept)[1].second);

  // The second session's seal is provably in the checkpoint of 13 leaves.
  auto chain = store_->catalog()->GetChain(second);
  ASSERT_TRUE(chain.ok());
  const auto& [seal_seq, seal] = chain->back();
  auto index = logs()->IndexOfEntry(LogId::Own(), second, seal_seq);
  ASSERT_TRUE(index.ok() && index->has_value());
  auto proof = logs()->InclusionProof(LogId::Own(), **index, 13);
  ASSERT_TRUE(proof.ok());
  const auto leaf_hash =
      merkle::LeafHash(EntryLeaf(second, seal_seq, crypto::EntryHashOf(seal.entry)));
  EXPECT_TRUE(merkle::VerifyInclusion(**index, 13, leaf_hash, *proof,
                                      *logs()->Root(LogId::Own(), 13)).ok());
}

TEST_F(NodeLogTest, ConcurrentSessionsGetDistinctLeavesWithNoHoles) {
  // Appends that arrive together are committed as one group (catalog_group.cc): each still
  // gets its own leaf, numbered without a hole, and the stored tree is the tree of the leaves.
  OpenStore();
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([this, t] { Record("xa-" + std::to_string(t), 20); });
  for (auto& th : threads) th.join();
  ExpectEveryEntryLogged(8 * 23);
  merkle::Tree ref;
  for (uint64_t i = 0; i < 8 * 23; ++i) {
    auto leaf = logs()->Leaf(LogId::Own(), i);
    ASSERT_TRUE(leaf.ok()) << "leaf " << i;
    ref.Append(merkle::LeafHash(*leaf));
  }
  OpenStore();  // and so it is on disk
  for (uint64_t n : {uint64_t{1}, uint64_t{23}, uint64_t{100}, uint64_t{8 * 23}})
    EXPECT_EQ(*logs()->Root(LogId::Own(), n), *ref.Root(n)) << "size " << n;
}

TEST_F(NodeLogTest, ACatalogWrittenBeforeTheLogIsLoggedOnceWhenOpened) {
  OpenStore();
  Record("xa-a", 3);
  Record("xa-b", 4);
  const crypto::SessionId received = Record("xa-c", 1);
  // As if it had come from a downstream node: it is not this node's to log.
  ASSERT_TRUE(store_->catalog()
                  ->UpdateRepl(received, [](ReplRecord* r) { r->from_peer[0] = 1; }, true)
                  .ok());
  ASSERT_TRUE(store_->catalog()->Compact().ok());
  store_.reset();
  const std::string dir = root_ + "/data/catalog";
  EditRaw(dir, [](rocksdb::DB* db, const std::string& name, rocksdb::ColumnFamilyHandle* h) {
    if (name == "meta") { ASSERT_TRUE(db->Delete({}, h, "node-log").ok()); }
    if (name == "log") { ASSERT_TRUE(db->DropColumnFamily(h).ok()); }
  });
  {  // Read-only, an old catalog has no logs to show.
    auto ro = Catalog::Open(root_ + "/data/catalog", true);
    ASSERT_TRUE(ro.ok()) << ro.status().ToString();
    EXPECT_EQ((*ro)->logs(), nullptr);
  }
  OpenStore();
  ExpectEveryEntryLogged(6 + 7, {received});

  // Interrupted after logging everything but before the marker: nothing is logged twice.
  ASSERT_TRUE(store_->catalog()->Compact().ok());
  store_.reset();
  EditRaw(dir, [](rocksdb::DB* db, const std::string& name, rocksdb::ColumnFamilyHandle* h) {
    if (name == "meta") { ASSERT_TRUE(db->Delete({}, h, "node-log").ok()); }
  });
  OpenStore();
  ExpectEveryEntryLogged(6 + 7, {received});
}

TEST(LogProofTest, AMalformedFileIsAProblemNotACrash) {
  const crypto::SessionId id{};
  const Bytes entry{1, 2, 3};
  const std::vector<ByteView> entries{entry};
  for (const std::string text :
       {"", "[]", "{\"format\": 7}", "{\"format\": \"tcd-log-proof\", \"version\": \"1\"}",
        "{\"format\": \"tcd-log-proof\", \"version\": 1, \"session\": 5}",
        "{\"format\": \"tcd-log-proof\", \"version\": 1, \"session\": "
        "\"00000000-0000-0000-0000-000000000000\", \"seq\": \"0\"}",
        "{\"format\": \"tcd-log-proof\", \"version\": 1, \"session\": "
        "\"00000000-0000-0000-0000-000000000000\", \"seq\": 0, \"leaf_index\": 0, "
        "\"recorder_inclusion\": [7], \"recorder_checkpoint\": \"x\"}"}) {
    auto r = CheckLogProof(text, id, entries, crypto::PublicKey{});
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_TRUE(r.status().IsCorruption()) << r.status().ToString();
    EXPECT_NE(r.status().message().find("log-proof.json"), std::string::npos)
        << r.status().ToString();
  }
}

}  // namespace
}  // namespace tcd::node
