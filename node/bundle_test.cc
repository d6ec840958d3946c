// Evidence bundles (node/bundle.h, node/bagit.h) on synthetic sessions: the BagIt pieces, the
// chain file, time specs, and export → verify with the tampering an inspector must catch.
// (tests/bundle_cli_test.cc drives the real binary on real recordings, with an independent
// BagIt validator.)
#include "node/bundle.h"

#include <gtest/gtest.h>

#include <boost/filesystem.hpp>
#include <fstream>
#include <sstream>

#include "node/session_recorder.h"
#include "node/store.h"

namespace tcd::node {
namespace {

namespace fs = boost::filesystem;

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
void Write(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

// --- BagIt pieces --------------------------------------------------------------------------

TEST(Bagit, Sha256KnownAnswers) {
  EXPECT_EQ(ToHex(bagit::Sha256Of(AsBytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  bagit::Sha256Hasher h;
  h.Update(AsBytes("a"));
  h.Update(AsBytes("bc"));
  EXPECT_EQ(h.Final(), bagit::Sha256Of(AsBytes("abc")));
}

TEST(Bagit, ManifestPathsArePercentEncodedAndSorted) {
  bagit::Sha256 zero{};
  std::string text = bagit::FormatManifest({{"data/b%\n.txt", zero}, {"data/a\r", zero}});
  EXPECT_EQ(text, ToHex(zero) + "  data/a%0D\n" + ToHex(zero) + "  data/b%25%0A.txt\n");
  auto parsed = bagit::ParseManifest(text, "manifest-sha256.txt");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ((*parsed)[0].path, "data/a\r");
  EXPECT_EQ((*parsed)[1].path, "data/b%\n.txt");
  // Any white space between checksum and path, CRLF line ends, upper-case hex.
  auto loose = bagit::ParseManifest(std::string(64, 'A') + " \tdata/x\r\n", "m");
  ASSERT_TRUE(loose.ok());
  EXPECT_EQ((*loose)[0].path, "data/x");
  const std::string h(64, 'a');
  for (const std::string& bad :
       {std::string("abc  data/x\n"), h + "  ../x\n", h + "  /etc/passwd\n", h + "\n"})
    EXPECT_FALSE(bagit::ParseManifest(bad, "m").ok()) << bad;
}

TEST(Bagit, LongTagValuesFoldAtSpacesAndUnfoldToTheSameValue) {
  std::string long_value;
  for (int i = 0; i < 40; ++i) long_value += "Nguyễn Văn An " + std::to_string(i) + " ";
  long_value += "end";
  std::string unbreakable(150, 'x');
  std::vector<bagit::Tag> tags = {
      {"Tcd-Note", long_value}, {"Tcd-Url", unbreakable}, {"Tcd-Empty", ""}};
  std::string text = bagit::FormatTags(tags);
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    size_t chars = 0;
    for (char c : line) chars += (static_cast<uint8_t>(c) & 0xC0) != 0x80;
    if (line.find(unbreakable) == std::string::npos) {
      EXPECT_LE(chars, 79u) << line;
    }
  }
  auto parsed = bagit::ParseTags(text, "bag-info.txt");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, tags);
  EXPECT_FALSE(bagit::ParseTags("no colon here\n", "bag-info.txt").ok());
}

TEST(Bagit, BagitTxtAndOxum) {
  EXPECT_TRUE(bagit::CheckBagitTxt(bagit::BagitTxt()).ok());
  EXPECT_TRUE(
      bagit::CheckBagitTxt("BagIt-Version: 0.97\r\nTag-File-Character-Encoding: utf-8\r\n").ok());
  EXPECT_FALSE(
      bagit::CheckBagitTxt("BagIt-Version: 2.0\nTag-File-Character-Encoding: UTF-8\n").ok());
  EXPECT_FALSE(bagit::CheckBagitTxt("Tag-File-Character-Encoding: UTF-8\n").ok());
  auto oxum = bagit::ParseOxum("123.4");
  ASSERT_TRUE(oxum.ok());
  EXPECT_EQ(oxum->bytes, 123u);
  EXPECT_EQ(oxum->files, 4u);
  EXPECT_EQ(bagit::FormatOxum(*oxum), "123.4");
  EXPECT_FALSE(bagit::ParseOxum("12a.4").ok());
  EXPECT_FALSE(bagit::ParseOxum("124").ok());
}

TEST(BundleFormat, EscapedValuesKeepControlCharactersVisible) {
  EXPECT_EQ(EscapeTagValue("a\nb\\c"), "a\\x0ab\\x5cc");
  EXPECT_EQ(EscapeTagValue(" padded "), "\\x20padded\\x20");
  EXPECT_EQ(EscapeTagValue("Xã Tân Phú"), "Xã Tân Phú");
}

TEST(BundleFormat, TimeSpecs) {
  auto rel = ParseTimeSpec("+300s", "--from");
  ASSERT_TRUE(rel.ok());
  EXPECT_TRUE(rel->relative);
  EXPECT_EQ(rel->us, 300'000'000);
  EXPECT_EQ(ParseTimeSpec("+1.5", "--to")->us, 1'500'000);
  auto abs = ParseTimeSpec("2023-11-14T22:13:20.25Z", "--from");
  ASSERT_TRUE(abs.ok()) << abs.status().ToString();
  EXPECT_FALSE(abs->relative);
  EXPECT_EQ(abs->us, 1'700'000'000'250'000);
  EXPECT_EQ(ParseTimeSpec("2023-11-15T05:13:20+07:00", "--from")->us, 1'700'000'000'000'000);
  for (const char* bad : {"+", "+-3s", "+3m", "yesterday", "2023-13-01 00:00:00", ""})
    EXPECT_TRUE(ParseTimeSpec(bad, "--from").status().IsInvalidArgument()) << bad;
}

TEST(BundleFormat, ChainFileRoundTripsAndRejectsDamage) {
  crypto::SessionId id{};
  id[0] = 7;
  std::vector<std::pair<uint64_t, ChainRecord>> chain = {{0, {{1, 2, 3}, {}}}, {1, {{4}, {}}}};
  chain[1].second.signature[5] = 9;
  Bytes file = EncodeChainFile(id, chain);
  EXPECT_EQ(file.size(), 8 + 1 + 16 + 8 + (4 + 3 + 64) + (4 + 1 + 64));
  auto back = DecodeChainFile(file);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->first, id);
  ASSERT_EQ(back->second.size(), 2u);
  EXPECT_EQ(back->second[1].entry, Bytes{4});
  EXPECT_EQ(back->second[1].signature[5], 9);
  Bytes longer = file;
  longer.push_back(0);
  EXPECT_FALSE(DecodeChainFile(longer).ok());
  EXPECT_FALSE(DecodeChainFile(ByteView(file).first(file.size() - 1)).ok());
  file[0] = 'X';
  EXPECT_FALSE(DecodeChainFile(file).ok());
}

TEST(BundleFormat, SignerPubRoundTripsAndChecksTheKeyId) {
  crypto::PublicKey pk{};
  pk[3] = 3;
  auto back = DecodeSignerPub(EncodeSignerPub(pk), "signer.pub");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, pk);
  std::string text = EncodeSignerPub(pk);
  text.replace(text.find(crypto::KeyId(pk)), 16, "0000000000000000");
  EXPECT_FALSE(DecodeSignerPub(text, "signer.pub").ok());
}

// --- Export and verify ---------------------------------------------------------------------

class BundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto::InitCrypto().ok());
    root_ = (fs::temp_directory_path() / fs::unique_path("tcd-bundle-%%%%%%%%")).string();
    auto store = Store::Open(Env::Default(), root_ + "/data");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(root_);
  }

  // A session whose segments start 1 s apart from its open entry's start: `runs[i]` segments
  // in run i. Bytes are synthetic (not real MP4): the bundle does not look inside them.
  crypto::SessionId Record(const crypto::Metadata& meta, std::vector<int> runs = {5},
                           bool seal = true) {
    auto rec = SessionRecorder::Start(store_.get(), &node_, {archive_.pub}, meta);
    EXPECT_TRUE(rec.ok()) << rec.status().ToString();
    int64_t t = (*rec)->record().start_us;
    uint64_t index = 0;
    for (uint32_t run = 0; run < runs.size(); ++run) {
      EXPECT_TRUE((*rec)->OnInit(run, Bytes(300, static_cast<uint8_t>(run)), "test").ok());
      for (int i = 0; i < runs[run]; ++i, ++index) {
        ingest::MediaSegment s;
        s.index = index;
        s.run = run;
        s.data = Bytes(1000 + index, static_cast<uint8_t>(index));
        s.duration_us = 1'000'000;
        s.wall_start_us = t + static_cast<int64_t>(index) * 1'000'000;
        EXPECT_TRUE((*rec)->OnSegment(std::move(s)).ok());
      }
    }
    if (seal) {
      EXPECT_TRUE((*rec)->Seal(crypto::SealReason::kStopped).ok());
    }
    return (*rec)->id();
  }

  Result<BundleExportResult> Export(const crypto::SessionId& id, const std::string& name,
                                    BundleOptions o = {}) {
    o.session = id;
    o.out_dir = root_ + "/" + name;
    return ExportBundle(store_.get(), archive_, o);
  }

  BundleReport Verify(const std::string& name) {
    auto r = VerifyBundle(root_ + "/" + name);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : BundleReport{};
  }

  std::string SessionDir(const std::string& name, const crypto::SessionId& id) {
    return root_ + "/" + name + "/data/" + crypto::SessionIdToString(id) + "/";
  }

  // What an attacker with the bundle can do after editing a file: recompute both manifests.
  void RecomputeManifests(const std::string& name) {
    std::string bag = root_ + "/" + name;
    std::vector<bagit::ManifestEntry> payload, tags;
    for (fs::recursive_directory_iterator it(bag + "/data"), end; it != end; ++it)
      if (fs::is_regular_file(it->path()))
        payload.push_back({fs::relative(it->path(), bag).generic_string(),
                           bagit::DigestFile(it->path().string())->sha256});
    Write(bag + "/manifest-sha256.txt", bagit::FormatManifest(payload));
    for (const char* f : {"bagit.txt", "bag-info.txt", "manifest-sha256.txt"})
      tags.push_back({f, bagit::DigestFile(bag + "/" + f)->sha256});
    Write(bag + "/tagmanifest-sha256.txt", bagit::FormatManifest(tags));
  }

  static bool Has(const BundleReport& r, const std::string& problem, const std::string& file,
                  std::optional<uint64_t> seq = std::nullopt) {
    for (const auto& p : r.problems)
      if (p.problem == problem && p.file.ends_with(file) && (!seq || p.seq == seq)) return true;
    return false;
  }
  static std::string Problems(const BundleReport& r) {
    std::string s;
    for (const auto& p : r.problems) s += p.Text() + "\n";
    return s;
  }

  std::string root_;
  std::unique_ptr<Store> store_;
  crypto::NodeIdentity node_ = crypto::GenerateNodeIdentity();
  crypto::ArchiveKeyPair archive_ = crypto::GenerateArchiveKey();
};

TEST_F(BundleTest, ExportedBundleVerifiesAndHoldsEachRunAsOneFile) {
  auto id = Record({{"point", "xa-a"}, {"note", "line one\nline two"}}, {3, 2});
  auto r = Export(id, "b");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->segments, 5u);
  EXPECT_EQ(r->mp4_files.size(), 2u);
  std::string dir = SessionDir("b", id);
  // run 0: init (300 × 0x00) + segments 0..2; run 1 in its own file.
  std::string run0 = Read(dir + "recording.mp4");
  EXPECT_EQ(run0.size(), 300u + 1000 + 1001 + 1002);
  EXPECT_EQ(run0.substr(0, 300), std::string(300, '\0'));
  EXPECT_EQ(Read(dir + "recording-run2.mp4").size(), 300u + 1003 + 1004);
  BundleReport v = Verify("b");
  EXPECT_TRUE(v.ok) << Problems(v);
  EXPECT_EQ(v.pieces, 7u);
  EXPECT_EQ(v.signatures, v.entries);
  ASSERT_EQ(v.sessions.size(), 1u);
  EXPECT_EQ(v.sessions[0].state, "sealed");
  // Exported where it was recorded: the seal's checkpoint of this node's log proves it.
  EXPECT_TRUE(r->unproven.empty());
  ASSERT_TRUE(v.sessions[0].log_proof.has_value());
  EXPECT_EQ(v.sessions[0].log_proof->Tiers(), "recorder");
  EXPECT_NE(Read(root_ + "/b/bag-info.txt").find("Tcd-Note: line one\\x0aline two"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(root_ + "/b.part"));
}

TEST_F(BundleTest, TamperedMediaWithRecomputedManifestsNamesTheSeq) {
  auto id = Record({{"point", "xa-a"}});
  ASSERT_TRUE(Export(id, "b").ok());
  std::string mp4 = SessionDir("b", id) + "recording.mp4";
  std::string bytes = Read(mp4);
  bytes[300 + 1000 + 10] ^= 0x01;  // inside the second segment = seq 3
  Write(mp4, bytes);
  BundleReport v = Verify("b");
  EXPECT_TRUE(Has(v, "checksum-mismatch", "recording.mp4")) << Problems(v);
  RecomputeManifests("b");
  v = Verify("b");
  EXPECT_FALSE(v.ok);
  ASSERT_EQ(v.problems.size(), 1u) << Problems(v);
  EXPECT_TRUE(Has(v, "hash-mismatch", "recording.mp4", 3)) << Problems(v);
  // One byte more at the end.
  Write(mp4, Read(mp4) + "x");
  RecomputeManifests("b");
  EXPECT_TRUE(Has(Verify("b"), "hash-mismatch", "recording.mp4"));
}

TEST_F(BundleTest, DroppedSegmentIsCaughtEvenWhenContentsJsonIsEdited) {
  auto id = Record({{"point", "xa-a"}});
  ASSERT_TRUE(Export(id, "b").ok());
  std::string dir = SessionDir("b", id);
  std::string contents = Read(dir + "contents.json");
  auto j = nlohmann::json::parse(contents);
  auto& entries = j["files"][0]["entries"];
  entries.erase(entries.begin() + 2);  // seq 3 out of the list…
  Write(dir + "contents.json", j.dump(2));
  std::string mp4 = Read(dir + "recording.mp4");  // …and its bytes out of the file
  Write(dir + "recording.mp4", mp4.substr(0, 1300) + mp4.substr(1300 + 1001));
  RecomputeManifests("b");
  BundleReport v = Verify("b");
  EXPECT_TRUE(Has(v, "bad-contents", "contents.json")) << Problems(v);
  // A claim that it is a clip does not help: a clip is consecutive segments.
  j["clip"] = {{"from_us", 0}, {"to_us", INT64_MAX}};
  Write(dir + "contents.json", j.dump(2));
  RecomputeManifests("b");
  EXPECT_TRUE(Has(Verify("b"), "bad-contents", "contents.json"));
}

TEST_F(BundleTest, EditedMetadataIsCaughtInBagInfoAndSessionJson) {
  auto id = Record({{"point", "xa-a"}, {"case", "KN-1"}});
  ASSERT_TRUE(Export(id, "b").ok());
  std::string info = Read(root_ + "/b/bag-info.txt");
  size_t at = info.find("Tcd-Case: KN-1");
  ASSERT_NE(at, std::string::npos);
  Write(root_ + "/b/bag-info.txt", info.replace(at, 14, "Tcd-Case: KN-2"));
  RecomputeManifests("b");
  BundleReport v = Verify("b");
  EXPECT_TRUE(Has(v, "metadata-mismatch", "bag-info.txt")) << Problems(v);
  EXPECT_NE(Problems(v).find("Tcd-Case 'KN-2'"), std::string::npos) << Problems(v);

  ASSERT_TRUE(Export(id, "c").ok());
  std::string json = Read(SessionDir("c", id) + "session.json");
  Write(SessionDir("c", id) + "session.json", json.replace(json.find("KN-1"), 4, "KN-9"));
  RecomputeManifests("c");
  v = Verify("c");
  EXPECT_TRUE(Has(v, "metadata-mismatch", "session.json")) << Problems(v);
}

TEST_F(BundleTest, TamperedChainFileNamesTheSeqAndACutChainIsUnsealed) {
  auto id = Record({{"point", "xa-a"}});
  ASSERT_TRUE(Export(id, "b").ok());
  std::string path = SessionDir("b", id) + "chain.bin";
  Bytes chain = *Env::Default()->ReadFile(path);
  auto decoded = DecodeChainFile(chain);
  ASSERT_TRUE(decoded.ok());
  // Change the claimed duration of seq 4 (offset 34 in the entry).
  auto recs = decoded->second;
  recs[4].entry[34 + 7] ^= 0x01;
  std::vector<std::pair<uint64_t, ChainRecord>> edited;
  for (auto& r : recs) edited.emplace_back(edited.size(), r);
  Write(path, std::string(AsChars(EncodeChainFile(id, edited))));
  RecomputeManifests("b");
  BundleReport v = Verify("b");
  EXPECT_TRUE(Has(v, "bad-signature", "chain.bin", 4)) << Problems(v);
  // The last entries (the seal) cut off.
  edited.resize(edited.size() - 1);
  edited[4].second = decoded->second[4];
  Write(path, std::string(AsChars(EncodeChainFile(id, edited))));
  RecomputeManifests("b");
  v = Verify("b");
  EXPECT_TRUE(Has(v, "unsealed", "chain.bin")) << Problems(v);
}

TEST_F(BundleTest, ClipHoldsTheOverlappingSegmentsOfTheRun) {
  auto id = Record({{"point", "xa-a"}}, {6});
  BundleOptions o;
  o.from = ParseTimeSpec("+1.5s", "--from").value();
  o.to = ParseTimeSpec("+3s", "--to").value();
  auto r = Export(id, "clip", o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->segments, 2u);  // [1,2) and [2,3)
  BundleReport v = Verify("clip");
  EXPECT_TRUE(v.ok) << Problems(v);
  ASSERT_EQ(v.sessions.at(0).media.size(), 1u);
  EXPECT_EQ(v.sessions[0].media[0].seqs, (std::vector<uint64_t>{1, 3, 4}));
  EXPECT_EQ(Read(SessionDir("clip", id) + "recording.mp4").size(), 300u + 1001 + 1002);
  o.from = ParseTimeSpec("+100s", "--from").value();
  o.to.reset();
  auto none = Export(id, "none", o);
  EXPECT_TRUE(none.status().IsInvalidArgument()) << none.status().ToString();
  EXPECT_FALSE(fs::exists(root_ + "/none"));
}

TEST_F(BundleTest, UnsealedSessionExportsButDoesNotVerifyClean) {
  auto id = Record({{"point", "xa-a"}}, {2}, /*seal=*/false);
  auto r = Export(id, "b");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->unsealed.size(), 1u);
  // No checkpoint was signed (that happens at the seal): nothing to prove it with yet, and the
  // export says so.
  EXPECT_EQ(r->unproven, std::vector<std::string>{crypto::SessionIdToString(id)});
  BundleReport v = Verify("b");
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.sessions.at(0).state, "unsealed");
  EXPECT_TRUE(Has(v, "unsealed", "chain.bin")) << Problems(v);
  EXPECT_EQ(v.problems.size(), 1u) << Problems(v);
}

TEST_F(BundleTest, ExistingOutputIsKeptWithoutForceAndOnlyABagIsReplaced) {
  auto id = Record({{"point", "xa-a"}});
  fs::create_directories(root_ + "/mine");
  Write(root_ + "/mine/notes.txt", "mine");
  auto r = Export(id, "mine");
  EXPECT_TRUE(r.status().IsInvalidArgument());
  BundleOptions force;
  force.force = true;
  EXPECT_TRUE(Export(id, "mine", force).status().IsInvalidArgument());  // not a bag
  EXPECT_EQ(Read(root_ + "/mine/notes.txt"), "mine");
  ASSERT_TRUE(Export(id, "b").ok());
  EXPECT_TRUE(Export(id, "b").status().IsInvalidArgument());
  ASSERT_TRUE(Export(id, "b", force).ok());
  EXPECT_TRUE(Verify("b").ok);
  for (fs::directory_iterator it(root_), end; it != end; ++it)
    EXPECT_EQ(it->path().filename().string().find(".part"), std::string::npos) << it->path();
}

TEST_F(BundleTest, WrongArchiveKeyWritesNothing) {
  auto id = Record({{"point", "xa-a"}});
  archive_ = crypto::GenerateArchiveKey();
  auto r = Export(id, "b");
  EXPECT_TRUE(r.status().IsUnauthenticated()) << r.status().ToString();
  EXPECT_NE(r.status().message().find("not a recipient"), std::string::npos);
  for (fs::directory_iterator it(root_), end; it != end; ++it)
    EXPECT_EQ(it->path().filename().string(), "data");
}

TEST_F(BundleTest, ADirectoryThatIsNotABagIsSaidToBeNone) {
  fs::create_directories(root_ + "/plain/data");
  BundleReport v = Verify("plain");
  EXPECT_FALSE(v.ok);
  EXPECT_FALSE(v.is_bag);
  EXPECT_TRUE(Has(v, "not-a-bag", "bagit.txt"));
  EXPECT_TRUE(VerifyBundle(root_ + "/absent").status().IsNotFound());
}

}  // namespace
}  // namespace tcd::node
