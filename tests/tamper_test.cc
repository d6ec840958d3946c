// An inspector's guarantees: every kind of tampering with a stored session makes `tcd verify`
// fail, name the first bad sequence number and say what is wrong.
#include <gtest/gtest.h>

#include <boost/filesystem.hpp>

#include "base/env.h"
#include "node/catalog.h"
#include "node/store.h"
#include "node/verifier.h"
#include "tests/test_util.h"

namespace tcd {
namespace {

namespace fs = boost::filesystem;
using testing::RunTcd;
using testing::SharedFixture;
using testing::TempDir;

class TamperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto& f = SharedFixture();
    data_ = dir_ / "data";
    fs::copy(f.data, data_, fs::copy_options::recursive);
    id_ = *crypto::SessionIdFromString(f.session);
    auto cat = node::Catalog::Open(data_ + "/catalog", true);
    ASSERT_TRUE(cat.ok()) << cat.status().ToString();
    chain_ = *(*cat)->GetChain(id_);
    ASSERT_GE(chain_.size(), 8u);
  }

  crypto::ChainEntry Entry(size_t seq) { return *crypto::DecodeEntry(chain_.at(seq).second.entry); }
  std::string BlobPath(size_t seq) {
    std::string hex = ToHex(Entry(seq).cipher_hash);
    return data_ + "/blobs/" + hex.substr(0, 2) + "/" + hex;
  }
  // Rewrites the catalog with `edit` applied (as someone with disk access could).
  void EditCatalog(const std::function<void(node::Catalog*)>& edit) {
    auto cat = node::Catalog::Open(data_ + "/catalog", false);
    ASSERT_TRUE(cat.ok()) << cat.status().ToString();
    edit(cat->get());
  }
  // Runs the CLI verifier and checks it names `seq` and `problem`.
  void ExpectVerifyFails(uint64_t seq, const std::string& problem) {
    auto r = RunTcd({"verify", "--data", data_});
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.out.find("seq " + std::to_string(seq) + ": " + problem), std::string::npos)
        << "expected seq " << seq << " " << problem << ", got:\n" << r.out << r.err;
    auto j = nlohmann::json::parse(RunTcd({"verify", "--data", data_, "--json"}).out);
    EXPECT_EQ(j["sessions"][0]["bad_seq"].get<uint64_t>(), seq);
    EXPECT_EQ(j["sessions"][0]["problem"], problem);
  }

  TempDir dir_;
  std::string data_;
  crypto::SessionId id_{};
  std::vector<std::pair<uint64_t, node::ChainRecord>> chain_;
};

TEST_F(TamperTest, FlippedByteInAnyBlobIsAHashMismatchAtItsSeq) {
  std::vector<size_t> media;
  for (size_t s = 0; s < chain_.size(); ++s)
    if (Entry(s).kind == crypto::EntryKind::kInit || Entry(s).kind == crypto::EntryKind::kSegment)
      media.push_back(s);
  ASSERT_GE(media.size(), 6u);
  node::StoreOptions so;
  so.read_only = true;
  for (size_t seq : media) {
    std::string path = BlobPath(seq), original = testing::ReadFile(path);
    std::string flipped = original;
    flipped[flipped.size() / 2] ^= 0x01;
    testing::WriteFile(path, flipped);
    auto store = node::Store::Open(Env::Default(), data_, so);
    auto report = node::VerifySession(store->get(), id_);
    ASSERT_TRUE(report.ok());
    EXPECT_FALSE(report->ok);
    EXPECT_EQ(report->problem, node::Problem::kHashMismatch) << "seq " << seq;
    EXPECT_EQ(report->bad_seq, seq);
    testing::WriteFile(path, original);
  }
  testing::WriteFile(BlobPath(media[2]), "");  // truncated to nothing
  ExpectVerifyFails(media[2], "hash-mismatch");
}

TEST_F(TamperTest, ExportRefusesATamperedSessionAndNamesTheSeq) {
  std::string path = BlobPath(4), bytes = testing::ReadFile(path);
  bytes[bytes.size() - 3] ^= 0x40;
  testing::WriteFile(path, bytes);
  const auto& f = SharedFixture();
  auto r = RunTcd({"export", "--data", data_, "--session", f.session, "--key",
                   f.keys + "/archive/archive.key", "--passphrase-file", f.keys + "/passphrase",
                   "--out", dir_ / "out.mp4"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("seq 4"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("hash-mismatch"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "out.mp4"));
}

TEST_F(TamperTest, DeletedSegmentBlobIsAMissingSegment) {
  fs::remove(BlobPath(4));
  ExpectVerifyFails(4, "missing-segment");
}

TEST_F(TamperTest, DeletedChainEntryIsAMissingEntry) {
  EditCatalog([&](node::Catalog* c) { ASSERT_TRUE(c->RawDeleteChain(id_, 3).ok()); });
  ExpectVerifyFails(3, "missing-entry");
}

TEST_F(TamperTest, RemovedSealIsReportedUnsealedAtTheSealsSeq) {
  uint64_t last = chain_.size() - 1;
  ASSERT_EQ(Entry(last).kind, crypto::EntryKind::kSeal);
  EditCatalog([&](node::Catalog* c) { ASSERT_TRUE(c->RawDeleteChain(id_, last).ok()); });
  ExpectVerifyFails(last, "unsealed");
}

TEST_F(TamperTest, ReorderedSegmentsAreOutOfOrder) {
  EditCatalog([&](node::Catalog* c) {
    ASSERT_TRUE(c->RawPutChain(id_, 3, node::EncodeChainRecord(chain_[4].second)).ok());
    ASSERT_TRUE(c->RawPutChain(id_, 4, node::EncodeChainRecord(chain_[3].second)).ok());
  });
  ExpectVerifyFails(3, "out-of-order");
}

TEST_F(TamperTest, ReplacedSignatureIsABadSignature) {
  node::ChainRecord forged = chain_[5].second;
  forged.signature = chain_[6].second.signature;  // a genuine signature, on another head
  EditCatalog([&](node::Catalog* c) {
    ASSERT_TRUE(c->RawPutChain(id_, 5, node::EncodeChainRecord(forged)).ok());
  });
  ExpectVerifyFails(5, "bad-signature");
}

TEST_F(TamperTest, RewrittenEntryBreaksTheLinkOrSignature) {
  // Someone changes a segment's claimed duration and re-signs nothing: the signature fails.
  crypto::ChainEntry e = Entry(4);
  e.duration_us += 1000000;
  node::ChainRecord rec{crypto::EncodeEntry(e), chain_[4].second.signature};
  EditCatalog([&](node::Catalog* c) {
    ASSERT_TRUE(c->RawPutChain(id_, 4, node::EncodeChainRecord(rec)).ok());
  });
  ExpectVerifyFails(4, "bad-signature");
}

TEST_F(TamperTest, AlteredCatalogSummaryIsACatalogMismatch) {
  // What `tcd sessions` shows (point, duration…) must not be changeable without verify noticing.
  EditCatalog([&](node::Catalog* c) {
    auto rec = c->GetSession(id_);
    ASSERT_TRUE(rec.ok());
    rec->point = "forged-point";
    rec->media_duration_us += 60'000'000;
    ASSERT_TRUE(c->PutSession(*rec).ok());
  });
  auto r = RunTcd({"verify", "--data", data_, "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  auto j = nlohmann::json::parse(r.out)["sessions"][0];
  EXPECT_EQ(j["problem"], "catalog-mismatch");
  EXPECT_NE(j["detail"].get<std::string>().find("media duration"), std::string::npos) << j;
}

TEST_F(TamperTest, OnlyTheEnrolledSignerIsTrustedWhenOneIsGiven) {
  const auto& f = SharedFixture();
  auto ok = RunTcd({"verify", "--data", data_, "--signer", f.keys + "/node/node.pub"});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  TempDir other;
  ASSERT_EQ(RunTcd({"keygen", "--kind", "node", "--out", other.path()}).exit_code, 0);
  auto bad = RunTcd({"verify", "--data", data_, "--signer", other / "node.pub"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.out.find("seq 0: untrusted-signer"), std::string::npos) << bad.out;
}

TEST_F(TamperTest, MissingCatalogRefusesToStartAndKeepsEveryBlob) {
  size_t blobs_before = testing::Snapshot(data_ + "/blobs").size();
  fs::remove_all(data_ + "/catalog");
  const auto& f = SharedFixture();
  auto r = RunTcd({"record", "--data", data_, "--node-key", f.keys + "/node/node.key",
                   "--recipient", f.keys + "/archive/archive.pub", "--format", "lavfi",
                   "--source", "testsrc2=size=160x120:rate=5", "--duration", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("catalog"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("refusing"), std::string::npos) << r.err;
  EXPECT_EQ(testing::Snapshot(data_ + "/blobs").size(), blobs_before);
}

}  // namespace
}  // namespace tcd
