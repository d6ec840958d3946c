// tcd sessions --data DIR [--json]
#include <iostream>

#include <nlohmann/json.hpp>

#include "node/store.h"
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

int RunSessions(const SessionsOptions& o) {
  node::StoreOptions so;
  so.read_only = true;
  auto store = node::Store::Open(Env::Default(), o.data, so);
  if (!store.ok()) return ReportError(store.status());
  auto sessions = (*store)->catalog()->ListSessions();
  if (!sessions.ok()) return ReportError(sessions.status());
  bool in_use = CatalogInUse(o.data);
  if (o.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : *sessions)
      out.push_back({{"id", crypto::SessionIdToString(r.id)},
                     {"point", r.point},
                     {"start", FormatUtc(r.start_us)},
                     {"start_us", r.start_us},
                     {"duration_s", r.media_duration_us / 1e6},
                     {"segments", r.segments},
                     {"gaps", r.gaps},
                     {"entries", r.next_seq},
                     {"state", StateOf(r, in_use)}});
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::printf("%-36s  %-12s  %-20s  %9s  %8s  %s\n", "ID", "POINT", "START (UTC)", "DURATION",
              "SEGMENTS", "STATE");
  for (const auto& r : *sessions)
    std::printf("%-36s  %-12s  %-20s  %9s  %8llu  %s\n", crypto::SessionIdToString(r.id).c_str(),
                r.point.empty() ? "-" : r.point.c_str(), FormatUtc(r.start_us).c_str(),
                FormatDuration(r.media_duration_us).c_str(),
                static_cast<unsigned long long>(r.segments), StateOf(r, in_use).c_str());
  if (sessions->empty()) std::printf("(no sessions)\n");
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
