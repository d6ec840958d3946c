// tcd sessions --data DIR [--json]
#include <iostream>
#include <optional>

#include <nlohmann/json.hpp>

#include "node/store.h"
#include "node/verifier.h"
#include "tools/cli.h"

namespace tcd::tools {
namespace {

struct SessionsOptions {
  std::string data;
  bool json = false;
};

// "recording" is only true while a recorder holds the archive; otherwise the session was left
// unsealed by a crash that recovery has not yet seen.
std::string StateOf(const node::SessionRecord& r, bool in_use) {
  if (r.state == node::SessionState::kRecording && !in_use) return "unsealed";
  return node::SessionStateName(r.state);
}

// A replicated session whose entries arrived but some of whose blobs have not (yet): the seq
// of the first missing one.
std::optional<uint64_t> MediaArriving(node::Store* store, const node::SessionRecord& r) {
  auto repl = store->catalog()->GetRepl(r.id);
  if (!repl.ok() || repl->from_peer == crypto::PublicKey{}) return std::nullopt;
  auto first = store->catalog()->FirstWanted(repl->from_peer, r.id);
  return first.ok() ? *first : std::nullopt;
}

nlohmann::json MetaJson(const crypto::Metadata& meta) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& [k, v] : meta) j.push_back({k, v});
  return j;
}

nlohmann::json SessionJson(const node::SessionRecord& r, const node::SessionNotes& n,
                           bool in_use, std::optional<uint64_t> arriving) {
  nlohmann::json notes = nlohmann::json::array();
  for (const auto& a : n.annotations)
    notes.push_back({{"seq", a.seq}, {"time", FormatUtc(a.time_us)},
                     {"signer", n.signer_key_id}, {"meta", MetaJson(a.meta)}});
  return {{"id", crypto::SessionIdToString(r.id)},
          {"point", r.point},
          {"start", FormatUtc(r.start_us)},
          {"start_us", r.start_us},
          {"duration_s", r.media_duration_us / 1e6},
          {"segments", r.segments},
          {"gaps", r.gaps},
          {"entries", r.next_seq},
          {"state", StateOf(r, in_use)},
          {"media_complete", !arriving.has_value()},
          {"signer", n.signer_key_id},
          {"meta", MetaJson(n.meta)},
          {"annotations", notes}};
}

int RunSessions(const SessionsOptions& o) {
  node::StoreOptions so;
  so.read_only = true;
  auto store = node::Store::Open(Env::Default(), o.data, so);
  if (!store.ok()) return ReportError(store.status());
  auto sessions = (*store)->catalog()->ListSessions();
  if (!sessions.ok()) return ReportError(sessions.status());
  bool in_use = CatalogInUse(o.data);
  nlohmann::json out = nlohmann::json::array();
  if (!o.json)
    std::printf("%-36s  %-12s  %-20s  %9s  %8s  %s\n", "ID", "POINT", "START (UTC)",
                "DURATION", "SEGMENTS", "STATE");
  for (const auto& r : *sessions) {
    auto notes = node::ReadSessionNotes(store->get(), r.id);
    if (!notes.ok()) return ReportError(notes.status());
    const auto arriving = MediaArriving(store->get(), r);
    if (o.json) {
      out.push_back(SessionJson(r, *notes, in_use, arriving));
      continue;
    }
    std::string state = StateOf(r, in_use);
    if (arriving) state += ", media arriving (from seq " + std::to_string(*arriving) + ")";
    std::printf("%-36s  %-12s  %-20s  %9s  %8llu  %s\n", crypto::SessionIdToString(r.id).c_str(),
                r.point.empty() ? "-" : r.point.c_str(), FormatUtc(r.start_us).c_str(),
                FormatDuration(r.media_duration_us).c_str(),
                static_cast<unsigned long long>(r.segments), state.c_str());
    for (const auto& a : notes->annotations) {
      std::string kv;
      for (const auto& [k, v] : a.meta) kv += " " + k + "=" + v;
      std::printf("    amended at %s by %s (seq %llu):%s\n", FormatUtc(a.time_us).c_str(),
                  notes->signer_key_id.c_str(), static_cast<unsigned long long>(a.seq),
                  kv.c_str());
    }
  }
  if (o.json)
    std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  else if (sessions->empty())
    std::printf("(no sessions)\n");
  return kExitOk;
}

}  // namespace

Command AddSessions(CLI::App& root) {
  auto o = std::make_shared<SessionsOptions>();
  CLI::App* app = root.add_subcommand("sessions", "List the sessions of an archive");
  app->add_option("--data", o->data, "Archive data directory")->required();
  app->add_flag("--json", o->json, "JSON output");
  return {app, [o] { return RunSessions(*o); }};
}

}  // namespace tcd::tools
