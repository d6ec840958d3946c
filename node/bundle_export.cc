// ExportBundle, and the descriptions of a session that both export and verify derive from the
// signed chain (bag-info.txt labels, session.json, signer.pub, chain.bin).
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>

#include "base/time_format.h"
#include "node/bundle.h"
#include "node/log_proof.h"
#include "node/exporter.h"
#include "node/search.h"
#include "node/store.h"

namespace tcd::node {
namespace {

namespace fs = std::filesystem;
using crypto::EntryKind;
using OJson = nlohmann::ordered_json;

// An open end of a clip range: the Unix epoch, 9999-12-31T23:59:59.999999Z (printable).
constexpr int64_t kClipStartUs = 0;
constexpr int64_t kClipEndUs = 253402300799999999;
constexpr char kSoftware[] = "tcd/0.4 (tcd-archive evidence bundle v1)";

std::string RunFileName(uint32_t run) {
  return run == 0 ? "recording.mp4" : "recording-run" + std::to_string(run + 1) + ".mp4";
}

std::string Seconds(int64_t us) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%lld.%03lld", static_cast<long long>(us / 1000000),
                static_cast<long long>(std::llabs(us % 1000000) / 1000));
  return buf;
}

// [a-z][a-z0-9_.-]* → "Tcd-" + the key with its first letter upper-case.
std::optional<std::string> MetaLabel(const std::string& key) {
  if (key.empty() || key.size() > 64 || key[0] < 'a' || key[0] > 'z') return std::nullopt;
  for (char c : key)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
      return std::nullopt;
  return "Tcd-" + std::string(1, static_cast<char>(key[0] - 'a' + 'A')) + key.substr(1);
}

void AddMetaTag(const std::string& key, const std::string& value, std::vector<bagit::Tag>* t) {
  if (auto label = MetaLabel(key))
    t->emplace_back(*label, EscapeTagValue(value));
  else
    t->emplace_back("Tcd-Meta", EscapeTagValue(key + "=" + value));
}

// Two-space indented, one trailing newline; invalid UTF-8 (never in a chain that tcd signed)
// becomes U+FFFD instead of failing.
std::string JsonText(const OJson& j) {
  return j.dump(2, ' ', false, OJson::error_handler_t::replace) + "\n";
}

OJson MetaJson(const crypto::Metadata& meta) {
  OJson j = OJson::array();
  for (const auto& [k, v] : meta) j.push_back({k, v});
  return j;
}

}  // namespace

// --- Time specs ----------------------------------------------------------------------------

Result<TimeSpec> ParseTimeSpec(const std::string& text, const std::string& what) {
  TimeSpec t;
  if (!text.empty() && text[0] == '+') {
    std::string num = text.substr(1);
    if (!num.empty() && num.back() == 's') num.pop_back();
    char* end = nullptr;
    double s = num.empty() ? -1 : std::strtod(num.c_str(), &end);
    if (num.empty() || *end != '\0' || !(s >= 0) || s > 1e9 ||
        num.find_first_not_of("0123456789.") != std::string::npos)
      return Status::InvalidArgument(what + " '" + text +
                                     "': an offset is +SECONDS after the session's start, "
                                     "e.g. +300s");
    t.relative = true;
    t.us = std::llround(s * 1e6);
    return t;
  }
  // RFC 3339 fractions of a second: cut them off for ParseTime and add them back.
  std::string s = text;
  int64_t frac_us = 0;
  if (s.size() > 20 && s[19] == '.') {
    size_t n = 20;
    while (n < s.size() && s[n] >= '0' && s[n] <= '9') ++n;
    std::string digits = s.substr(20, n - 20);
    if (digits.empty() || digits.size() > 9)
      return Status::InvalidArgument(what + " '" + text + "': bad fraction of a second");
    digits.resize(6, '0');
    frac_us = std::stoll(digits);
    s.erase(19, n - 19);
  }
  TCD_ASSIGN_OR_RETURN(ParsedTime p, ParseTime(s, what));
  t.us = p.unix_us + frac_us;
  t.span_us = p.date_only ? p.span_us : 0;
  return t;
}

bool InClip(const ClipRange& clip, const crypto::ChainEntry& e) {
  return e.start_us < clip.to_us && e.start_us + std::max<int64_t>(e.duration_us, 0) > clip.from_us;
}

// --- Descriptions --------------------------------------------------------------------------

SessionFacts DescribeSession(const VerifyReport& report,
                             const std::vector<crypto::ChainEntry>& entries) {
  SessionFacts f;
  f.sid = crypto::SessionIdToString(report.session);
  f.report = report;
  f.end_us = report.start_us;
  for (const auto& e : entries) {
    if (e.kind == EntryKind::kOpen) {
      if (auto body = crypto::DecodeOpenBody(e.body); body.ok())
        for (const auto& r : body->recipients) f.recipients.push_back(crypto::KeyId(r.pk));
    }
    if (e.kind == EntryKind::kSegment || e.kind == EntryKind::kGap)
      f.end_us = std::max(f.end_us, e.start_us + e.duration_us);
    if (e.kind == EntryKind::kGap)
      f.gaps.push_back({e.seq, e.start_us, e.duration_us, std::string(AsChars(e.body))});
  }
  return f;
}

std::string StateName(const SessionFacts& f) {
  return f.report.sealed ? "sealed" : f.report.recovered ? "recovered" : "unsealed";
}

std::string EscapeTagValue(const std::string& value) {
  const bool utf8 = IsValidUtf8(AsBytes(value));
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    const auto c = static_cast<uint8_t>(value[i]);
    bool edge_space = c == ' ' && (i == 0 || i + 1 == value.size());
    if (c < 0x20 || c == 0x7f || c == '\\' || edge_space || (!utf8 && c >= 0x80)) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::vector<bagit::Tag> SessionTags(const SessionFacts& f, const std::optional<ClipRange>& clip) {
  const VerifyReport& r = f.report;
  std::vector<bagit::Tag> t = {{"Tcd-Session", f.sid}};
  for (const auto& [k, v] : r.meta) AddMetaTag(k, v, &t);
  for (const auto& a : r.annotations)
    for (const auto& [k, v] : a.meta)
      t.emplace_back("Tcd-Annotation", "seq " + std::to_string(a.seq) + ", " +
                                           FormatUtc(a.time_us) + ": " +
                                           EscapeTagValue(k + "=" + v));
  t.emplace_back("Tcd-Start-Time", FormatUtc(r.start_us));
  t.emplace_back("Tcd-End-Time", FormatUtc(f.end_us));
  t.emplace_back("Tcd-Duration", Seconds(r.media_duration_us) + " s of media in " +
                                     std::to_string(r.segments) + " segments, " +
                                     std::to_string(r.gaps) + " gaps");
  std::string state = StateName(f);
  if (r.sealed) state += " (" + r.seal_reason + ")";
  if (r.recovered) state += ": " + EscapeTagValue(r.recovery_note);
  if (!r.sealed && !r.recovered)
    state += ": the chain ends at seq " + std::to_string(r.entries - 1) + " without a seal";
  t.emplace_back("Tcd-State", state);
  t.emplace_back("Tcd-Entries", std::to_string(r.entries));
  t.emplace_back("Tcd-Signer-Key-Id", r.signer_key_id);
  t.emplace_back("Tcd-Head-Hash", ToHex(r.head_hash));
  if (clip) t.emplace_back("Tcd-Clip", FormatUtc(clip->from_us) + " to " + FormatUtc(clip->to_us));
  return t;
}

OJson SessionJson(const SessionFacts& f) {
  const VerifyReport& r = f.report;
  OJson j = {{"format", "tcd-bundle-session"},
             {"version", 1},
             {"session", f.sid},
             {"state", StateName(f)}};
  if (r.sealed) j["seal_reason"] = r.seal_reason;
  if (r.recovered) j["recovery_note"] = r.recovery_note;
  j["start"] = FormatUtc(r.start_us);
  j["start_us"] = r.start_us;
  j["end"] = FormatUtc(f.end_us);
  j["end_us"] = f.end_us;
  j["media_duration"] = FormatDuration(r.media_duration_us);
  j["media_duration_us"] = r.media_duration_us;
  j["entries"] = r.entries;
  j["segments"] = r.segments;
  j["signer_key_id"] = r.signer_key_id;
  j["signer_public"] = ToHex(r.signer_pk);
  j["recipients"] = f.recipients;
  j["head_hash"] = ToHex(r.head_hash);
  j["meta"] = MetaJson(r.meta);
  OJson notes = OJson::array();
  for (const auto& a : r.annotations)
    notes.push_back({{"seq", a.seq},
                     {"time", FormatUtc(a.time_us)},
                     {"time_us", a.time_us},
                     {"meta", MetaJson(a.meta)}});
  j["annotations"] = notes;
  OJson gaps = OJson::array();
  for (const auto& g : f.gaps)
    gaps.push_back({{"seq", g.seq},
                    {"from", FormatUtc(g.from_us)},
                    {"from_us", g.from_us},
                    {"duration_us", g.duration_us},
                    {"reason", g.reason}});
  j["gaps"] = gaps;
  return j;
}

std::string EncodeSignerPub(const crypto::PublicKey& pk) {
  OJson j = {{"format", "tcd-signer-pub"},
             {"version", 1},
             {"sign_public", ToHex(pk)},
             {"key_id", crypto::KeyId(pk)}};
  return j.dump(2) + "\n";
}

Result<crypto::PublicKey> DecodeSignerPub(std::string_view text, const std::string& source) {
  OJson j = OJson::parse(text, nullptr, false);
  auto field = [&](const char* name) -> std::string {
    return j.is_object() && j.contains(name) && j[name].is_string() ? j[name].get<std::string>()
                                                                    : "";
  };
  if (!j.is_object() || field("format") != "tcd-signer-pub" || !j.contains("version") ||
      j["version"] != 1)
    return Status::InvalidArgument(source + ": not a tcd-signer-pub file of version 1");
  auto hex = FromHex(field("sign_public"));
  if (!hex || hex->size() != 32)
    return Status::InvalidArgument(source + ": field 'sign_public': expected 64 hex chars");
  crypto::PublicKey pk;
  std::copy(hex->begin(), hex->end(), pk.begin());
  if (j.contains("key_id") && field("key_id") != crypto::KeyId(pk))
    return Status::Corruption(source + ": key_id '" + field("key_id") +
                              "' does not match sign_public (its id is " + crypto::KeyId(pk) + ")");
  return pk;
}

Bytes EncodeChainFile(const crypto::SessionId& session,
                      const std::vector<std::pair<uint64_t, ChainRecord>>& chain) {
  Bytes out;
  Writer w(&out);
  w.Raw(std::string_view(kChainMagic, 8));
  w.U8(1);
  w.Raw(ByteView(session));
  w.U64(chain.size());
  for (const auto& [seq, rec] : chain) {
    w.Bytes32(rec.entry);
    w.Raw(ByteView(rec.signature));
  }
  return out;
}

// --- Export --------------------------------------------------------------------------------
namespace {

// One session of the bundle and the files planned for it.
struct BundleSession {
  ExportSource src;
  SessionFacts facts;
  std::vector<RunPieces> runs;
  std::optional<std::string> log_proof;  // log-proof.json, when this archive can prove it
};

// The session asked for and, unless only_session, the other sessions of its conference held
// in this store (Catalog::Search; NotFound from it = none).
// *conference: the session's latest conference value ("" when none).
Result<std::vector<crypto::SessionId>> BundleMembers(Store* store, const crypto::SessionId& id,
                                                     bool only_session, std::string* conference) {
  std::vector<crypto::SessionId> ids = {id};
  if (only_session) return ids;
  TCD_ASSIGN_OR_RETURN(SessionNotes notes, ReadSessionNotes(store, id));
  for (const auto& [k, v] : notes.meta)
    if (k == "conference") *conference = v;
  for (const auto& a : notes.annotations)
    for (const auto& [k, v] : a.meta)
      if (k == "conference") *conference = v;
  if (conference->empty()) return ids;
  SearchQuery q;
  q.conference = *conference;
  q.limit = 0;
  auto hits = store->catalog()->Search(q);
  if (!hits.ok() && (hits.status().IsNotFound() || hits.status().IsInvalidArgument())) {
    spdlog::warn("conference '{}': no other sessions found ({})", *conference,
                 hits.status().message());
    return ids;
  }
  if (!hits.ok())
    return hits.status().WithContext("finding the sessions of conference '" + *conference + "'");
  std::sort(hits->begin(), hits->end(), [](const SearchHit& a, const SearchHit& b) {
    return std::tie(a.session.start_us, a.session.id) < std::tie(b.session.start_us, b.session.id);
  });
  for (const auto& h : *hits)
    if (std::find(ids.begin(), ids.end(), h.session.id) == ids.end()) ids.push_back(h.session.id);
  return ids;
}

Result<std::optional<ClipRange>> ResolveClip(const BundleOptions& o, int64_t start_us) {
  if (!o.from && !o.to) return std::optional<ClipRange>();
  auto abs = [&](const TimeSpec& t) { return t.relative ? start_us + t.us : t.us; };
  ClipRange c{o.from ? abs(*o.from) : kClipStartUs, o.to ? abs(*o.to) + o.to->span_us : kClipEndUs};
  if (c.from_us >= c.to_us)
    return Status::InvalidArgument(
        "--from/--to: --from is not before --to (the clip would be empty)");
  return std::optional<ClipRange>(c);
}

OJson ContentsJson(const BundleSession& s, const std::optional<ClipRange>& clip) {
  OJson files = OJson::array();
  for (const auto& run : s.runs) {
    uint64_t bytes = 0;
    for (uint64_t seq : run.seqs) bytes += s.src.entries[seq].plain_size;
    files.push_back({{"path", RunFileName(run.run)},
                     {"run", run.run},
                     {"bytes", bytes},
                     {"entries", run.seqs}});
  }
  OJson j = {{"format", "tcd-bundle-contents"},
             {"version", 1},
             {"session", s.src.sid},
             {"chain", "chain.bin"},
             {"signer", "signer.pub"},
             {"metadata", "session.json"}};
  j["clip"] = clip ? OJson{{"from", FormatUtc(clip->from_us)},
                           {"from_us", clip->from_us},
                           {"to", FormatUtc(clip->to_us)},
                           {"to_us", clip->to_us}}
                   : OJson(nullptr);
  j["files"] = files;
  return j;
}

class BundleWriter {
 public:
  BundleWriter(Store* store, const BundleOptions& o, std::string root, uint64_t total)
      : store_(store), o_(o), bag_(store->env(), std::move(root)) {
    progress_.entries_total = total;
  }

  Status WriteSession(const BundleSession& s, const std::optional<ClipRange>& clip) {
    const std::string dir = s.src.sid + "/";
    for (const auto& run : s.runs)
      TCD_RETURN_IF_ERROR(WriteRun(s, run, dir + RunFileName(run.run)));
    TCD_RETURN_IF_ERROR(bag_.Put(dir + "chain.bin", EncodeChainFile(s.src.id, s.src.chain)));
    TCD_RETURN_IF_ERROR(
        bag_.Put(dir + "signer.pub", AsBytes(EncodeSignerPub(s.src.report.signer_pk))));
    TCD_RETURN_IF_ERROR(bag_.Put(dir + "session.json", AsBytes(JsonText(SessionJson(s.facts)))));
    if (s.log_proof) TCD_RETURN_IF_ERROR(bag_.Put(dir + "log-proof.json", AsBytes(*s.log_proof)));
    return bag_.Put(dir + "contents.json", AsBytes(JsonText(ContentsJson(s, clip))));
  }

  Status Finish(const std::vector<BundleSession>& sessions, const std::optional<ClipRange>& clip,
                const std::string& conference);
  bagit::Oxum oxum() const { return bag_.oxum(); }

 private:
  Status WriteRun(const BundleSession& s, const RunPieces& run, const std::string& rel) {
    TCD_ASSIGN_OR_RETURN(auto file, bag_.Create(rel));
    DecryptAhead ahead(store_, s.src, run.seqs);
    for (size_t i = 0; i < run.seqs.size(); ++i) {
      TCD_ASSIGN_OR_RETURN(Bytes plain, ahead.Next());
      TCD_RETURN_IF_ERROR(file->Append(plain));
      progress_.entries_done++;
      progress_.bytes_done += plain.size();
      if (o_.progress) o_.progress(progress_);
    }
    return file->Close();
  }

  Store* const store_;
  const BundleOptions& o_;
  bagit::BagWriter bag_;
  BundleProgress progress_;
};

Status BundleWriter::Finish(const std::vector<BundleSession>& sessions,
                            const std::optional<ClipRange>& clip, const std::string& conference) {
  std::vector<bagit::Tag> info;
  if (!o_.organization.empty())
    info.emplace_back("Source-Organization", EscapeTagValue(o_.organization));
  info.emplace_back("Bagging-Date", FormatUtc(store_->env()->NowMicros()).substr(0, 10));
  info.emplace_back("Bag-Software-Agent", kSoftware);
  for (const auto& s : sessions) info.emplace_back("External-Identifier", s.src.sid);
  std::string what = std::to_string(sessions.size()) + " online citizen reception session" +
                     (sessions.size() > 1 ? "s" : "");
  if (sessions.size() > 1 && !conference.empty())
    what += " of conference " + EscapeTagValue(conference);
  info.emplace_back(
      "External-Description",
      "Evidence bundle: the decrypted recording" + std::string(clip ? " (a clip)" : "") +
          ", the signed hash chain, the signer's public key and the metadata of " + what +
          ". Check it with `tcd verify --bundle DIR` or independently as docs/FORMAT.md "
          "(Evidence bundle) describes.");
  info.emplace_back("Bag-Size", bagit::HumanSize(bag_.oxum().bytes));
  info.emplace_back("Payload-Oxum", bagit::FormatOxum(bag_.oxum()));
  info.emplace_back("Tcd-Bundle-Version", "1");
  for (const auto& s : sessions) {
    auto tags = SessionTags(s.facts, clip);
    info.insert(info.end(), tags.begin(), tags.end());
  }
  return bag_.Finish(info);
}

// The requested out_dir may be replaced only when it is an earlier bag or an empty directory.
Status CheckOutDir(const std::string& out, bool force) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(out, ec))) return Status::OK();
  if (!force)
    return Status::InvalidArgument("--out '" + out + "' already exists; use --force to replace it");
  bool bag = fs::is_directory(out, ec) && fs::exists(out + "/bagit.txt", ec);
  bool empty = fs::is_directory(out, ec) && fs::is_empty(out, ec);
  if (!bag && !empty)
    return Status::InvalidArgument("--out '" + out +
                                   "' exists and is not a bundle (no bagit.txt): "
                                   "--force replaces only an earlier bundle");
  return Status::OK();
}

Result<std::string> MakeStagingDir(Env* env, const std::string& out) {
  fs::path parent = fs::path(out).parent_path();
  if (!parent.empty()) TCD_RETURN_IF_ERROR(env->CreateDirs(parent.string()));
  std::string tmpl = out + ".part-XXXXXX";
  if (!mkdtemp(tmpl.data()))
    return Status::IOError("cannot create a temporary directory beside '" + out +
                           "': " + std::strerror(errno));
  return tmpl;
}

// Renames the finished bag into place, moving an earlier bundle (force) aside first.
Status Publish(Env* env, const std::string& staging, const std::string& out) {
  std::error_code ec;
  std::string old;
  if (fs::exists(fs::symlink_status(out, ec))) {
    old = out + ".old-" + std::to_string(env->NowMicros());
    TCD_RETURN_IF_ERROR(env->RenameFile(out, old));
  }
  Status s = env->RenameFile(staging, out);
  if (!s.ok() && !old.empty()) (void)env->RenameFile(old, out);
  TCD_RETURN_IF_ERROR(s);
  fs::path parent = fs::path(out).parent_path();
  TCD_RETURN_IF_ERROR(env->SyncDir(parent.empty() ? "." : parent.string()));
  if (!old.empty()) fs::remove_all(old, ec);
  return Status::OK();
}

Result<std::vector<BundleSession>> LoadSessions(Store* store, const crypto::ArchiveKeyPair& key,
                                                const BundleOptions& o,
                                                std::optional<ClipRange>* clip,
                                                std::string* conference) {
  TCD_ASSIGN_OR_RETURN(auto ids, BundleMembers(store, o.session, o.only_session, conference));
  std::vector<BundleSession> sessions;
  for (const auto& id : ids) {
    BundleSession s;
    TCD_ASSIGN_OR_RETURN(s.src, LoadForExport(store, id, key));
    s.facts = DescribeSession(s.src.report, s.src.entries);
    TCD_ASSIGN_OR_RETURN(s.log_proof, BuildLogProof(store, id, s.src.chain.size(),
                                                    s.src.report.signer_pk));
    if (sessions.empty()) {
      TCD_ASSIGN_OR_RETURN(*clip, ResolveClip(o, s.src.report.start_us));
    }
    std::function<bool(const crypto::ChainEntry&)> keep;
    if (*clip) keep = [c = **clip](const crypto::ChainEntry& e) { return InClip(c, e); };
    s.runs = PlanRuns(s.src.entries, keep);
    if (sessions.empty() && s.runs.empty())
      return *clip ? Status::InvalidArgument(
                         "--from/--to: no segment of session " + s.src.sid + " overlaps " +
                         FormatUtc((*clip)->from_us) + " to " + FormatUtc((*clip)->to_us) +
                         " (the session runs from " + FormatUtc(s.src.report.start_us) + " to " +
                         FormatUtc(s.facts.end_us) + ")")
                   : Status::NotFound("session " + s.src.sid +
                                      " holds no recording yet (no init segment)");
    sessions.push_back(std::move(s));
  }
  return sessions;
}

}  // namespace

Result<BundleExportResult> ExportBundle(Store* store, const crypto::ArchiveKeyPair& key,
                                        const BundleOptions& o) {
  std::string out = o.out_dir;
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  TCD_RETURN_IF_ERROR(CheckOutDir(out, o.force));
  std::optional<ClipRange> clip;
  std::string conference;
  TCD_ASSIGN_OR_RETURN(auto sessions, LoadSessions(store, key, o, &clip, &conference));
  BundleExportResult result;
  result.dir = out;
  result.clip = clip;
  uint64_t total = 0;
  for (const auto& s : sessions) {
    result.sessions.push_back(s.src.sid);
    if (!s.src.report.sealed && !s.src.report.recovered) result.unsealed.push_back(s.src.sid);
    if (!s.log_proof) result.unproven.push_back(s.src.sid);
    for (const auto& run : s.runs) {
      total += run.seqs.size();
      result.mp4_files.push_back("data/" + s.src.sid + "/" + RunFileName(run.run));
      for (uint64_t seq : run.seqs) {
        const auto& e = s.src.entries[seq];
        if (e.kind != EntryKind::kSegment) continue;
        result.segments++;
        result.media_duration_us += e.duration_us;
      }
    }
  }
  TCD_ASSIGN_OR_RETURN(std::string staging, MakeStagingDir(store->env(), out));
  auto written = [&]() -> Status {
    BundleWriter w(store, o, staging, total);
    for (const auto& s : sessions) TCD_RETURN_IF_ERROR(w.WriteSession(s, clip));
    TCD_RETURN_IF_ERROR(w.Finish(sessions, clip, conference));
    result.payload = w.oxum();
    if (o.before_publish) TCD_RETURN_IF_ERROR(o.before_publish());
    return Publish(store->env(), staging, out);
  }();
  if (!written.ok()) {
    std::error_code ec;
    fs::remove_all(staging, ec);
    return written;
  }
  return result;
}

}  // namespace tcd::node
