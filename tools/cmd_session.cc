// tcd session start [--source NAME] [--meta KEY=VALUE…]
// tcd session stop [--session ID | --source NAME]
// tcd session annotate ID --meta KEY=VALUE…
// tcd session hold ID / tcd session release ID   (evidence hold: retention never evicts it)
// All go to the running node over its control socket (node/control.h).
#include <iostream>

#include "tools/cli.h"

namespace tcd::tools {
namespace {

using Json = nlohmann::json;

struct SessionOptions {
  NodeAddress node;
  std::string source;
  std::string session;
  std::vector<std::string> meta;
};

// [[k,v],…] after local validation (a typo is caught before it reaches the node).
Result<Json> MetaJson(const std::vector<std::string>& pairs) {
  TCD_ASSIGN_OR_RETURN(crypto::Metadata meta, ParseMetadata(pairs));
  Json out = Json::array();
  for (const auto& [k, v] : meta) out.push_back({k, v});
  return out;
}

// The node's field as text; "" when absent or of another type (the node's bug, not ours).
std::string Text(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

int RunStart(const SessionOptions& o) {
  Json request = {{"cmd", "session.start"}};
  if (!o.source.empty()) request["source"] = o.source;
  if (!o.meta.empty()) {
    auto meta = MetaJson(o.meta);
    if (!meta.ok()) return ReportError(meta.status(), kExitUsage);
    request["meta"] = *meta;
  }
  auto r = CallNode(o.node, request);
  if (!r.ok()) return ReportError(r.status());
  std::cout << Text(*r, "session") << "\n";
  return kExitOk;
}

int RunStop(const SessionOptions& o) {
  Json request = {{"cmd", "session.stop"}};
  if (!o.session.empty()) request["session"] = o.session;
  if (!o.source.empty()) request["source"] = o.source;
  auto r = CallNode(o.node, request);
  if (!r.ok()) return ReportError(r.status());
  auto sealed = r->find("sealed");
  if (sealed == r->end() || !sealed->is_array() || sealed->empty()) {
    std::cerr << "tcd: no open session to stop\n";
    return kExitOk;
  }
  for (const auto& id : *sealed)
    std::cout << (id.is_string() ? id.get<std::string>() : id.dump()) << "\n";
  return kExitOk;
}

int RunAnnotate(const SessionOptions& o) {
  auto meta = MetaJson(o.meta);
  if (!meta.ok()) return ReportError(meta.status(), kExitUsage);
  auto r = CallNode(o.node, {{"cmd", "session.annotate"}, {"session", o.session}, {"meta", *meta}});
  if (!r.ok()) return ReportError(r.status());
  std::cout << "annotated " << o.session << " at seq " << Text(*r, "seq") << "\n";
  return kExitOk;
}

// Places (hold) or releases an evidence hold; the node answers with the full session id.
int RunHold(const SessionOptions& o, bool hold) {
  auto r = CallNode(o.node, {{"cmd", "session.hold"}, {"session", o.session}, {"hold", hold}});
  if (!r.ok()) return ReportError(r.status());
  const std::string id = Text(*r, "session");
  std::cout << "evidence hold " << (hold ? "placed on " : "released on ")
            << (id.empty() ? o.session : id) << "\n";
  return kExitOk;
}

}  // namespace

Command AddSession(CLI::App& root) {
  auto o = std::make_shared<SessionOptions>();
  CLI::App* app =
      root.add_subcommand("session",
                          "Start, stop, annotate, hold or release a session of the running node");
  app->require_subcommand(1);

  CLI::App* start = app->add_subcommand("start", "Start recording now; prints the session id");
  start->add_option("--source", o->source, "Source name from the config (default: the only one)");
  start->add_option("--meta", o->meta, "Session metadata KEY=VALUE (repeatable)");
  AddNodeAddressOptions(start, &o->node);

  CLI::App* stop = app->add_subcommand("stop", "Seal open sessions; prints their ids");
  auto* session = stop->add_option("--session", o->session, "Session id");
  stop->add_option("--source", o->source, "Source name")->excludes(session);
  AddNodeAddressOptions(stop, &o->node);

  CLI::App* annotate = app->add_subcommand(
      "annotate", "Append metadata to a session as a signed amendment (never an overwrite)");
  annotate->add_option("session", o->session, "Session id")->required();
  annotate->add_option("--meta", o->meta, "KEY=VALUE (repeat --meta for each)")
      ->required()
      ->allow_extra_args(false);  // one value each, so the id may come after it
  AddNodeAddressOptions(annotate, &o->node);

  CLI::App* hold = app->add_subcommand(
      "hold", "Place an evidence hold: retention never evicts the session's media here");
  hold->add_option("session", o->session, "Session id")->required();
  AddNodeAddressOptions(hold, &o->node);

  CLI::App* release = app->add_subcommand(
      "release", "Release an evidence hold: retention applies to the session again");
  release->add_option("session", o->session, "Session id")->required();
  AddNodeAddressOptions(release, &o->node);

  return {app, [o, start, stop, annotate, hold, release]() {
            if (start->parsed()) return RunStart(*o);
            if (stop->parsed()) return RunStop(*o);
            if (annotate->parsed()) return RunAnnotate(*o);
            if (hold->parsed()) return RunHold(*o, true);
            if (release->parsed()) return RunHold(*o, false);
            return kExitUsage;
          }};
}

}  // namespace tcd::tools
