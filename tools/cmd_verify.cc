// tcd verify --data DIR [--session ID] [--signer node.pub …] [--json]
// tcd verify --bundle DIR [--signer node.pub …] [--json]     an evidence bundle, offline
// tcd verify --audit --data DIR [--json]                      the audit log (tools/cmd_audit.cc)
// tcd verify --completeness --data DIR [--json]   downstream logs (tools/cmd_completeness.cc)
// Exit 0: every session intact and closed; 1: a problem; 2: usage; 3: no problem found, but a
// session is still being recorded (intact so far, not yet sealed).
#include <iostream>

#include <nlohmann/json.hpp>

#include "node/bundle.h"
#include "node/store.h"
#include "node/verifier.h"
#include "tools/cli.h"

namespace tcd::tools {
namespace {

constexpr int kExitStillRecording = 3;

struct VerifyOptions {
  std::string data, session, bundle;
  std::vector<std::string> signers, cosigners;
  bool json = false, audit = false, completeness = false;
};

// A trusted signer: a node.pub, or a signer.pub of an evidence bundle.
Result<crypto::PublicKey> LoadSigner(const std::string& path) {
  TCD_ASSIGN_OR_RETURN(std::string text, ReadTextFile(path, "trusted signer"));
  auto pub = crypto::DecodeNodePub(text, path);
  if (pub.ok()) return pub->sign_pk;
  auto signer = node::DecodeSignerPub(text, path);
  if (signer.ok()) return *signer;
  return pub.status();
}

Result<std::vector<crypto::PublicKey>> LoadSigners(const std::vector<std::string>& paths) {
  std::vector<crypto::PublicKey> out;
  for (const auto& path : paths) {
    TCD_ASSIGN_OR_RETURN(crypto::PublicKey pk, LoadSigner(path));
    out.push_back(pk);
  }
  return out;
}

nlohmann::json MetaJson(const crypto::Metadata& meta) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& [k, v] : meta) j.push_back({k, v});
  return j;
}

nlohmann::json ToJson(const node::VerifyReport& r, const std::string& state) {
  nlohmann::json j = {{"session", crypto::SessionIdToString(r.session)},
                      {"ok", r.ok},
                      {"state", state},
                      {"entries_verified", r.entries},
                      {"segments", r.segments},
                      {"gaps", r.gaps},
                      {"media_duration_s", r.media_duration_us / 1e6},
                      {"sealed", r.sealed},
                      {"recovered", r.recovered},
                      {"signer_key_id", r.signer_key_id},
                      {"head_hash", ToHex(r.head_hash)},
                      {"meta", MetaJson(r.meta)}};
  if (r.sealed) j["seal_reason"] = r.seal_reason;
  if (r.recovered) j["recovery_note"] = r.recovery_note;
  nlohmann::json notes = nlohmann::json::array();
  for (const auto& a : r.annotations)
    notes.push_back({{"seq", a.seq}, {"time", FormatUtc(a.time_us)},
                     {"signer", r.signer_key_id}, {"meta", MetaJson(a.meta)}});
  j["annotations"] = notes;
  if (!r.ok) {
    j["problem"] = node::ProblemName(r.problem);
    j["bad_seq"] = r.bad_seq ? nlohmann::json(*r.bad_seq) : nlohmann::json(nullptr);
    j["detail"] = r.detail;
  }
  return j;
}

void PrintHuman(const node::VerifyReport& r, bool recording) {
  std::string sid = crypto::SessionIdToString(r.session);
  auto segs = static_cast<unsigned long long>(r.segments);
  if (r.ok && r.recovered) {
    std::printf("RECOVERED %s  %llu segments, %s, %u gaps, signed by %s; not sealed: %s\n",
                sid.c_str(), segs, FormatDuration(r.media_duration_us).c_str(), r.gaps,
                r.signer_key_id.c_str(), r.recovery_note.c_str());
  } else if (r.ok) {
    std::printf("OK       %s  %llu segments, %s, %u gaps, sealed (%s), signed by %s\n",
                sid.c_str(), segs, FormatDuration(r.media_duration_us).c_str(), r.gaps,
                r.seal_reason.c_str(), r.signer_key_id.c_str());
  } else if (recording) {
    std::printf("RECORDING %s  intact up to seq %llu (%llu segments so far), signed by %s; "
                "not yet sealed\n",
                sid.c_str(), static_cast<unsigned long long>(r.entries - 1), segs,
                r.signer_key_id.c_str());
  } else {
    std::string where = r.bad_seq ? "seq " + std::to_string(*r.bad_seq) : "catalog";
    std::printf("FAILED   %s  %s: %s: %s\n", sid.c_str(), where.c_str(),
                node::ProblemName(r.problem), r.detail.c_str());
  }
  for (const auto& a : r.annotations) {
    std::string kv;
    for (const auto& [k, v] : a.meta) kv += " " + k + "=" + v;
    std::printf("         annotation seq %llu at %s by %s:%s\n",
                static_cast<unsigned long long>(a.seq), FormatUtc(a.time_us).c_str(),
                r.signer_key_id.c_str(), kv.c_str());
  }
}

int RunVerify(const VerifyOptions& o) {
  Status init = crypto::InitCrypto();
  if (!init.ok()) return ReportError(init);
  node::VerifyOptions vo;
  auto signers = LoadSigners(o.signers);
  if (!signers.ok()) return ReportError(signers.status());
  vo.trusted_signers = std::move(signers).value();
  node::StoreOptions so;
  so.read_only = true;
  auto store = node::Store::Open(Env::Default(), o.data, so);
  if (!store.ok()) return ReportError(store.status());
  std::vector<crypto::SessionId> ids;
  if (!o.session.empty()) {
    auto id = (*store)->ResolveSession(o.session);
    if (!id.ok()) return ReportError(id.status(), id.status().IsNotFound() ? 1 : kExitUsage);
    ids.push_back(*id);
  } else {
    auto all = (*store)->catalog()->ListSessionIds();
    if (!all.ok()) return ReportError(all.status());
    ids = std::move(all).value();
  }
  const bool in_use = CatalogInUse(o.data);
  int failed = 0, recording_count = 0;
  nlohmann::json out = nlohmann::json::array();
  for (const auto& id : ids) {
    auto report = node::VerifySession(store->get(), id, vo);
    if (!report.ok()) return ReportError(report.status());
    auto rec = (*store)->catalog()->GetSession(id);
    // Still being written: intact so far but not complete, so never "ok" (exit 3, not 0).
    bool recording = in_use && rec.ok() && rec->state == node::SessionState::kRecording &&
                     report->problem == node::Problem::kUnsealed;
    if (recording) ++recording_count;
    else if (!report->ok) ++failed;
    std::string state = recording ? "recording" : !report->ok ? "failed"
                        : report->recovered                  ? "recovered"
                                                             : "sealed";
    if (o.json) out.push_back(ToJson(*report, state));
    else PrintHuman(*report, recording);
  }
  if (o.json) {
    nlohmann::json doc = {{"sessions", out}, {"failed", failed},
                          {"recording", recording_count}, {"ok", failed == 0 && !recording_count},
                          {"signers_checked", !vo.trusted_signers.empty()}};
    std::cout << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    std::printf("%zu session(s) checked, %d failed", ids.size(), failed);
    if (recording_count) std::printf(", %d still recording", recording_count);
    std::printf("\n");
    if (vo.trusted_signers.empty())
      std::printf("note: signers were not checked against enrolled keys (give --signer "
                  "node.pub to require the reception point's key)\n");
  }
  if (failed) return kExitFailed;
  return recording_count ? kExitStillRecording : kExitOk;
}

// --- Evidence bundles --------------------------------------------------------------------

std::string SeqRange(const std::vector<uint64_t>& seqs) {
  if (seqs.empty()) return "no entries";
  return "seq " + std::to_string(seqs.front()) + "–" + std::to_string(seqs.back());
}

nlohmann::json BundleJson(const node::BundleReport& r) {
  nlohmann::json sessions = nlohmann::json::array();
  for (const auto& s : r.sessions) {
    nlohmann::json j = ToJson(s.chain, s.state);
    j["session"] = s.session;
    j["clip"] = s.clip ? nlohmann::json{{"from", FormatUtc(s.clip->from_us)},
                                        {"to", FormatUtc(s.clip->to_us)}}
                       : nlohmann::json(nullptr);
    nlohmann::json files = nlohmann::json::array();
    for (const auto& m : s.media)
      files.push_back({{"path", m.file}, {"run", m.run}, {"clip", m.clip},
                       {"entries", m.seqs}, {"bytes", m.bytes}, {"ok", m.ok}});
    j["files"] = files;
    if (s.log_proof) {
      const node::LogProofCheck& p = *s.log_proof;
      j["log_proof"] = {{"tiers", p.Tiers()},
                        {"seq", p.seq},
                        {"recorder_log", p.recorder_origin},
                        {"recorder_size", p.recorder_size},
                        {"recorder_cosigners", p.recorder_cosigners},
                        {"province_log", p.province_origin},
                        {"province_size", p.province_size},
                        {"central", p.central_origin},
                        {"cosigners_checked", p.cosigners_checked}};
    } else {
      j["log_proof"] = nullptr;
    }
    sessions.push_back(j);
  }
  nlohmann::json problems = nlohmann::json::array();
  for (const auto& p : r.problems)
    problems.push_back({{"file", p.file}, {"session", p.session},
                        {"seq", p.seq ? nlohmann::json(*p.seq) : nlohmann::json(nullptr)},
                        {"problem", p.problem}, {"detail", p.detail}, {"text", p.Text()}});
  return {{"bundle", r.path},
          {"ok", r.ok},
          {"result", r.ok ? "verified" : "failed"},
          {"checked", {{"bag", r.is_bag}, {"payload_files", r.payload_files},
                       {"payload_bytes", r.payload_bytes}, {"tag_files", r.tag_files},
                       {"entries", r.entries}, {"signatures", r.signatures},
                       {"mp4_pieces", r.pieces}, {"signer_key_ids", r.signer_key_ids}}},
          {"signers_checked", r.signers_checked},
          {"sessions", sessions},
          {"problems", problems}};
}

void PrintBundleSession(const node::BundleSessionCheck& s) {
  const node::VerifyReport& v = s.chain;
  std::string state = s.state;
  if (v.sealed) state += " (" + v.seal_reason + ")";
  std::printf("session:  %s  %s, %llu entries, %llu segments, %s, %u gaps, signed by %s\n",
              s.session.c_str(), state.c_str(), static_cast<unsigned long long>(v.entries),
              static_cast<unsigned long long>(v.segments),
              FormatDuration(v.media_duration_us).c_str(), v.gaps,
              v.signer_key_id.empty() ? "?" : v.signer_key_id.c_str());
  if (s.clip)
    std::printf("          clip %s to %s\n", FormatUtc(s.clip->from_us).c_str(),
                FormatUtc(s.clip->to_us).c_str());
  for (const auto& m : s.media)
    std::printf("          %s: run %u, %s (%zu pieces, %llu bytes): %s\n", m.file.c_str(), m.run,
                SeqRange(m.seqs).c_str(), m.seqs.size(),
                static_cast<unsigned long long>(m.bytes),
                m.ok ? "every piece matches its signed plain_hash" : "NOT verified");
  if (!s.log_proof) {
    std::printf("          node logs: no proof in the bundle (custody through the tiers not "
                "shown)\n");
    return;
  }
  const node::LogProofCheck& p = *s.log_proof;
  std::printf("          node logs: proven %s: seq 0–%llu in %s at %llu leaves",
              p.Tiers().c_str(), static_cast<unsigned long long>(p.seq),
              p.recorder_origin.c_str(), static_cast<unsigned long long>(p.recorder_size));
  for (const auto& c : p.recorder_cosigners) std::printf(", cosigned by %s", c.c_str());
  if (p.through_province)
    std::printf("; that checkpoint in %s at %llu leaves", p.province_origin.c_str(),
                static_cast<unsigned long long>(p.province_size));
  if (p.central_cosigned) std::printf(", cosigned by %s", p.central_origin.c_str());
  std::printf("\n");
  if (p.through_province && !p.cosigners_checked)
    std::printf("          note: the province and central keys are the bundle's own; give "
                "--cosigner node.pub of each archive to check them\n");
}

void PrintBundle(const node::BundleReport& r) {
  std::printf("tcd evidence bundle verification\n");
  std::printf("bundle:   %s\n", r.path.c_str());
  std::string ids;
  for (const auto& k : r.signer_key_ids) ids += (ids.empty() ? "" : ", ") + k;
  std::printf("checked:  %s; %llu payload files (%llu bytes) against manifest-sha256.txt and "
              "Payload-Oxum; %llu tag files against tagmanifest-sha256.txt\n",
              r.is_bag ? "bagit.txt" : "bagit.txt MISSING OR BAD",
              static_cast<unsigned long long>(r.payload_files),
              static_cast<unsigned long long>(r.payload_bytes),
              static_cast<unsigned long long>(r.tag_files));
  std::printf("          %llu chain entries, %llu Ed25519 head signatures verified (key %s), "
              "%llu MP4 pieces against the signed BLAKE2b-256 plain_hash\n",
              static_cast<unsigned long long>(r.entries),
              static_cast<unsigned long long>(r.signatures), ids.empty() ? "-" : ids.c_str(),
              static_cast<unsigned long long>(r.pieces));
  for (const auto& s : r.sessions) PrintBundleSession(s);
  if (r.ok) {
    std::printf("result:   VERIFIED: the bundle is complete and unaltered, and its recordings "
                "are what the signed chain recorded\n");
  } else {
    std::printf("result:   FAILED: %zu problem(s), the first found first:\n", r.problems.size());
    for (size_t i = 0; i < r.problems.size(); ++i)
      std::printf("  %zu. %s\n", i + 1, r.problems[i].Text().c_str());
  }
  if (!r.signers_checked)
    std::printf("note: the signer was not checked against an enrolled key (give --signer "
                "node.pub of the reception point)\n");
}

int RunBundle(const VerifyOptions& o) {
  Status init = crypto::InitCrypto();
  if (!init.ok()) return ReportError(init);
  node::BundleVerifyOptions bo;
  auto signers = LoadSigners(o.signers);
  if (!signers.ok()) return ReportError(signers.status());
  bo.trusted_signers = std::move(signers).value();
  auto cosigners = LoadSigners(o.cosigners);
  if (!cosigners.ok()) return ReportError(cosigners.status());
  bo.trusted_cosigners = std::move(cosigners).value();
  auto report = node::VerifyBundle(o.bundle, bo);
  if (!report.ok())
    return ReportError(report.status(),
                       report.status().IsInvalidArgument() ? kExitUsage : kExitFailed);
  if (o.json) {
    std::cout << BundleJson(*report).dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
  } else {
    PrintBundle(*report);
  }
  return report->ok ? kExitOk : kExitFailed;
}

int Run(const VerifyOptions& o) {
  KeepLargeBuffers();
  if (o.completeness) {
    if (o.data.empty() || !o.bundle.empty() || !o.session.empty() || o.audit)
      return ReportError(Status::InvalidArgument("--completeness needs --data DIR (and no "
                                                 "--bundle, --session or --audit)"), kExitUsage);
    return RunVerifyCompleteness(o.data, o.json);
  }
  if (o.audit) {
    if (o.data.empty() || !o.bundle.empty() || !o.session.empty())
      return ReportError(Status::InvalidArgument("--audit needs --data DIR (and no --bundle or "
                                                 "--session)"), kExitUsage);
    return RunVerifyAudit(o.data, o.json);
  }
  if (o.data.empty() == o.bundle.empty())
    return ReportError(Status::InvalidArgument("give either --data DIR (an archive) or --bundle "
                                               "DIR (an evidence bundle)"), kExitUsage);
  if (!o.bundle.empty()) {
    if (!o.session.empty())
      return ReportError(Status::InvalidArgument("--session applies to --data, not to --bundle"),
                         kExitUsage);
    return RunBundle(o);
  }
  return RunVerify(o);
}

}  // namespace

Command AddVerify(CLI::App& root) {
  auto o = std::make_shared<VerifyOptions>();
  CLI::App* app =
      root.add_subcommand("verify", "Verify sessions with public keys only (hashes, chain, "
                                    "signatures, seal), an evidence bundle (--bundle) or the "
                                    "audit log (--audit); exit 0 intact, 1 problem, 3 still "
                                    "recording");
  app->add_option("--data", o->data, "Archive data directory");
  app->add_option("--bundle", o->bundle, "Evidence bundle directory (tcd export --out DIR)");
  app->add_option("--session", o->session, "Only this session (id or unique prefix)");
  app->add_option("--cosigner", o->cosigners,
                  "node.pub of a trusted province or central archive (repeatable): a bundle's "
                  "node-log proof must be cosigned with these keys");
  app->add_option("--signer", o->signers,
                  "node.pub (or a bundle's signer.pub) of a trusted recorder (repeatable): "
                  "other signers fail");
  app->add_flag("--audit", o->audit, "Verify the audit log of --data (DATA/audit/audit.log)");
  app->add_flag("--completeness", o->completeness,
                "At a province or central: is every entry the downstream nodes logged here?");
  app->add_flag("--json", o->json, "JSON report");
  return {app, [o] { return Run(*o); }};
}

}  // namespace tcd::tools
