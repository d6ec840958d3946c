// VerifyBundle: checks an evidence bundle offline, with nothing but the bundle (docs/FORMAT.md
// §Evidence bundle, "How to verify a bundle"). Problems are collected in the order found;
// checking goes on after a problem wherever the rest can still be checked meaningfully.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>

#include "base/env.h"
#include "base/time_format.h"
#include "node/bundle.h"
#include "node/exporter.h"

namespace tcd::node {
namespace {

namespace fs = std::filesystem;
using crypto::EntryKind;
using OJson = nlohmann::ordered_json;

const char* const kSessionFiles[] = {"chain.bin", "signer.pub", "session.json", "contents.json",
                                     "log-proof.json"};

bool LabelIs(const std::string& label, std::string_view want) {
  return label.size() == want.size() &&
         std::equal(label.begin(), label.end(), want.begin(),
                    [](char a, char b) { return std::tolower(a) == std::tolower(b); });
}

bool IsTcdLabel(const std::string& label) { return LabelIs(label.substr(0, 4), "tcd-"); }

// One file of contents.json.
struct ContentFile {
  std::string path;
  uint32_t run = 0;
  uint64_t bytes = 0;  // as contents.json says
  std::vector<uint64_t> seqs;
};

struct Contents {
  std::optional<ClipRange> clip;
  std::vector<ContentFile> files;
};

// True when `o` is an object with exactly the members `names`.
bool HasExactly(const OJson& o, std::initializer_list<const char*> names) {
  if (!o.is_object() || o.size() != names.size()) return false;
  return std::all_of(names.begin(), names.end(), [&](const char* n) { return o.contains(n); });
}

Result<std::optional<ClipRange>> ParseClip(const OJson& clip) {
  if (clip.is_null()) return std::optional<ClipRange>();
  if (!HasExactly(clip, {"from", "from_us", "to", "to_us"}) ||
      !clip["from_us"].is_number_integer() || !clip["to_us"].is_number_integer())
    return Status::Corruption("'clip' is not null or {from, from_us, to, to_us}");
  ClipRange c{clip["from_us"].get<int64_t>(), clip["to_us"].get<int64_t>()};
  if (clip["from"] != FormatUtc(c.from_us) || clip["to"] != FormatUtc(c.to_us))
    return Status::Corruption("'clip': from/to do not say from_us/to_us");
  return std::optional<ClipRange>(c);
}

Result<ContentFile> ParseContentFile(const OJson& f) {
  if (!HasExactly(f, {"path", "run", "bytes", "entries"}) || !f["path"].is_string() ||
      !f["run"].is_number_unsigned() || f["run"].get<uint64_t>() > UINT32_MAX ||
      !f["bytes"].is_number_unsigned() || !f["entries"].is_array())
    return Status::Corruption("a file is not {path, run, bytes, entries}");
  ContentFile cf;
  cf.path = f["path"].get<std::string>();
  cf.run = static_cast<uint32_t>(f["run"].get<uint64_t>());
  cf.bytes = f["bytes"].get<uint64_t>();
  if (cf.path.size() <= 4 || cf.path.find('/') != std::string::npos || !cf.path.ends_with(".mp4"))
    return Status::Corruption("file path '" + cf.path + "' is not a plain name ending in .mp4");
  for (const auto& s : f["entries"]) {
    if (!s.is_number_unsigned()) return Status::Corruption(cf.path + ": entries are not seqs");
    cf.seqs.push_back(s.get<uint64_t>());
  }
  return cf;
}

Result<Contents> ParseContents(std::string_view text, const std::string& sid) {
  OJson j = OJson::parse(text, nullptr, false);
  if (!HasExactly(
          j, {"format", "version", "session", "chain", "signer", "metadata", "clip", "files"}) ||
      j["format"] != "tcd-bundle-contents" || j["version"] != 1)
    return Status::Corruption("not a tcd-bundle-contents document of version 1");
  if (j["session"] != sid) return Status::Corruption("its 'session' is not " + sid);
  if (j["chain"] != "chain.bin" || j["signer"] != "signer.pub" || j["metadata"] != "session.json")
    return Status::Corruption(
        "'chain', 'signer' and 'metadata' must name chain.bin, signer.pub "
        "and session.json");
  Contents c;
  TCD_ASSIGN_OR_RETURN(c.clip, ParseClip(j["clip"]));
  if (!j["files"].is_array()) return Status::Corruption("'files' is not an array");
  for (const auto& f : j["files"]) {
    TCD_ASSIGN_OR_RETURN(ContentFile cf, ParseContentFile(f));
    c.files.push_back(std::move(cf));
  }
  return c;
}

bool RegularFile(const std::string& path);

// chain.bin, the JSON and tag files: read whole (they are small), only when regular files.
Result<std::string> ReadSmallFile(const std::string& path) {
  if (!RegularFile(path)) return Status::NotFound(path + ": not a regular file");
  TCD_ASSIGN_OR_RETURN(Bytes b, Env::Default()->ReadFile(path));
  return std::string(AsChars(b));
}

// A regular file, not a symbolic link, device or directory (a bundle is read as it is: a link
// to /dev/zero must not make the verifier read forever).
bool RegularFile(const std::string& path) {
  std::error_code ec;
  return fs::symlink_status(path, ec).type() == fs::file_type::regular;
}

// Names of the entries of `dir`, sorted; none when it cannot be read.
std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    out.push_back(it->path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// Everything below `dir` that is not a directory (relative to `base`, sorted). Links are
// listed, not followed.
std::vector<std::string> ListTree(const std::string& base, const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(base + "/" + dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->symlink_status(ec).type() == fs::file_type::directory) continue;
    out.push_back(it->path().lexically_relative(base).generic_string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

class Checker {
 public:
  Checker(std::string root, const BundleVerifyOptions& o, BundleReport* r)
      : root_(std::move(root)), o_(o), r_(r) {}

  void Run() {
    if (!CheckBagit()) return;
    CheckTagManifest();
    CheckBagInfo();
    CheckPayloadManifest();
    CheckSessions();
    CheckLabels();
  }

 private:
  void Flag(const std::string& file, const std::string& session, std::optional<uint64_t> seq,
            const std::string& problem, const std::string& detail) {
    r_->problems.push_back({file, session, seq, problem, detail});
  }
  std::string Path(const std::string& rel) const { return root_ + "/" + rel; }

  bool CheckBagit();
  void CheckTagManifest();
  void CheckBagInfo();
  void CheckPayloadManifest();
  void CheckSessions();
  void CheckSession(const std::string& sid);
  void CheckMedia(BundleSessionCheck* sc, const std::vector<crypto::ChainEntry>& entries,
                  const Contents& contents);
  bool CheckPieces(const std::string& file, const std::string& sid,
                   const std::vector<crypto::ChainEntry>& entries,
                   const std::vector<uint64_t>& seqs);
  void CheckSessionJson(const std::string& dir, const SessionFacts& facts);
  void CheckLabels();

  const std::string root_;
  const BundleVerifyOptions& o_;
  BundleReport* const r_;
  std::vector<bagit::Tag> info_;
  std::map<std::string, std::vector<bagit::Tag>> expected_;  // Tcd- labels per session
};

bool Checker::CheckBagit() {
  auto text = ReadSmallFile(Path("bagit.txt"));
  if (!text.ok()) {
    Flag("bagit.txt", "", std::nullopt, "not-a-bag",
         "missing: " + root_ + " is not a BagIt bag (no bagit.txt)");
    return false;
  }
  Status s = bagit::CheckBagitTxt(*text);
  if (!s.ok()) {
    Flag("bagit.txt", "", std::nullopt, "not-a-bag", s.message());
    return false;
  }
  r_->is_bag = true;
  return true;
}

void Checker::CheckTagManifest() {
  const std::string tm = "tagmanifest-sha256.txt";
  auto text = ReadSmallFile(Path(tm));
  if (!text.ok()) return Flag(tm, "", std::nullopt, "missing-file", "missing");
  auto entries = bagit::ParseManifest(*text, tm);
  if (!entries.ok()) return Flag(tm, "", std::nullopt, "bad-manifest", entries.status().message());
  std::set<std::string> listed;
  for (const auto& e : *entries) {
    listed.insert(e.path);
    if (e.path.starts_with("data/") || e.path == tm) {
      Flag(tm, "", std::nullopt, "bad-manifest", "lists '" + e.path + "', which is not a tag file");
      continue;
    }
    if (!RegularFile(Path(e.path))) {
      Flag(e.path, "", std::nullopt, "missing-file", "listed in " + tm + " but not a file here");
      continue;
    }
    auto d = bagit::DigestFile(Path(e.path));
    if (!d.ok())
      Flag(e.path, "", std::nullopt, "missing-file", "listed in " + tm + " but unreadable");
    else if (d->sha256 != e.sha256)
      Flag(e.path, "", std::nullopt, "checksum-mismatch", "SHA-256 differs from " + tm);
    else
      r_->tag_files++;
  }
  for (const char* name : {"bagit.txt", "bag-info.txt", "manifest-sha256.txt"})
    if (!listed.count(name)) Flag(name, "", std::nullopt, "unlisted-file", "not listed in " + tm);
  for (const auto& name : ListDir(root_)) {
    if (name == "data" || name == tm || listed.count(name)) continue;
    Flag(
        name, "", std::nullopt,
        name.starts_with("manifest-") || name.starts_with("tagmanifest-") ? "bad-manifest"
                                                                          : "unexpected-file",
        "not part of a tcd bundle (only SHA-256 manifests and the tag files listed in " + tm + ")");
  }
}

void Checker::CheckBagInfo() {
  auto text = ReadSmallFile(Path("bag-info.txt"));
  if (!text.ok()) return Flag("bag-info.txt", "", std::nullopt, "missing-file", "missing");
  auto tags = bagit::ParseTags(*text, "bag-info.txt");
  if (!tags.ok())
    return Flag("bag-info.txt", "", std::nullopt, "bad-bag-info", tags.status().message());
  info_ = std::move(tags).value();
}

void Checker::CheckPayloadManifest() {
  const std::string m = "manifest-sha256.txt";
  std::set<std::string> listed;
  auto text = ReadSmallFile(Path(m));
  auto entries = text.ok() ? bagit::ParseManifest(*text, m)
                           : Result<std::vector<bagit::ManifestEntry>>(text.status());
  if (!text.ok())
    Flag(m, "", std::nullopt, "missing-file", "missing");
  else if (!entries.ok())
    Flag(m, "", std::nullopt, "bad-manifest", entries.status().message());
  for (const auto& e : entries.ok() ? *entries : std::vector<bagit::ManifestEntry>{}) {
    if (!listed.insert(e.path).second || !e.path.starts_with("data/")) {
      Flag(m, "", std::nullopt, "bad-manifest", "'" + e.path + "' listed twice or outside data/");
      continue;
    }
    if (!RegularFile(Path(e.path))) {
      Flag(e.path, "", std::nullopt, "missing-file", "listed in " + m + " but not a file here");
      continue;
    }
    auto d = bagit::DigestFile(Path(e.path));
    if (!d.ok())
      Flag(e.path, "", std::nullopt, "missing-file", "listed in " + m + " but unreadable");
    else if (d->sha256 != e.sha256)
      Flag(e.path, "", std::nullopt, "checksum-mismatch", "SHA-256 differs from " + m);
  }
  for (const auto& f : ListTree(root_, "data")) {
    std::error_code ec;
    r_->payload_files++;
    if (!RegularFile(Path(f)))
      Flag(f, "", std::nullopt, "unexpected-file", "not a regular file (a link or a device)");
    else
      r_->payload_bytes += fs::file_size(Path(f), ec);
    if (!listed.count(f))
      Flag(f, "", std::nullopt, "unlisted-file", "present in data/ but not listed in " + m);
  }
  std::optional<std::string> oxum;
  for (const auto& [label, value] : info_)
    if (LabelIs(label, "Payload-Oxum")) oxum = value;
  if (!oxum) return Flag("bag-info.txt", "", std::nullopt, "oxum-mismatch", "no Payload-Oxum");
  auto parsed = bagit::ParseOxum(*oxum);
  if (!parsed.ok() || parsed->bytes != r_->payload_bytes || parsed->files != r_->payload_files)
    Flag("bag-info.txt", "", std::nullopt, "oxum-mismatch",
         "Payload-Oxum " + *oxum + " but data/ holds " + std::to_string(r_->payload_bytes) +
             " bytes in " + std::to_string(r_->payload_files) + " files");
}

void Checker::CheckSessions() {
  std::error_code ec;
  for (const auto& name : ListDir(Path("data"))) {
    auto id = crypto::SessionIdFromString(name);
    if (fs::symlink_status(Path("data/" + name), ec).type() != fs::file_type::directory ||
        !id.ok() || crypto::SessionIdToString(*id) != name) {
      Flag("data/" + name, "", std::nullopt, "unexpected-file",
           "not a session directory (data/ holds one directory per session, named by its id)");
      continue;
    }
    CheckSession(name);
  }
  if (r_->sessions.empty())
    Flag("data", "", std::nullopt, "missing-file", "the bundle holds no session");
}

void Checker::CheckSession(const std::string& sid) {
  const std::string dir = "data/" + sid + "/";
  BundleSessionCheck& sc = r_->sessions.emplace_back();
  sc.session = sid;
  sc.state = "failed";
  auto bytes = ReadSmallFile(Path(dir + "chain.bin"));
  if (!bytes.ok()) return Flag(dir + "chain.bin", sid, std::nullopt, "missing-file", "missing");
  auto decoded = DecodeChainFile(AsBytes(*bytes));
  if (!decoded.ok())
    return Flag(dir + "chain.bin", sid, std::nullopt, "bad-chain-file", decoded.status().message());
  if (crypto::SessionIdToString(decoded->first) != sid)
    return Flag(dir + "chain.bin", sid, std::nullopt, "bad-chain-file",
                "holds session " + crypto::SessionIdToString(decoded->first) +
                    ", not the session of its directory");
  std::vector<std::pair<uint64_t, ChainRecord>> chain;
  for (auto& rec : decoded->second) chain.emplace_back(chain.size(), std::move(rec));
  VerifyOptions vo;
  vo.trusted_signers = o_.trusted_signers;
  vo.evicted_below = std::numeric_limits<uint64_t>::max();  // a bundle holds no blobs
  BlobChecker none = [](const crypto::Hash256&, uint64_t) -> Result<bool> {
    return Status::NotFound("blob");
  };
  sc.chain = VerifyChain(decoded->first, chain, std::nullopt, none, vo);
  const VerifyReport& vr = sc.chain;
  r_->entries += chain.size();
  r_->signatures += vr.entries;
  if (!vr.signer_key_id.empty() && std::find(r_->signer_key_ids.begin(), r_->signer_key_ids.end(),
                                             vr.signer_key_id) == r_->signer_key_ids.end())
    r_->signer_key_ids.push_back(vr.signer_key_id);
  if (!vr.ok) Flag(dir + "chain.bin", sid, vr.bad_seq, ProblemName(vr.problem), vr.detail);
  const bool intact = vr.ok || vr.problem == Problem::kUnsealed;
  if (intact) sc.state = vr.sealed ? "sealed" : vr.recovered ? "recovered" : "unsealed";
  std::vector<crypto::ChainEntry> entries;
  for (uint64_t i = 0; i < vr.entries; ++i)
    entries.push_back(*crypto::DecodeEntry(chain[i].second.entry));
  if (auto text = ReadSmallFile(Path(dir + "signer.pub")); !text.ok()) {
    Flag(dir + "signer.pub", sid, std::nullopt, "missing-file", "missing");
  } else if (auto pk = DecodeSignerPub(*text, dir + "signer.pub"); !pk.ok()) {
    Flag(dir + "signer.pub", sid, std::nullopt, "metadata-mismatch", pk.status().message());
  } else if (vr.entries > 0 && *pk != vr.signer_pk) {
    Flag(dir + "signer.pub", sid, std::nullopt, "metadata-mismatch",
         "key " + crypto::KeyId(*pk) + " is not the session's signer " + vr.signer_key_id);
  }
  Contents contents;
  if (auto text = ReadSmallFile(Path(dir + "contents.json")); !text.ok()) {
    Flag(dir + "contents.json", sid, std::nullopt, "missing-file", "missing");
  } else if (auto c = ParseContents(*text, sid); !c.ok()) {
    Flag(dir + "contents.json", sid, std::nullopt, "bad-contents", c.status().message());
  } else {
    contents = std::move(c).value();
    sc.clip = contents.clip;
    if (intact) CheckMedia(&sc, entries, contents);  // else nothing verified to check against
  }
  std::set<std::string> known(std::begin(kSessionFiles), std::end(kSessionFiles));
  for (const auto& f : contents.files) known.insert(f.path);
  for (const auto& f : ListTree(root_, dir))
    if (!f.starts_with(dir) || !known.count(f.substr(dir.size())))
      Flag(f, sid, std::nullopt, "unexpected-file",
           "not part of the session's files "
           "(contents.json does not list it)");
  if (!intact) return;  // nothing verified to describe
  if (auto text = ReadSmallFile(Path(dir + "log-proof.json")); text.ok()) {
    std::vector<ByteView> encodings;
    for (uint64_t i = 0; i < vr.entries; ++i) encodings.push_back(chain[i].second.entry);
    auto proof =
        CheckLogProof(*text, decoded->first, encodings, vr.signer_pk, o_.trusted_cosigners);
    if (proof.ok()) sc.log_proof = *proof;
    else Flag(dir + "log-proof.json", sid, std::nullopt, "log-proof", proof.status().message());
  }
  SessionFacts facts = DescribeSession(vr, entries);
  CheckSessionJson(dir, facts);
  expected_[sid] = SessionTags(facts, contents.clip);
}

// Each file's pieces must be what the signed chain says a run (or a clip of it) is.
void Checker::CheckMedia(BundleSessionCheck* sc, const std::vector<crypto::ChainEntry>& entries,
                         const Contents& contents) {
  const std::string dir = "data/" + sc->session + "/";
  std::function<bool(const crypto::ChainEntry&)> keep;
  if (contents.clip)
    keep = [c = *contents.clip](const crypto::ChainEntry& e) { return InClip(c, e); };
  std::map<uint32_t, std::vector<uint64_t>> want;
  for (auto& run : PlanRuns(entries, keep)) want[run.run] = std::move(run.seqs);
  std::set<uint32_t> seen;
  for (const auto& f : contents.files) {
    BundleMediaCheck& mc = sc->media.emplace_back();
    mc.file = dir + f.path;
    mc.run = f.run;
    mc.clip = contents.clip.has_value();
    mc.seqs = f.seqs;
    auto it = want.find(f.run);
    if (!seen.insert(f.run).second || it == want.end() || it->second != f.seqs) {
      std::string expected = it == want.end()
                                 ? "no file"
                                 : "seq " + std::to_string(it->second.front()) + " to " +
                                       std::to_string(it->second.back()) + " (" +
                                       std::to_string(it->second.size()) + " pieces)";
      Flag(dir + "contents.json", sc->session, std::nullopt, "bad-contents",
           f.path + ": its entries are not " +
               (contents.clip ? "the init and the segments overlapping the clip range"
                              : "the init and every segment") +
               " of run " + std::to_string(f.run) + " in the verified chain (expected " + expected +
               ")");
      continue;
    }
    for (uint64_t seq : f.seqs) mc.bytes += entries[seq].plain_size;
    if (f.bytes != mc.bytes)
      Flag(dir + "contents.json", sc->session, std::nullopt, "bad-contents",
           f.path + ": 'bytes' " + std::to_string(f.bytes) + " is not the sum of its entries' " +
               "signed plain_size (" + std::to_string(mc.bytes) + ")");
    mc.ok = CheckPieces(mc.file, sc->session, entries, f.seqs) && f.bytes == mc.bytes;
  }
  for (const auto& [run, seqs] : want)
    if (!seen.count(run))
      Flag(dir + "contents.json", sc->session, seqs.front(), "bad-contents",
           "run " + std::to_string(run) + " (init at seq " + std::to_string(seqs.front()) +
               ") has no MP4 file");
}

// Splits the file at the signed plain_size of each entry and compares each piece's
// BLAKE2b-256 with the signed plain_hash.
bool Checker::CheckPieces(const std::string& file, const std::string& sid,
                          const std::vector<crypto::ChainEntry>& entries,
                          const std::vector<uint64_t>& seqs) {
  std::ifstream in(Path(file), std::ios::binary);
  if (!RegularFile(Path(file)) || !in) {
    Flag(file, sid, std::nullopt, "missing-file", "listed in contents.json but missing");
    return false;
  }
  std::vector<char> buf(1 << 20);
  uint64_t bad = 0, offset = 0;
  std::optional<uint64_t> first_bad;
  for (uint64_t seq : seqs) {
    crypto::Hasher h;
    uint64_t left = entries[seq].plain_size;
    while (left > 0 && in) {
      in.read(buf.data(), static_cast<std::streamsize>(std::min<uint64_t>(left, buf.size())));
      auto n = static_cast<uint64_t>(in.gcount());
      h.Update(AsBytes(std::string_view(buf.data(), n)));
      left -= n;
      offset += n;
    }
    if (left > 0) {
      Flag(file, sid, seq, "hash-mismatch",
           "the file ends at byte " + std::to_string(offset) +
               ", inside the signed piece of "
               "seq " +
               std::to_string(seq) + " (" + std::to_string(left) + " bytes short)");
      return false;
    }
    if (h.Final() != entries[seq].plain_hash) {
      ++bad;
      if (!first_bad) first_bad = seq;
    } else {
      r_->pieces++;
    }
  }
  if (first_bad)
    Flag(file, sid, *first_bad, "hash-mismatch",
         "BLAKE2b-256 differs from the signed plain_hash" +
             (bad > 1 ? " (and in " + std::to_string(bad - 1) + " later pieces)" : ""));
  in.peek();
  if (!in.eof()) {
    Flag(file, sid, std::nullopt, "hash-mismatch",
         "bytes follow the last signed piece (seq " + std::to_string(seqs.back()) +
             ", ends at "
             "byte " +
             std::to_string(offset) + ")");
    return false;
  }
  return !first_bad;
}

void Checker::CheckSessionJson(const std::string& dir, const SessionFacts& facts) {
  const std::string file = dir + "session.json";
  auto text = ReadSmallFile(Path(file));
  if (!text.ok()) return Flag(file, facts.sid, std::nullopt, "missing-file", "missing");
  OJson got = OJson::parse(*text, nullptr, false);
  OJson want =
      OJson::parse(SessionJson(facts).dump(-1, ' ', false, OJson::error_handler_t::replace));
  if (!got.is_object())
    return Flag(file, facts.sid, std::nullopt, "metadata-mismatch", "not a JSON object");
  for (const auto& [key, value] : want.items())
    if (!got.contains(key) || got[key] != value)
      return Flag(file, facts.sid, std::nullopt, "metadata-mismatch",
                  "member '" + key + "' differs from the signed chain");
  for (const auto& [key, value] : got.items())
    if (!want.contains(key))
      return Flag(file, facts.sid, std::nullopt, "metadata-mismatch",
                  "member '" + key + "' is not part of the format");
}

// bag-info.txt's Tcd- labels must say exactly what the signed chains say.
void Checker::CheckLabels() {
  std::map<std::string, std::vector<bagit::Tag>> got;
  std::string current;
  std::set<std::string> external;
  for (const auto& tag : info_) {
    if (LabelIs(tag.first, "External-Identifier")) external.insert(tag.second);
    if (!IsTcdLabel(tag.first)) continue;
    if (LabelIs(tag.first, "Tcd-Session")) {
      current = tag.second;
      if (got.count(current))
        Flag("bag-info.txt", current, std::nullopt, "metadata-mismatch",
             "Tcd-Session " + current + " appears twice");
    } else if (current.empty()) {
      if (!LabelIs(tag.first, "Tcd-Bundle-Version") || tag.second != "1")
        Flag("bag-info.txt", "", std::nullopt, "metadata-mismatch",
             tag.first + " '" + tag.second +
                 "' before any Tcd-Session (expected only "
                 "Tcd-Bundle-Version: 1)");
      continue;
    }
    got[current].push_back(tag);
  }
  for (const auto& [sid, tags] : got)
    if (!expected_.count(sid) && std::none_of(r_->sessions.begin(), r_->sessions.end(),
                                              [&](const auto& s) { return s.session == sid; }))
      Flag("bag-info.txt", sid, std::nullopt, "metadata-mismatch",
           "Tcd-Session " + sid + " is not a session of this bundle");
  for (const auto& s : r_->sessions)
    if (!external.count(s.session))
      Flag("bag-info.txt", s.session, std::nullopt, "metadata-mismatch",
           "no External-Identifier names session " + s.session);
  for (const auto& [sid, want] : expected_) {
    const auto& have = got[sid];
    for (size_t i = 0; i < std::max(want.size(), have.size()); ++i) {
      if (i < want.size() && i < have.size() && LabelIs(have[i].first, want[i].first) &&
          have[i].second == want[i].second)
        continue;
      std::string detail = i >= have.size() ? want[i].first + " '" + want[i].second + "' is missing"
                           : i >= want.size() ? have[i].first + " '" + have[i].second +
                                                    "' is not in the signed chain"
                                              : have[i].first + " '" + have[i].second +
                                                    "' differs from the signed "
                                                    "chain ('" +
                                                    want[i].second + "')";
      Flag("bag-info.txt", sid, std::nullopt, "metadata-mismatch",
           "session " + sid + ": " + detail);
      break;
    }
  }
}

}  // namespace

std::string BundleProblem::Text() const {
  return file + (seq ? ": seq " + std::to_string(*seq) : "") + ": " + detail + " (" + problem + ")";
}

Result<std::pair<crypto::SessionId, std::vector<ChainRecord>>> DecodeChainFile(ByteView data) {
  Reader r(data);
  ByteView magic;
  uint8_t version = 0;
  crypto::SessionId id{};
  uint64_t n = 0;
  if (!r.Raw(8, &magic) || AsChars(magic) != std::string_view(kChainMagic, 8))
    return Status::Corruption("does not start with \"TCDCHAIN\"");
  if (!r.U8(&version) || version != 1)
    return Status::Corruption("unknown version " + std::to_string(version));
  if (!r.Fixed(&id) || !r.U64(&n)) return Status::Corruption("truncated header");
  std::vector<ChainRecord> out;
  for (uint64_t i = 0; i < n; ++i) {
    ChainRecord rec;
    if (!r.Bytes32(&rec.entry) || !r.Fixed(&rec.signature))
      return Status::Corruption("truncated at record " + std::to_string(i) + " of " +
                                std::to_string(n));
    out.push_back(std::move(rec));
  }
  if (!r.done())
    return Status::Corruption(std::to_string(r.remaining()) + " bytes after the last record");
  return std::make_pair(id, std::move(out));
}

Result<BundleReport> VerifyBundle(const std::string& dir, const BundleVerifyOptions& options) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return Status::NotFound("bundle '" + dir + "' does not exist");
  if (!fs::is_directory(dir, ec))
    return Status::InvalidArgument("bundle '" + dir + "' is not a directory");
  BundleReport r;
  r.path = dir;
  std::string root = dir;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  r.signers_checked = !options.trusted_signers.empty();
  Checker(root, options, &r).Run();
  r.ok = r.problems.empty();
  return r;
}

}  // namespace tcd::node
