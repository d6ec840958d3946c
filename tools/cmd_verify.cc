// tcd verify --data DIR [--session ID] [--json]: exit 0 all intact, 1 a problem, 2 usage.
#include <iostream>

#include <nlohmann/json.hpp>

#include "node/store.h"
#include "node/verifier.h"
#include "tools/cli.h"

namespace tcd::tools {
namespace {

struct VerifyOptions {
  std::string data, session;
  bool json = false;
};

nlohmann::json ToJson(const node::VerifyReport& r, const std::string& state) {
  nlohmann::json j = {{"session", crypto::SessionIdToString(r.session)},
                      {"ok", r.ok},
                      {"state", state},
                      {"entries_verified", r.entries},
                      {"segments", r.segments},
                      {"gaps", r.gaps},
                      {"media_duration_s", r.media_duration_us / 1e6},
                      {"sealed", r.sealed},
                      {"signer_key_id", r.signer_key_id},
                      {"head_hash", ToHex(r.head_hash)}};
  if (r.sealed) j["seal_reason"] = r.seal_reason;
  if (!r.ok) {
    j["problem"] = node::ProblemName(r.problem);
    j["bad_seq"] = r.bad_seq.value_or(0);
    j["detail"] = r.detail;
  }
  return j;
}

void PrintHuman(const node::VerifyReport& r, bool recording) {
  std::string sid = crypto::SessionIdToString(r.session);
  if (r.ok) {
    std::printf("OK       %s  %llu segments, %s, %u gaps, sealed (%s), signed by %s\n",
                sid.c_str(), static_cast<unsigned long long>(r.segments),
                FormatDuration(r.media_duration_us).c_str(), r.gaps, r.seal_reason.c_str(),
                r.signer_key_id.c_str());
  } else if (recording) {
    std::printf("RECORDING %s  intact up to seq %llu (%llu segments so far), signed by %s\n",
                sid.c_str(), static_cast<unsigned long long>(r.entries - 1),
                static_cast<unsigned long long>(r.segments), r.signer_key_id.c_str());
  } else {
    std::printf("FAILED   %s  seq %llu: %s: %s\n", sid.c_str(),
                static_cast<unsigned long long>(r.bad_seq.value_or(0)),
                node::ProblemName(r.problem), r.detail.c_str());
  }
}

int RunVerify(const VerifyOptions& o) {
  Status init = crypto::InitCrypto();
  if (!init.ok()) return ReportError(init);
  node::StoreOptions so;
  so.read_only = true;
  auto store = node::Store::Open(Env::Default(), o.data, so);
  if (!store.ok()) return ReportError(store.status());
  std::vector<node::SessionRecord> sessions;
  if (!o.session.empty()) {
    auto id = (*store)->ResolveSession(o.session);
    if (!id.ok()) return ReportError(id.status(), id.status().IsNotFound() ? 1 : kExitUsage);
    auto rec = (*store)->catalog()->GetSession(*id);
    if (!rec.ok()) return ReportError(rec.status());
    sessions.push_back(*rec);
  } else {
    auto all = (*store)->catalog()->ListSessions();
    if (!all.ok()) return ReportError(all.status());
    sessions = std::move(all).value();
  }
  bool in_use = CatalogInUse(o.data);
  int failed = 0;
  nlohmann::json out = nlohmann::json::array();
  for (const auto& rec : sessions) {
    auto report = node::VerifySession(store->get(), rec.id);
    if (!report.ok()) return ReportError(report.status());
    // An open session of a live recorder is not truncated: it is still being written.
    bool recording = in_use && rec.state == node::SessionState::kRecording &&
                     report->problem == node::Problem::kUnsealed;
    if (!report->ok && !recording) ++failed;
    std::string state = recording ? "recording" : report->ok ? "sealed" : "failed";
    if (o.json) out.push_back(ToJson(*report, state));
    else PrintHuman(*report, recording);
  }
  if (o.json) {
    std::cout << nlohmann::json{{"sessions", out}, {"failed", failed}, {"ok", failed == 0}}.dump(2)
              << "\n";
  } else {
    std::printf("%zu session(s) checked, %d failed\n", sessions.size(), failed);
  }
  return failed == 0 ? kExitOk : kExitFailed;
}

}  // namespace

Command AddVerify(CLI::App& root) {
  auto o = std::make_shared<VerifyOptions>();
  CLI::App* app =
      root.add_subcommand("verify", "Verify sessions with public keys only (hashes, chain, "
                                    "signatures, seal)");
  app->add_option("--data", o->data, "Archive data directory")->required();
  app->add_option("--session", o->session, "Only this session (id or unique prefix)");
  app->add_flag("--json", o->json, "JSON report");
  return {app, [o] { return RunVerify(*o); }};
}

}  // namespace tcd::tools
