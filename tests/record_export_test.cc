// record → sessions → export → verify through the real `tcd` binary, as a user runs it.
#include <gtest/gtest.h>

#include "base/env.h"
#include "crypto/chain.h"
#include "crypto/session_crypto.h"
#include "node/store.h"
#include "tests/test_util.h"

namespace tcd {
namespace {

using testing::Probe;
using testing::RunTcd;
using testing::SharedFixture;
using testing::TempDir;

// The exported file must be exactly init + segments, decrypted: recompute that independently
// of the exporter, from the blobs and the archive key.
std::string DecryptAllSegments(const std::string& data, const std::string& session,
                               const std::string& keys) {
  auto text = Env::Default()->ReadFile(keys + "/archive/archive.key");
  auto key = crypto::DecodeArchiveKey(AsChars(*text), "archive.key",
                                      std::string("correct horse"));
  EXPECT_TRUE(key.ok()) << key.status().ToString();
  node::StoreOptions so;
  so.read_only = true;
  auto store = node::Store::Open(Env::Default(), data, so);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  auto id = crypto::SessionIdFromString(session);
  auto chain = (*store)->catalog()->GetChain(*id);
  auto open = crypto::DecodeEntry(chain->at(0).second.entry);
  auto body = crypto::DecodeOpenBody(open->body);
  auto skey = crypto::OpenSessionKey(body->recipients.at(0).sealed_key, *key);
  EXPECT_TRUE(skey.ok());
  std::string all;
  for (const auto& [seq, rec] : *chain) {
    auto e = crypto::DecodeEntry(rec.entry);
    if (e->kind != crypto::EntryKind::kInit && e->kind != crypto::EntryKind::kSegment) continue;
    auto blob = Env::Default()->ReadFile(data + "/blobs/" + ToHex(e->cipher_hash).substr(0, 2) +
                                         "/" + ToHex(e->cipher_hash));
    EXPECT_TRUE(blob.ok());
    auto plain = crypto::DecryptBlob(*skey, *id, seq, *blob);
    EXPECT_TRUE(plain.ok()) << "seq " << seq;
    all += AsChars(*plain);
  }
  return all;
}

TEST(RecordExport, ExportedMp4PlaysWithBothStreamsAndTheRecordedDuration) {
  const auto& f = SharedFixture();
  TempDir out;
  auto r = RunTcd({"export", "--data", f.data, "--session", f.session, "--key",
                   f.keys + "/archive/archive.key", "--passphrase-file", f.keys + "/passphrase",
                   "--out", out / "s.mp4"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto probe = Probe(out / "s.mp4");
  ASSERT_FALSE(probe.is_null());
  std::set<std::string> types;
  for (const auto& s : probe["streams"]) types.insert(s["codec_type"].get<std::string>());
  EXPECT_EQ(types, (std::set<std::string>{"audio", "video"}));
  double duration = std::stod(probe["format"]["duration"].get<std::string>());
  EXPECT_NEAR(duration, 6.0, 1.0);  // within one segment (1 s) of the recording
  EXPECT_EQ(testing::ReadFile(out / "s.mp4"), DecryptAllSegments(f.data, f.session, f.keys));
}

TEST(RecordExport, SessionsListsTheSealedSessionWithItsMetadata) {
  const auto& f = SharedFixture();
  auto r = RunTcd({"sessions", "--data", f.data, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["id"], f.session);
  EXPECT_EQ(j[0]["point"], "xa-a");
  EXPECT_EQ(j[0]["state"], "sealed");
  EXPECT_NEAR(j[0]["duration_s"].get<double>(), 6.0, 1.0);
  EXPECT_GE(j[0]["segments"].get<int>(), 5);
}

TEST(RecordExport, VerifyPassesOnAnIntactArchive) {
  const auto& f = SharedFixture();
  auto r = RunTcd({"verify", "--data", f.data});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("OK"), std::string::npos);
  EXPECT_NE(r.out.find(f.session), std::string::npos);
  auto j = RunTcd({"verify", "--data", f.data, "--session", f.session, "--json"});
  EXPECT_EQ(j.exit_code, 0);
  EXPECT_TRUE(nlohmann::json::parse(j.out)["ok"].get<bool>());
}

TEST(RecordExport, RecorderCannotDecryptItsClosedSession) {
  // The node key is not an archive key and the recorder kept no session key: nothing on the
  // recorder's disk opens the session. Only the archive key does.
  const auto& f = SharedFixture();
  TempDir out;
  TempDir other_keys;
  ASSERT_EQ(RunTcd({"keygen", "--kind", "archive", "--out", other_keys.path()}).exit_code, 0);
  auto r = RunTcd({"export", "--data", f.data, "--session", f.session, "--key",
                   other_keys / "archive.key", "--out", out / "x.mp4"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not a recipient"), std::string::npos) << r.err;
  EXPECT_FALSE(Env::Default()->FileExists(out / "x.mp4"));
}

}  // namespace
}  // namespace tcd
