// tcd verify --data DIR [--session ID] [--signer node.pub …] [--json]
// Exit 0: every session intact and closed; 1: a problem; 2: usage; 3: no problem found, but a
// session is still being recorded (intact so far, not yet sealed).
#include <iostream>

#include <nlohmann/json.hpp>

#include "node/store.h"
#include "node/verifier.h"
#include "tools/cli.h"

namespace tcd::tools {
namespace {

constexpr int kExitStillRecording = 3;

struct VerifyOptions {
  std::string data, session;
  std::vector<std::string> signers;
  bool json = false;
};

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
  for (const auto& path : o.signers) {
    auto text = ReadTextFile(path, "trusted signer");
    if (!text.ok()) return ReportError(text.status());
    auto pub = crypto::DecodeNodePub(*text, path);
    if (!pub.ok()) return ReportError(pub.status());
    vo.trusted_signers.push_back(pub->sign_pk);
  }
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

}  // namespace

Command AddVerify(CLI::App& root) {
  auto o = std::make_shared<VerifyOptions>();
  CLI::App* app =
      root.add_subcommand("verify", "Verify sessions with public keys only (hashes, chain, "
                                    "signatures, seal); exit 0 intact, 1 problem, 3 still "
                                    "recording");
  app->add_option("--data", o->data, "Archive data directory")->required();
  app->add_option("--session", o->session, "Only this session (id or unique prefix)");
  app->add_option("--signer", o->signers,
                  "node.pub of a trusted recorder (repeatable): other signers fail");
  app->add_flag("--json", o->json, "JSON report");
  return {app, [o] { return RunVerify(*o); }};
}

}  // namespace tcd::tools
