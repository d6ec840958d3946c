#include "node/blob_store.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include <boost/filesystem.hpp>
#include <gtest/gtest.h>

#include "base/fault_env.h"
#include "node/blob_match.h"

namespace tcd::node {
namespace {

class BlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = (boost::filesystem::temp_directory_path() /
             boost::filesystem::unique_path("tcd-blob-test-%%%%-%%%%")).string();
    Reopen(Env::Default());
  }
  void TearDown() override {
    store_.reset();
    boost::system::error_code ec;
    boost::filesystem::remove_all(root_, ec);
  }
  void Reopen(Env* env) {
    auto s = BlobStore::Open(env, root_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  size_t CountFiles(const std::string& dir) {
    auto names = Env::Default()->ListDir(dir);
    return names.ok() ? names->size() : 0;
  }

  std::string root_;
  std::unique_ptr<BlobStore> store_;
};

TEST_F(BlobStoreTest, PutGetRoundTripAndIdempotentPut) {
  const Bytes data(100000, 0x5a);
  auto h = store_->Put(data);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(*h, crypto::Blake2b256(data));
  const std::string hex = ToHex(*h);
  EXPECT_EQ(store_->PathOf(*h), root_ + "/" + hex.substr(0, 2) + "/" + hex);
  EXPECT_TRUE(store_->Exists(*h));
  auto got = store_->Get(*h);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, data);

  // A second Put of the same bytes does not rewrite the file.
  FaultInjectionEnv counting(Env::Default());
  auto store2 = BlobStore::Open(&counting, root_);
  ASSERT_TRUE(store2.ok());
  const int before = counting.steps();
  auto h2 = (*store2)->Put(data);
  ASSERT_TRUE(h2.ok());
  EXPECT_EQ(*h2, *h);
  EXPECT_EQ(counting.steps() - before, 1);  // only the SyncDir of the shard
  EXPECT_EQ(CountFiles(root_ + "/tmp"), 0u);

  auto empty = store_->Put(Bytes{});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(store_->Get(*empty).ok());
}

TEST_F(BlobStoreTest, FlippedByteIsCorruptionNamingTheBlob) {
  auto h = store_->Put(AsBytes("recording segment 7"));
  ASSERT_TRUE(h.ok());
  const std::string path = store_->PathOf(*h);
  Bytes bytes = *Env::Default()->ReadFile(path);
  bytes[3] ^= 0x01;
  ASSERT_TRUE(Env::Default()->WriteFileDurably(path, bytes).ok());
  auto got = store_->Get(*h);
  ASSERT_FALSE(got.ok());
  EXPECT_TRUE(got.status().IsCorruption()) << got.status().ToString();
  EXPECT_NE(got.status().message().find(ToHex(*h)), std::string::npos);
  EXPECT_NE(got.status().message().find(path), std::string::npos);
  // The unverified read returns the damaged bytes as they are.
  auto raw = store_->GetUnverified(*h);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(*raw, bytes);
}

TEST_F(BlobStoreTest, MissingIsNotFound) {
  const crypto::Hash256 h = crypto::Blake2b256(AsBytes("never stored"));
  EXPECT_FALSE(store_->Exists(h));
  auto got = store_->Get(h);
  ASSERT_TRUE(got.status().IsNotFound()) << got.status().ToString();
  EXPECT_NE(got.status().message().find("blob " + ToHex(h) + " not found"), std::string::npos);
  EXPECT_TRUE(store_->GetUnverified(h).status().IsNotFound());
  EXPECT_TRUE(store_->Remove(h).IsNotFound());
  EXPECT_TRUE(store_->Quarantine(h, "test").IsNotFound());
}

TEST_F(BlobStoreTest, ListIgnoresTempQuarantineAndStrangers) {
  auto a = store_->Put(AsBytes("a"));
  auto b = store_->Put(AsBytes("b"));
  auto c = store_->Put(AsBytes("c"));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  ASSERT_TRUE(store_->Quarantine(*c, "test").ok());
  Env* env = Env::Default();
  ASSERT_TRUE(env->WriteFileDurably(root_ + "/tmp/" + ToHex(*c), AsBytes("c")).ok());
  ASSERT_TRUE(env->WriteFileDurably(root_ + "/README", AsBytes("x")).ok());
  const std::string shard = root_ + "/" + ToHex(*a).substr(0, 2);
  ASSERT_TRUE(env->WriteFileDurably(shard + "/not-a-blob", AsBytes("x")).ok());
  ASSERT_TRUE(env->WriteFileDurably(shard + "/" + ToHex(*c), AsBytes("c")).ok());  // wrong shard
  auto list = store_->List();
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  std::vector<crypto::Hash256> want = {*a, *b};
  if (ToHex(*a).substr(0, 2) == ToHex(*c).substr(0, 2)) want.push_back(*c);  // same shard
  std::sort(list->begin(), list->end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(*list, want);
}

TEST_F(BlobStoreTest, RemoveDeletesTheBlob) {
  auto h = store_->Put(AsBytes("x"));
  ASSERT_TRUE(h.ok());
  ASSERT_TRUE(store_->Remove(*h).ok());
  EXPECT_FALSE(store_->Exists(*h));
  EXPECT_TRUE(store_->Get(*h).status().IsNotFound());
}

TEST_F(BlobStoreTest, CleanTempRemovesLeftovers) {
  Env* env = Env::Default();
  ASSERT_TRUE(env->WriteFileDurably(root_ + "/tmp/1.tmp", AsBytes("partial")).ok());
  ASSERT_TRUE(env->WriteFileDurably(root_ + "/tmp/2.tmp", AsBytes("partial")).ok());
  auto n = store_->CleanTemp();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2);
  EXPECT_EQ(CountFiles(root_ + "/tmp"), 0u);
  EXPECT_EQ(*store_->CleanTemp(), 0);
}

TEST_F(BlobStoreTest, QuarantineMovesTheBlobAside) {
  auto h = store_->Put(AsBytes("damaged later"));
  ASSERT_TRUE(h.ok());
  ASSERT_TRUE(store_->Quarantine(*h, "hash mismatch seen by verifier").ok());
  EXPECT_FALSE(store_->Exists(*h));
  EXPECT_TRUE(store_->Get(*h).status().IsNotFound());
  auto names = Env::Default()->ListDir(root_ + "/quarantine");
  ASSERT_TRUE(names.ok());
  std::sort(names->begin(), names->end());
  ASSERT_EQ(names->size(), 2u);
  const std::string prefix = ToHex(*h) + ".";
  ASSERT_EQ((*names)[0].compare(0, prefix.size(), prefix), 0) << (*names)[0];
  EXPECT_EQ(AsChars(*Env::Default()->ReadFile(root_ + "/quarantine/" + (*names)[0])),
            "damaged later");
  EXPECT_EQ((*names)[1], (*names)[0] + ".reason");
  auto list = store_->List();
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

// Crash at every step of a Put; the blob is then absent or complete, never partial.
void CrashEveryStepOfPut(const std::string& root, bool power_loss) {
  const Bytes data(5000, 0xc3);
  FaultInjectionEnv env(Env::Default());
  int n = 0;
  {
    auto store = BlobStore::Open(&env, root);
    ASSERT_TRUE(store.ok());
    const int before = env.steps();
    ASSERT_TRUE((*store)->Put(data).ok());
    n = env.steps() - before;
  }
  ASSERT_EQ(n, 8);  // create, append, sync, close, create dirs, sync root, rename, sync shard
  const crypto::Hash256 h = crypto::Blake2b256(data);
  for (int i = 1; i <= n; ++i) {
    SCOPED_TRACE("crash at step " + std::to_string(i));
    boost::filesystem::remove_all(root);
    ASSERT_TRUE(env.SimulatePowerLoss().ok());  // fresh tracking
    auto store = BlobStore::Open(&env, root);
    ASSERT_TRUE(store.ok());
    env.CrashAtStep(i);
    auto put = (*store)->Put(data);
    ASSERT_FALSE(put.ok());
    EXPECT_TRUE(put.status().IsAborted()) << put.status().ToString();
    if (power_loss) {
      ASSERT_TRUE(env.SimulatePowerLoss().ok());
    } else {
      env.ResetCrash();
    }
    auto reopened = BlobStore::Open(Env::Default(), root);
    ASSERT_TRUE(reopened.ok());
    BlobStore& s = **reopened;
    if (s.Exists(h)) {
      auto got = s.Get(h);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      EXPECT_EQ(*got, data);
    }
    // Only a completed rename whose directory entry survives can leave the blob in place:
    // after a power loss no crashed Put left it (its last step is the shard SyncDir); without
    // one, only the crash at that last step (rename done, SyncDir not) did.
    EXPECT_EQ(s.Exists(h), !power_loss && i == n);
    auto list = s.List();
    ASSERT_TRUE(list.ok());
    EXPECT_EQ(list->size(), s.Exists(h) ? 1u : 0u);
    const size_t temps = Env::Default()->ListDir(root + "/tmp")->size();
    if (power_loss) {
      EXPECT_EQ(temps, 0u);  // a temp file's creation was never made durable
    }
    auto cleaned = s.CleanTemp();
    ASSERT_TRUE(cleaned.ok());
    EXPECT_EQ(static_cast<size_t>(*cleaned), temps);
    EXPECT_EQ(Env::Default()->ListDir(root + "/tmp")->size(), 0u);
    // The store works again after the crash.
    ASSERT_TRUE(s.Put(data).ok());
    EXPECT_EQ(*s.Get(h), data);
  }
}

TEST_F(BlobStoreTest, CrashAtEveryStepOfPutThenPowerLoss) {
  CrashEveryStepOfPut(root_, /*power_loss=*/true);
}

TEST_F(BlobStoreTest, CrashAtEveryStepOfPutWithoutPowerLoss) {
  CrashEveryStepOfPut(root_, /*power_loss=*/false);
}

TEST_F(BlobStoreTest, ConcurrentPutAndGet) {
  constexpr int kThreads = 8, kBlobs = 20;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kBlobs; ++i) {
        // Threads t and t+1 share half their blobs: concurrent Put of the same bytes too.
        const std::string data = "blob " + std::to_string((t / 2) * 1000 + i);
        auto h = store_->Put(AsBytes(data));
        if (!h.ok()) { ++failures; continue; }
        auto got = store_->Get(*h);
        if (!got.ok() || AsChars(*got) != data) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto list = store_->List();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), static_cast<size_t>(kThreads / 2 * kBlobs));
  EXPECT_EQ(CountFiles(root_ + "/tmp"), 0u);
}

TEST_F(BlobStoreTest, PowerLossAfterCompletePutKeepsTheBlob) {
  FaultInjectionEnv env(Env::Default());
  Reopen(&env);
  auto h = store_->Put(AsBytes("durable"));
  ASSERT_TRUE(h.ok());
  ASSERT_TRUE(env.SimulatePowerLoss().ok());
  Reopen(Env::Default());
  auto got = store_->Get(*h);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(AsChars(*got), "durable");
}

// Recovery's merge of references and blob files (node/blob_match.h), on made-up hashes that
// reach every edge: the first and last shards, a shard with files and no reference, files after
// the last reference of a shard, a reference expected absent (being fetched).
crypto::Hash256 H(uint8_t a, uint8_t b) {
  crypto::Hash256 h{};
  h[0] = a;
  h[1] = b;
  return h;
}

struct FakeStore {
  std::vector<crypto::Hash256> refs, files, wanted;
  int failing_shard = -1;
  Result<BlobMatch> Match(size_t keep_orphans = 64, size_t keep_missing = 10) {
    std::sort(files.begin(), files.end());
    return MatchBlobs(
        [&](const std::function<Status(const crypto::Hash256&)>& fn) {
          for (const auto& h : refs) TCD_RETURN_IF_ERROR(fn(h));
          return Status::OK();
        },
        [&](uint8_t first) -> Result<std::vector<crypto::Hash256>> {
          if (first == failing_shard) return Status::IOError("cannot list shard");
          std::vector<crypto::Hash256> out;
          for (const auto& h : files)
            if (h[0] == first) out.push_back(h);
          return out;
        },
        wanted, keep_orphans, keep_missing);
  }
};

TEST(BlobMatchTest, OrphansAndMissingAcrossEveryShardEdge) {
  FakeStore s;
  s.refs = {H(0x00, 1), H(0x00, 5), H(0x7f, 0), H(0xff, 0x10), H(0xff, 0x20)};
  s.files = {H(0x00, 1), H(0x00, 3), H(0x00, 5), H(0x80, 0), H(0xff, 0x10), H(0xff, 0x30),
             H(0xff, 0x05)};
  s.wanted = {H(0x7f, 0)};
  auto m = s.Match();
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->orphan_count, 4u);
  EXPECT_EQ(m->orphans, (std::vector<crypto::Hash256>{H(0x00, 3), H(0x80, 0), H(0xff, 0x05),
                                                       H(0xff, 0x30)}));
  EXPECT_EQ(m->missing_count, 1u);
  EXPECT_EQ(m->missing, std::vector<crypto::Hash256>{H(0xff, 0x20)});
  s.wanted.clear();  // no longer being fetched: missing too
  m = s.Match();
  EXPECT_EQ(m->missing, (std::vector<crypto::Hash256>{H(0x7f, 0), H(0xff, 0x20)}));
  m = s.Match(2, 1);  // counts all, keeps the first few
  EXPECT_EQ(m->orphan_count, 4u);
  EXPECT_EQ(m->orphans, (std::vector<crypto::Hash256>{H(0x00, 3), H(0x80, 0)}));
  EXPECT_EQ(m->missing_count, 2u);
  EXPECT_EQ(m->missing.size(), 1u);
}

TEST(BlobMatchTest, NoReferencesMakeEveryFileAnOrphanAndNoFilesEveryReferenceMissing) {
  FakeStore s;
  s.files = {H(0x00, 0), H(0xff, 0xff)};
  auto m = s.Match();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->orphan_count, 2u);
  EXPECT_EQ(m->missing_count, 0u);
  FakeStore t;
  t.refs = {H(0x00, 0), H(0x42, 0), H(0xff, 0xff)};
  m = t.Match();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->orphan_count, 0u);
  EXPECT_EQ(m->missing_count, 3u);
}

TEST(BlobMatchTest, AShardThatCannotBeListedFailsTheMatch) {
  for (int failing : {0x00, 0x80, 0xff}) {  // before, between and after the references
    FakeStore s;
    s.refs = {H(0x10, 0), H(0x90, 0)};
    s.files = s.refs;
    s.failing_shard = failing;
    auto m = s.Match();
    ASSERT_FALSE(m.ok()) << failing;
    EXPECT_NE(m.status().ToString().find("cannot list shard"), std::string::npos);
  }
}

}  // namespace
}  // namespace tcd::node
