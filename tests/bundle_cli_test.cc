// Evidence bundles through the real `tcd` binary: `tcd export --out DIR` writes a BagIt bag
// (checked here by a validator written from RFC 8493 alone, and by sha256sum), its MP4 plays,
// `tcd verify --bundle` passes it and catches every tampering an inspector cares about, also
// when the attacker recomputes the manifests.
#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <boost/filesystem.hpp>
#include <map>
#include <set>
#include <sstream>

#include "tests/test_util.h"

namespace tcd {
namespace {

namespace fs = boost::filesystem;
using testing::Probe;
using testing::ReadFile;
using testing::RunProgram;
using testing::RunResult;
using testing::RunTcd;
using testing::SharedFixture;
using testing::TempDir;
using testing::WriteFile;

// --- An independent BagIt validator (RFC 8493), sha256 manifests only --------------------

std::string Sha256Hex(const std::string& data) {
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : h) out += {kHex[c >> 4], kHex[c & 15]};
  return out;
}

std::vector<std::string> SplitLines(const std::string& text) {  // LF, CRLF or CR (§2.1)
  std::vector<std::string> lines;
  std::string cur;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' || text[i] == '\n') {
      lines.push_back(cur);
      cur.clear();
      if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      cur += text[i];
    }
  }
  if (!cur.empty()) lines.push_back(cur);
  return lines;
}

std::string PercentDecode(const std::string& p) {  // §2.1.3: %0A, %0D, %25
  std::string out;
  for (size_t i = 0; i < p.size(); ++i) {
    std::string code = p.substr(i, 3);
    if (code == "%0A" || code == "%0a")
      out += '\n', i += 2;
    else if (code == "%0D" || code == "%0d")
      out += '\r', i += 2;
    else if (code == "%25")
      out += '%', i += 2;
    else
      out += p[i];
  }
  return out;
}

// path → checksum; problems appended.
std::map<std::string, std::string> ReadManifest(const std::string& bag, const std::string& name,
                                                std::vector<std::string>* problems) {
  std::map<std::string, std::string> out;
  for (const auto& line : SplitLines(ReadFile(bag + "/" + name))) {
    size_t ws = line.find_first_of(" \t");
    size_t path = line.find_first_not_of(" \t", ws);
    if (ws == std::string::npos || path == std::string::npos) {
      problems->push_back(name + ": malformed line '" + line + "'");
      continue;
    }
    std::string sum = line.substr(0, ws), file = PercentDecode(line.substr(path));
    std::transform(sum.begin(), sum.end(), sum.begin(), ::tolower);
    out[file] = sum;
    if (!fs::is_regular_file(bag + "/" + file))
      problems->push_back(name + ": missing " + file);
    else if (Sha256Hex(ReadFile(bag + "/" + file)) != sum)
      problems->push_back(name + ": checksum mismatch for " + file);
  }
  return out;
}

// §2.2.2: "label: value" lines, continuation lines start with white space.
std::vector<std::pair<std::string, std::string>> ReadBagInfo(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> tags;
  for (const auto& line : SplitLines(text)) {
    if (line.empty()) continue;
    if (line[0] == ' ' || line[0] == '\t') {
      tags.back().second += ' ';  // (not " " + …: a false -Wrestrict from g++ 12 at -O3)
      tags.back().second += line.substr(line.find_first_not_of(" \t"));
      continue;
    }
    size_t colon = line.find(':');
    tags.emplace_back(line.substr(0, colon), line.substr(line.find_first_not_of(' ', colon + 1)));
  }
  return tags;
}

std::vector<std::string> ValidateBag(const std::string& bag) {
  std::vector<std::string> problems;
  auto bagit = SplitLines(ReadFile(bag + "/bagit.txt"));
  if (bagit.size() != 2 || bagit[0] != "BagIt-Version: 1.0" ||
      bagit[1] != "Tag-File-Character-Encoding: UTF-8")
    problems.push_back("bagit.txt is not the two required lines");
  if (!fs::is_directory(bag + "/data")) problems.push_back("no data/ directory");
  std::set<std::string> top;
  for (fs::directory_iterator it(bag), end; it != end; ++it)
    top.insert(it->path().filename().string());
  for (const auto& name : top)
    if ((name.rfind("manifest-", 0) == 0 || name.rfind("tagmanifest-", 0) == 0) &&
        name.find("sha256") == std::string::npos)
      problems.push_back("unexpected manifest algorithm: " + name);
  if (!top.count("manifest-sha256.txt")) problems.push_back("no manifest-sha256.txt");
  auto payload = ReadManifest(bag, "manifest-sha256.txt", &problems);
  uint64_t octets = 0, streams = 0;
  for (fs::recursive_directory_iterator it(bag + "/data"), end; it != end; ++it) {
    if (!fs::is_regular_file(it->path())) continue;
    std::string rel = fs::relative(it->path(), bag).generic_string();
    octets += fs::file_size(it->path());
    ++streams;
    if (!payload.count(rel)) problems.push_back("payload file not in the manifest: " + rel);
  }
  for (const auto& [path, sum] : payload)
    if (path.rfind("data/", 0) != 0)
      problems.push_back("manifest lists a non-payload file " + path);
  if (top.count("tagmanifest-sha256.txt")) {
    auto tags = ReadManifest(bag, "tagmanifest-sha256.txt", &problems);
    for (const char* f : {"bagit.txt", "bag-info.txt", "manifest-sha256.txt"})
      if (!tags.count(f)) problems.push_back(std::string("tagmanifest lacks ") + f);
  }
  std::string oxum;
  for (const auto& [label, value] : ReadBagInfo(ReadFile(bag + "/bag-info.txt")))
    if (label == "Payload-Oxum") oxum = value;
  if (oxum != std::to_string(octets) + "." + std::to_string(streams))
    problems.push_back("Payload-Oxum '" + oxum + "' but the payload is " + std::to_string(octets) +
                       "." + std::to_string(streams));
  return problems;
}

// What an attacker does after editing a file: recompute both manifests.
void RecomputeManifests(const std::string& bag) {
  std::string manifest;
  std::vector<std::string> files;
  for (fs::recursive_directory_iterator it(bag + "/data"), end; it != end; ++it)
    if (fs::is_regular_file(it->path()))
      files.push_back(fs::relative(it->path(), bag).generic_string());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) manifest += Sha256Hex(ReadFile(bag + "/" + f)) + "  " + f + "\n";
  WriteFile(bag + "/manifest-sha256.txt", manifest);
  std::string tags;
  for (const char* f : {"bagit.txt", "bag-info.txt", "manifest-sha256.txt"})
    tags += Sha256Hex(ReadFile(bag + "/" + f)) + "  " + f + "\n";
  WriteFile(bag + "/tagmanifest-sha256.txt", tags);
}

// --- chain.bin read from its documented layout (docs/FORMAT.md §Evidence bundle) ------------

struct RawEntry {
  size_t offset = 0;  // of the entry encoding in chain.bin
  std::string bytes;
  uint64_t U64(size_t at) const {
    uint64_t v = 0;
    for (size_t i = 0; i < 8; ++i) v = v << 8 | static_cast<uint8_t>(bytes[at + i]);
    return v;
  }
  int kind() const { return static_cast<uint8_t>(bytes[1]); }
  int64_t start_us() const { return static_cast<int64_t>(U64(26)); }
  int64_t duration_us() const { return static_cast<int64_t>(U64(34)); }
  uint64_t plain_size() const { return U64(114); }
};

std::vector<RawEntry> ReadChainFile(const std::string& path) {
  std::string f = ReadFile(path);
  EXPECT_EQ(f.substr(0, 8), "TCDCHAIN");
  std::vector<RawEntry> out;
  for (size_t pos = 8 + 1 + 16 + 8; pos < f.size();) {
    uint32_t len = 0;
    for (int i = 0; i < 4; ++i) len = len << 8 | static_cast<uint8_t>(f[pos + i]);
    out.push_back({pos + 4, f.substr(pos + 4, len)});
    pos += 4 + len + 64;
  }
  return out;
}

// --- Fixtures -------------------------------------------------------------------------------

class BundleCli : public ::testing::Test {
 protected:
  const testing::Fixture& f_ = SharedFixture();
  TempDir dir_;

  RunResult Export(const std::string& data, const std::string& session, const std::string& out,
                   std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"export",
                                     "--data",
                                     data,
                                     "--session",
                                     session,
                                     "--key",
                                     f_.keys + "/archive/archive.key",
                                     "--passphrase-file",
                                     f_.keys + "/passphrase",
                                     "--out",
                                     out};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunTcd(args);
  }
  RunResult Verify(const std::string& bundle, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"verify", "--bundle", bundle};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunTcd(args);
  }
  // The bundle of the shared (lavfi) session, exported once per test into dir_/b.
  std::string ExportShared() {
    RunResult r = Export(f_.data, f_.session, dir_ / "b");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return dir_ / "b";
  }
  std::string SessionDir(const std::string& bundle, const std::string& id) {
    return bundle + "/data/" + id;
  }
  static void FlipByte(const std::string& path, size_t at) {
    std::string bytes = ReadFile(path);
    ASSERT_LT(at, bytes.size());
    bytes[at] ^= 0x01;
    WriteFile(path, bytes);
  }
  void ExpectFails(const std::string& bundle, const std::string& text) {
    RunResult r = Verify(bundle);
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.out.find(text), std::string::npos) << "expected: " << text << "\n" << r.out;
  }
  std::vector<std::string> Entries(const std::string& sdir) {
    std::vector<std::string> files;
    for (fs::directory_iterator it(sdir), end; it != end; ++it)
      files.push_back(it->path().filename().string());
    std::sort(files.begin(), files.end());
    return files;
  }
};

// Sessions recorded from a file (their chain times follow the media: segments 1 s apart),
// two in conference HN-1 and one in HN-2, in one archive. Made once per test binary.
struct FileSessions {
  std::string data, a, b, c;
};
const FileSessions& Conference() {
  static TempDir root;
  static const FileSessions s = [] {
    const auto& f = SharedFixture();
    FileSessions out;
    out.data = root / "data";
    RunResult gen =
        RunProgram("ffmpeg", {"-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
                              "-f", "lavfi", "-i", "sine", "-t", "8", "-c:v", "libx264", "-g", "25",
                              "-c:a", "aac", root / "in.ts"});
    if (gen.exit_code != 0) throw std::runtime_error("ffmpeg: " + gen.err);
    auto record = [&](const std::string& point, const std::string& conference) {
      RunResult r = RunTcd({"record", "--data", out.data, "--node-key", f.keys + "/node/node.key",
                            "--recipient", f.keys + "/archive/archive.pub", "--source",
                            root / "in.ts", "--segment-seconds", "1", "--point", point, "--meta",
                            "conference=" + conference, "--meta", "case=KN-2026-7"});
      if (r.exit_code != 0) throw std::runtime_error("record: " + r.err);
      std::string id = r.out.substr(0, r.out.size() - 1);
      return id.substr(id.rfind('\n') + 1);
    };
    out.a = record("xa-b", "HN-1");
    out.b = record("xa-c", "HN-1");
    out.c = record("xa-d", "HN-2");
    return out;
  }();
  return s;
}

// --- Tests ------------------------------------------------------------------------------------

TEST_F(BundleCli, ExportedBundleIsAValidBagThatPlaysAndVerifies) {
  std::string bag = ExportShared();
  EXPECT_EQ(ValidateBag(bag), std::vector<std::string>{});
  RunResult sums = RunProgram("sh", {"-c", "cd '" + bag +
                                               "' && sha256sum -c --strict "
                                               "manifest-sha256.txt && sha256sum -c --strict "
                                               "tagmanifest-sha256.txt"});
  EXPECT_EQ(sums.exit_code, 0) << sums.out << sums.err;
  std::string sdir = SessionDir(bag, f_.session);
  // Exported at the recorder itself: its own log proves the chain (no tier above has cosigned).
  EXPECT_EQ(Entries(sdir), (std::vector<std::string>{"chain.bin", "contents.json",
                                                     "log-proof.json", "recording.mp4",
                                                     "session.json", "signer.pub"}));
  auto probe = Probe(sdir + "/recording.mp4");
  ASSERT_FALSE(probe.is_null());
  EXPECT_NEAR(std::stod(probe["format"]["duration"].get<std::string>()), 6.0, 1.0);
  // Byte for byte what the plain MP4 export writes.
  ASSERT_EQ(Export(f_.data, f_.session, dir_ / "plain.mp4").exit_code, 0);
  EXPECT_EQ(ReadFile(sdir + "/recording.mp4"), ReadFile(dir_ / "plain.mp4"));
  std::string info = ReadFile(bag + "/bag-info.txt");
  const std::vector<std::string> labels = {"External-Identifier: " + f_.session,
                                           "Tcd-Point: xa-a",
                                           "Tcd-Chair: Trần Thị Bình",
                                           "Tcd-Type: complaint",
                                           "Tcd-State: sealed (duration-reached)",
                                           "Bagging-Date: ",
                                           "Payload-Oxum: "};
  for (const std::string& want : labels)
    EXPECT_NE(info.find(want), std::string::npos) << want << "\n" << info;

  RunResult v = Verify(bag, {"--signer", f_.keys + "/node/node.pub"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  EXPECT_NE(v.out.find("VERIFIED"), std::string::npos) << v.out;
  auto j = nlohmann::json::parse(Verify(bag, {"--json"}).out);
  EXPECT_TRUE(j["ok"].get<bool>());
  EXPECT_EQ(j["checked"]["payload_files"], 6);
  EXPECT_EQ(j["sessions"][0]["log_proof"]["tiers"], "recorder") << j.dump(1);
  EXPECT_NE(v.out.find("node logs: proven recorder: seq 0–"), std::string::npos) << v.out;
  EXPECT_EQ(j["checked"]["signatures"], j["checked"]["entries"]);
  EXPECT_EQ(j["sessions"][0]["state"], "sealed");
  // The bundle's own signer.pub works as a trusted signer for the archive, too.
  EXPECT_EQ(RunTcd({"verify", "--data", f_.data, "--signer", sdir + "/signer.pub"}).exit_code, 0);
  TempDir other;
  ASSERT_EQ(RunTcd({"keygen", "--kind", "node", "--out", other.path()}).exit_code, 0);
  RunResult untrusted = Verify(bag, {"--signer", other / "node.pub"});
  EXPECT_EQ(untrusted.exit_code, 1);
  EXPECT_NE(untrusted.out.find("chain.bin: seq 0: signed by key"), std::string::npos)
      << untrusted.out;
}

TEST_F(BundleCli, FlippedByteInTheMp4IsNamedWithItsSeq) {
  std::string bag = ExportShared();
  std::string mp4 = SessionDir(bag, f_.session) + "/recording.mp4";
  auto chain = ReadChainFile(SessionDir(bag, f_.session) + "/chain.bin");
  auto contents = nlohmann::json::parse(ReadFile(SessionDir(bag, f_.session) + "/contents.json"));
  // The middle of the third piece.
  auto seqs = contents["files"][0]["entries"].get<std::vector<uint64_t>>();
  size_t at =
      chain[seqs[0]].plain_size() + chain[seqs[1]].plain_size() + chain[seqs[2]].plain_size() / 2;
  FlipByte(mp4, at);
  std::string file = "data/" + f_.session + "/recording.mp4";
  ExpectFails(bag, file + ": SHA-256 differs from manifest-sha256.txt");
  RecomputeManifests(bag);
  EXPECT_EQ(ValidateBag(bag), std::vector<std::string>{});  // a valid bag again, but…
  ExpectFails(bag, file + ": seq " + std::to_string(seqs[2]) +
                       ": BLAKE2b-256 differs from the signed plain_hash");
}

TEST_F(BundleCli, FlippedByteInTheChainFileIsNamedWithItsSeq) {
  std::string bag = ExportShared();
  std::string path = SessionDir(bag, f_.session) + "/chain.bin";
  auto chain = ReadChainFile(path);
  FlipByte(path, chain[3].offset + 34 + 7);  // seq 3's duration_us
  std::string file = "data/" + f_.session + "/chain.bin";
  ExpectFails(bag, file + ": SHA-256 differs from manifest-sha256.txt");
  RecomputeManifests(bag);
  ExpectFails(bag, file + ": seq 3: signature does not verify");
}

TEST_F(BundleCli, EditedBagInfoIsCaughtAlsoWithARecomputedTagManifest) {
  std::string bag = ExportShared();
  std::string info = ReadFile(bag + "/bag-info.txt");
  size_t at = info.find("Tcd-Point: xa-a");
  ASSERT_NE(at, std::string::npos);
  FlipByte(bag + "/bag-info.txt", at + 14);  // xa-a → xa-`
  ExpectFails(bag, "bag-info.txt: SHA-256 differs from tagmanifest-sha256.txt");
  RecomputeManifests(bag);
  ExpectFails(bag, "bag-info.txt: session " + f_.session +
                       ": Tcd-Point 'xa-`' differs from the "
                       "signed chain ('xa-a')");
}

TEST_F(BundleCli, ClipHoldsTheSegmentsOfTheRangeAndVerifies) {
  const auto& s = Conference();
  std::string bag = dir_ / "clip";
  RunResult r = Export(s.data, s.a, bag, {"--from", "+2.5s", "--to", "+4.5s", "--only-session"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ValidateBag(bag), std::vector<std::string>{});
  std::string sdir = SessionDir(bag, s.a);
  auto chain = ReadChainFile(sdir + "/chain.bin");
  const int64_t from = chain[0].start_us() + 2'500'000, to = chain[0].start_us() + 4'500'000;
  std::vector<uint64_t> want;
  int64_t duration = 0;
  for (uint64_t seq = 0; seq < chain.size(); ++seq) {
    const auto& e = chain[seq];
    if (e.kind() == 2 && want.empty()) want.push_back(seq);
    if (e.kind() == 3 && e.start_us() < to && e.start_us() + e.duration_us() > from) {
      want.push_back(seq);
      duration += e.duration_us();
    }
  }
  ASSERT_EQ(want.size(), 4u);  // init + the segments [2,3), [3,4), [4,5)
  auto contents = nlohmann::json::parse(ReadFile(sdir + "/contents.json"));
  EXPECT_EQ(contents["files"][0]["entries"].get<std::vector<uint64_t>>(), want);
  // 25 frames a second: the clip plays as long as its segments last.
  RunResult packets = RunProgram(
      "ffprobe", {"-v", "error", "-select_streams", "v", "-count_packets", "-show_entries",
                  "stream=nb_read_packets", "-of", "csv=p=0", sdir + "/recording.mp4"});
  ASSERT_EQ(packets.exit_code, 0) << packets.err;
  EXPECT_NEAR(std::stoi(packets.out) / 25.0, duration / 1e6, 0.05);
  RunResult v = Verify(bag, {"--json"});
  EXPECT_EQ(v.exit_code, 0) << v.out;
  auto j = nlohmann::json::parse(v.out);
  EXPECT_TRUE(j["sessions"][0]["clip"].is_object());
  EXPECT_TRUE(j["sessions"][0]["files"][0]["ok"].get<bool>());
  // The boundary segment (the clip's last piece) altered: no longer the signed session.
  uint64_t offset = 0;
  for (size_t i = 0; i + 1 < want.size(); ++i) offset += chain[want[i]].plain_size();
  FlipByte(sdir + "/recording.mp4", offset + 100);
  RecomputeManifests(bag);
  ExpectFails(bag, "data/" + s.a + "/recording.mp4: seq " + std::to_string(want.back()) +
                       ": BLAKE2b-256 differs from the signed plain_hash");
}

TEST_F(BundleCli, ConferenceSessionsExportIntoOneBundle) {
  const auto& s = Conference();
  std::string bag = dir_ / "conf";
  RunResult r = Export(s.data, s.b, bag);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> sessions;
  for (fs::directory_iterator it(bag + "/data"), end; it != end; ++it)
    sessions.push_back(it->path().filename().string());
  std::sort(sessions.begin(), sessions.end());
  EXPECT_EQ(sessions, (std::vector<std::string>{s.a, s.b}));  // not s.c: another conference
  EXPECT_EQ(ValidateBag(bag), std::vector<std::string>{});
  RunResult v = Verify(bag, {"--json"});
  EXPECT_EQ(v.exit_code, 0) << v.out;
  auto j = nlohmann::json::parse(v.out);
  ASSERT_EQ(j["sessions"].size(), 2u);
  for (const auto& sj : j["sessions"]) EXPECT_EQ(sj["state"], "sealed");
  std::string info = ReadFile(bag + "/bag-info.txt");
  EXPECT_LT(info.find("External-Identifier: " + s.b), info.find("External-Identifier: " + s.a))
      << "the session asked for comes first";
  ASSERT_EQ(Export(s.data, s.b, dir_ / "one", {"--only-session"}).exit_code, 0);
  EXPECT_FALSE(fs::exists(dir_ / ("one/data/" + s.a)));
}

TEST_F(BundleCli, BadInputIsRefusedClearlyAndWritesNothing) {
  auto nothing_new = [&](const std::string& name) {
    for (fs::directory_iterator it(dir_.path()), end; it != end; ++it)
      EXPECT_EQ(it->path().filename().string().find(name), std::string::npos) << it->path();
  };
  RunResult r = Export(f_.data, "ffffffff", dir_ / "x");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("ffffffff"), std::string::npos) << r.err;
  nothing_new("x");
  TempDir keys;
  ASSERT_EQ(RunTcd({"keygen", "--kind", "archive", "--out", keys.path()}).exit_code, 0);
  r = RunTcd({"export", "--data", f_.data, "--session", f_.session, "--key", keys / "archive.key",
              "--out", dir_ / "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not a recipient"), std::string::npos) << r.err;
  nothing_new("x");
  for (auto [from, to] : {std::pair<std::string, std::string>{"yesterday", "+5s"},
                          {"+5s", "+1s"},
                          {"+1000s", ""},
                          {"2026-02-30 10:00:00", ""}}) {
    std::vector<std::string> extra = {"--from", from};
    if (!to.empty()) extra.insert(extra.end(), {"--to", to});
    r = Export(f_.data, f_.session, dir_ / "x", extra);
    EXPECT_EQ(r.exit_code, 2) << from << " " << to << ": " << r.err;
    EXPECT_NE(r.err.find("--from"), std::string::npos) << r.err;
    nothing_new("x");
  }
  fs::create_directories(dir_ / "taken");
  WriteFile(dir_ / "taken/mine.txt", "mine");
  r = Export(f_.data, f_.session, dir_ / "taken");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.err;
  r = Export(f_.data, f_.session, dir_ / "taken", {"--force"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not a bundle"), std::string::npos) << r.err;
  EXPECT_EQ(ReadFile(dir_ / "taken/mine.txt"), "mine");
  r = Verify(dir_ / "taken");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("bagit.txt: missing"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("not a BagIt bag"), std::string::npos) << r.out;
  r = Verify(dir_ / "absent");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
  EXPECT_EQ(RunTcd({"verify", "--bundle", dir_ / "taken", "--data", f_.data}).exit_code, 2);
}

TEST_F(BundleCli, EveryExportIsAuditedAndAnUnwritableAuditRefusesIt) {
  std::string data = dir_ / "data";
  fs::create_directories(data);
  RunProgram("cp", {"-a", f_.data + "/.", data});
  ASSERT_EQ(Export(data, f_.session, dir_ / "b").exit_code, 0);
  std::string log = ReadFile(data + "/audit/audit.log");
  EXPECT_NE(log.find("\"export\""), std::string::npos) << log;
  EXPECT_NE(log.find(f_.session), std::string::npos) << log;
  EXPECT_EQ(RunTcd({"verify", "--audit", "--data", data}).exit_code, 0);
  fs::remove_all(data + "/audit");
  WriteFile(data + "/audit", "not a directory");
  for (const char* name : {"c", "c.mp4"}) {
    const std::string out = dir_ / name;
    RunResult r = Export(data, f_.session, out);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("export refused"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out)) << "published without an audit record";
  }
  for (fs::directory_iterator it(dir_.path()), end; it != end; ++it)
    EXPECT_EQ(it->path().filename().string().find(".part"), std::string::npos) << it->path();
}

TEST_F(BundleCli, ATamperedSessionIsNotExported) {
  std::string data = dir_ / "data";
  fs::create_directories(data);
  RunProgram("cp", {"-a", f_.data + "/.", data});
  // The largest blob is a media segment: flip one of its bytes.
  std::string blob;
  for (fs::recursive_directory_iterator it(data + "/blobs"), end; it != end; ++it)
    if (fs::is_regular_file(it->path()) &&
        (blob.empty() || fs::file_size(it->path()) > fs::file_size(blob)))
      blob = it->path().string();
  FlipByte(blob, 100);
  RunResult r = Export(data, f_.session, dir_ / "x");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("hash-mismatch"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("seq "), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "x"));
}

}  // namespace
}  // namespace tcd
