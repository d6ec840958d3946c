// Crash safety: a recorder killed between any two steps of storing a segment (blob temp write,
// fsync, rename, directory fsync, catalog commit, …) loses nothing it acknowledged, and after
// recovery the archive verifies (as unsealed up to its last acknowledged entry).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "base/fault_env.h"
#include "node/session_recorder.h"
#include "node/store.h"
#include "node/verifier.h"
#include "tests/test_util.h"

namespace tcd {
namespace {

struct Outcome {
  std::optional<crypto::SessionId> session;
  uint64_t acked_entries = 0;    // entries whose Append returned OK
  uint64_t acked_segments = 0;
  bool sealed = false;
};

Bytes FakeMedia(int i, size_t n) {
  Bytes b(n);
  for (size_t k = 0; k < n; ++k) b[k] = static_cast<uint8_t>(i * 31 + k * 7);
  return b;
}

// Records: open, init, 4 segments, a gap, 1 segment, seal; stops at the first error.
Outcome RecordScenario(Env* env, const std::string& dir, const crypto::NodeIdentity& id,
                       const crypto::ArchivePublic& archive) {
  Outcome out;
  node::StoreOptions so;
  so.min_free_bytes = 0;
  auto store = node::Store::Open(env, dir, so);
  if (!store.ok()) return out;
  auto rec = node::SessionRecorder::Start(store->get(), &id, {archive}, {{"point", "xa-b"}});
  if (!rec.ok()) return out;
  out.session = (*rec)->id();
  out.acked_entries = 1;
  auto step = [&](Status s, bool segment) {
    if (!s.ok()) return false;
    out.acked_entries++;
    if (segment) out.acked_segments++;
    return true;
  };
  if (!step((*rec)->OnInit(0, FakeMedia(0, 700), "fake"), false)) return out;
  int64_t t = env->NowMicros();
  for (int i = 1; i <= 5; ++i) {
    if (i == 5 && !step((*rec)->OnGap(t, t + 2000000, "source dropped"), false)) return out;
    ingest::MediaSegment seg;
    seg.index = i - 1;
    seg.data = FakeMedia(i, 5000 + i);
    seg.duration_us = 1000000;
    seg.wall_start_us = t;
    t += 1000000;
    if (!step((*rec)->OnSegment(std::move(seg)), true)) return out;
  }
  out.sealed = step((*rec)->Seal(crypto::SealReason::kStopped), false);
  return out;
}

TEST(CrashTest, KilledAtEveryStepLosesNothingAcknowledgedAndVerifiesAfterRecovery) {
  ASSERT_TRUE(crypto::InitCrypto().ok());
  crypto::NodeIdentity id = crypto::GenerateNodeIdentity();
  crypto::ArchiveKeyPair archive = crypto::GenerateArchiveKey();

  // The number of steps varies a little between runs (blobs land in random shard directories,
  // and a new shard costs one more directory fsync), so crash at step 1, 2, 3, … until a run
  // gets through without reaching its crash step.
  int crashes = 0;
  for (int k = 1; k <= 200; ++k) {
    SCOPED_TRACE("crash at step " + std::to_string(k));
    testing::TempDir dir;
    FaultInjectionEnv fenv(Env::Default());
    fenv.CrashAtStep(k);
    Outcome o = RecordScenario(&fenv, dir / "data", id, archive.pub);  // store closed on return
    if (!fenv.crashed()) {
      EXPECT_TRUE(o.sealed) << "a run without a crash must seal its session";
      break;
    }
    ++crashes;
    ASSERT_TRUE(fenv.SimulatePowerLoss().ok());

    auto store = node::Store::Open(Env::Default(), dir / "data");  // runs recovery
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    EXPECT_TRUE((*store)->recovery().missing_blobs.empty());
    // No orphan left behind: every blob on disk is referenced by the catalog.
    auto blobs = (*store)->blobs()->List();
    auto refs = (*store)->catalog()->ListBlobRefs();
    EXPECT_EQ(blobs->size(), refs->size());
    if (!o.session) continue;  // crashed before the session's first entry was durable
    auto report = node::VerifySession(store->get(), *o.session);
    if (o.acked_entries == 0) continue;
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_GE(report->entries, o.acked_entries);
    EXPECT_GE(report->segments, o.acked_segments);
    if (o.sealed) {
      EXPECT_TRUE(report->ok) << report->detail;
    } else {
      EXPECT_TRUE(report->ok || report->problem == node::Problem::kUnsealed)
          << node::ProblemName(report->problem) << ": " << report->detail;
      EXPECT_EQ(report->bad_seq.value_or(report->entries), report->entries);
    }
  }
  ASSERT_GT(crashes, 40);  // every blob alone takes several steps
  ASSERT_LT(crashes, 200) << "the scenario never completed";
  RecordProperty("crash_points", crashes);
}

TEST(CrashTest, RecoveryMarksAnInterruptedSessionUnsealedAndRemovesOrphans) {
  ASSERT_TRUE(crypto::InitCrypto().ok());
  crypto::NodeIdentity id = crypto::GenerateNodeIdentity();
  crypto::ArchiveKeyPair archive = crypto::GenerateArchiveKey();
  testing::TempDir dir;
  crypto::SessionId sid;
  {
    // A recorder that dies after two entries, and a blob whose catalog batch never committed.
    auto store = node::Store::Open(Env::Default(), dir / "data");
    ASSERT_TRUE(store.ok());
    auto rec = node::SessionRecorder::Start(store->get(), &id, {archive.pub}, {});
    ASSERT_TRUE(rec.ok());
    sid = (*rec)->id();
    ASSERT_TRUE((*rec)->OnInit(0, FakeMedia(0, 100), "fake").ok());
    ASSERT_TRUE((*store)->blobs()->Put(FakeMedia(9, 300)).ok());
  }
  auto store = node::Store::Open(Env::Default(), dir / "data");
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->recovery().orphan_blobs_removed, 1);
  ASSERT_EQ((*store)->recovery().sessions_unsealed.size(), 1u);
  EXPECT_EQ((*store)->catalog()->GetSession(sid)->state, node::SessionState::kUnsealed);
  auto report = node::VerifySession(store->get(), sid);
  EXPECT_EQ(report->problem, node::Problem::kUnsealed);
  EXPECT_EQ(report->bad_seq, 2u);  // verifies up to seq 1, the last durable entry
  EXPECT_EQ(report->entries, 2u);
}

// A lost blob directory (a failed disk) leaves every blob the catalog references missing:
// recovery counts them all and names the first few, instead of a log line and a string each
// (10,000,000 lines on the search benchmark's catalog).
TEST(CrashTest, RecoveryCountsLostBlobsAndNamesTheFirstFew) {
  ASSERT_TRUE(crypto::InitCrypto().ok());
  crypto::NodeIdentity id = crypto::GenerateNodeIdentity();
  crypto::ArchiveKeyPair archive = crypto::GenerateArchiveKey();
  testing::TempDir dir;
  for (int i = 0; i < 3; ++i)  // 3 sealed sessions of 6 blobs each
    ASSERT_TRUE(RecordScenario(Env::Default(), dir / "data", id, archive.pub).sealed);
  std::vector<std::filesystem::path> files;  // listed first: no removal while iterating
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir / "data/blobs"))
    if (e.is_regular_file()) files.push_back(e.path());
  ASSERT_EQ(files.size(), 18u);
  for (const auto& f : files) ASSERT_TRUE(std::filesystem::remove(f)) << f;
  auto store = node::Store::Open(Env::Default(), dir / "data");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const node::RecoveryReport& r = (*store)->recovery();
  EXPECT_EQ(r.missing_blob_count, 18u);
  ASSERT_EQ(r.missing_blobs.size(), node::RecoveryReport::kMissingNamed);
  EXPECT_EQ(r.missing_blobs[0].size(), 64u);  // a BLAKE2b-256 in hex
}

// Recovery walks the catalog's references and the blob files together, shard by shard: blob
// files before the first reference's shard and after the last one's are orphans too, each
// missing blob is named, and more orphans than sessions could leave refuse the start and touch
// nothing.
TEST(CrashTest, RecoveryMatchesBlobFilesWithTheCatalogShardByShard) {
  ASSERT_TRUE(crypto::InitCrypto().ok());
  crypto::NodeIdentity id = crypto::GenerateNodeIdentity();
  crypto::ArchiveKeyPair archive = crypto::GenerateArchiveKey();
  testing::TempDir dir;
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(RecordScenario(Env::Default(), dir / "data", id, archive.pub).sealed);
  std::vector<crypto::Hash256> refs;
  {
    auto store = node::Store::Open(Env::Default(), dir / "data");
    ASSERT_TRUE(store.ok());
    auto r = (*store)->catalog()->ListBlobRefs();
    ASSERT_TRUE(r.ok());
    refs = *r;
  }
  ASSERT_EQ(refs.size(), 18u);
  ASSERT_TRUE(std::is_sorted(refs.begin(), refs.end()));
  // Blobs nobody references: one in shard 00, one in shard ff, 63 anywhere.
  auto blob_starting = [](int first, uint32_t* k) {
    for (;; ++*k) {
      Bytes b = {static_cast<uint8_t>(*k), static_cast<uint8_t>(*k >> 8),
                 static_cast<uint8_t>(*k >> 16), 0x5a};
      if (first < 0 || crypto::Blake2b256(b)[0] == first) return b;
    }
  };
  uint32_t k = 0;
  std::vector<Bytes> strays = {blob_starting(0x00, &k), blob_starting(0xff, &k)};
  for (int i = 0; i < 63; ++i) strays.push_back(blob_starting(-1, &(++k)));
  const auto missing = {refs[0], refs[7], refs[17]};
  for (const auto& h : missing)
    ASSERT_TRUE(std::filesystem::remove(dir / "data/blobs/" + ToHex(h).substr(0, 2) + "/" + ToHex(h)));
  {
    auto blobs = node::BlobStore::Open(Env::Default(), dir / "data/blobs");
    ASSERT_TRUE(blobs.ok());
    for (const auto& b : strays) ASSERT_TRUE((*blobs)->Put(b).ok());
  }
  auto refused = node::Store::Open(Env::Default(), dir / "data");  // 65 orphans
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().ToString().find("65 blob files"), std::string::npos)
      << refused.status().ToString();
  {
    auto blobs = node::BlobStore::Open(Env::Default(), dir / "data/blobs");
    ASSERT_TRUE(blobs.ok());
    EXPECT_EQ((*blobs)->List()->size(), 15u + 65u);  // nothing was moved
    for (size_t i = 2; i < strays.size(); ++i)  // leave the two at the ends
      ASSERT_TRUE((*blobs)->Remove(crypto::Blake2b256(strays[i])).ok());
  }
  auto store = node::Store::Open(Env::Default(), dir / "data");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const node::RecoveryReport& r = (*store)->recovery();
  EXPECT_EQ(r.orphan_blobs_removed, 2);
  EXPECT_EQ(r.missing_blob_count, 3u);
  EXPECT_EQ(r.missing_blobs,
            (std::vector<std::string>{ToHex(refs[0]), ToHex(refs[7]), ToHex(refs[17])}));
  auto left = (*store)->blobs()->List();
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->size(), 15u);  // every one referenced
  for (const auto& h : *left) EXPECT_TRUE(std::binary_search(refs.begin(), refs.end(), h));
}

}  // namespace
}  // namespace tcd
