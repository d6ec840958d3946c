// tcd log --data DIR [--origin NODE] [--last N] [--json]
// Shows the node logs of an archive (docs/FORMAT.md §Node log): this node's own log and the
// copies it keeps of downstream nodes' logs, each with its size, root hash and newest
// checkpoints and their signatures and cosignatures, every checkpoint checked against the
// stored tree (CheckCheckpoint), and the split views kept as evidence. Reads only (the catalog
// is opened read-only, so it works while the node runs). Exit 0: every checkpoint shown checks
// and no split view is kept; 1: otherwise (named), or an error; 2: usage.
#include <iostream>

#include "crypto/note.h"
#include "node/node_log.h"
#include "node/store.h"
#include "tools/cli.h"

namespace tcd::tools {
namespace {

using OJson = nlohmann::ordered_json;

struct LogOptions {
  std::string data, origin;
  size_t last = 10;
  bool json = false;
};

std::string Hex8(uint32_t v) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}

// One checkpoint as shown: its check, and the signature lines it carries.
OJson CheckpointJson(node::NodeLogs* logs, const node::LogId& log, uint64_t size,
                     const std::string& note, std::string* problem) {
  OJson j;
  j["size"] = size;
  Status s = node::CheckCheckpoint(logs, log, size, note);
  j["valid"] = s.ok();
  if (!s.ok()) {
    j["problem"] = s.message();
    if (problem->empty()) *problem = s.message();
  }
  auto n = crypto::note::ParseNote(note);
  if (n.ok()) {
    auto c = crypto::note::ParseCheckpoint(n->body);
    if (c.ok()) j["root"] = ToHex(c->root);
    OJson sigs = OJson::array();
    for (const auto& sig : n->sigs) {
      OJson sj;
      sj["name"] = sig.name;
      sj["key_id"] = Hex8(sig.key_id);
      if (sig.sig.size() == 72) {  // a cosignature carries its time
        uint64_t t = 0;
        Reader(sig.sig).U64(&t);
        sj["cosigned_at"] = FormatUtc(static_cast<int64_t>(t) * 1000000);
      }
      sigs.push_back(sj);
    }
    j["signatures"] = sigs;
  }
  j["note"] = note;
  return j;
}

Result<OJson> LogJson(node::NodeLogs* logs, const node::LogId& log, bool own, size_t last,
                      std::string* problem) {
  OJson j;
  TCD_ASSIGN_OR_RETURN(auto signer, logs->Signer(log));
  j["origin"] = signer ? node::LogOrigin(*signer) : "";
  j["kind"] = own ? "own" : "downstream";
  TCD_ASSIGN_OR_RETURN(uint64_t size, logs->Size(log));
  TCD_ASSIGN_OR_RETURN(crypto::Hash256 root, logs->Root(log, size));
  j["size"] = size;
  j["root"] = ToHex(root);
  TCD_ASSIGN_OR_RETURN(auto kept, logs->Checkpoints(log, last + 1));
  j["more_checkpoints"] = kept.size() > last;  // older ones are kept but not shown
  OJson cps = OJson::array();
  for (size_t i = kept.size() > last ? kept.size() - last : 0; i < kept.size(); ++i)
    cps.push_back(CheckpointJson(logs, log, kept[i].first, kept[i].second, problem));
  j["checkpoints"] = cps;
  return j;
}

void PrintLog(const OJson& j) {
  const std::string origin = j["origin"].get<std::string>();
  std::cout << (j["kind"] == "own" ? "node log " : "downstream log ")
            << (origin.empty() ? "(no checkpoint signed yet)" : origin) << "\n"
            << "  leaves " << j["size"].get<uint64_t>() << ", root "
            << j["root"].get<std::string>() << "\n"
            << "  checkpoints: " << j["checkpoints"].size();
  if (j["more_checkpoints"].get<bool>()) std::cout << " newest shown (--last N for more)";
  std::cout << "\n";
  for (const auto& c : j["checkpoints"]) {
    std::cout << "  size " << c["size"].get<uint64_t>() << "  "
              << (c["valid"].get<bool>() ? "ok" : "FAILED: " + c["problem"].get<std::string>())
              << "\n";
    if (!c.contains("signatures")) continue;
    for (const auto& s : c["signatures"]) {
      std::cout << "    " << (s.contains("cosigned_at") ? "cosigned by " : "signed by   ")
                << s["name"].get<std::string>() << " (key id " << s["key_id"].get<std::string>()
                << ")";
      if (s.contains("cosigned_at")) std::cout << " at " << s["cosigned_at"].get<std::string>();
      std::cout << "\n";
    }
  }
}

int RunLog(const LogOptions& o) {
  node::StoreOptions so;
  so.read_only = true;
  auto store = node::Store::Open(Env::Default(), o.data, so);
  if (!store.ok()) return ReportError(store.status());
  node::NodeLogs* logs = (*store)->catalog()->logs();
  if (logs == nullptr)
    return ReportError(Status::NotFound(
        "the catalog of " + o.data + " has no node log yet (written by an older tcd): start "
        "the node once, which logs every stored entry"));
  std::vector<std::pair<node::LogId, bool>> which = {{node::LogId::Own(), true}};
  auto down = logs->Downstream();
  if (!down.ok()) return ReportError(down.status());
  for (const auto& pk : *down) which.emplace_back(node::LogId::Of(pk), false);

  std::string problem;
  OJson all = OJson::array();
  auto wanted = [&](const std::string& origin) {
    return o.origin.empty() || origin == o.origin ||
           (!origin.empty() && origin.substr(origin.find('/') + 1) == o.origin);
  };
  for (const auto& [log, own] : which) {
    auto signer = logs->Signer(log);  // filter first: another log's problem is not this one's
    if (!signer.ok()) return ReportError(signer.status());
    if (!wanted(*signer ? node::LogOrigin(**signer) : "")) continue;
    auto j = LogJson(logs, log, own, o.last, &problem);
    if (!j.ok()) return ReportError(j.status());
    all.push_back(std::move(*j));
  }
  if (!o.origin.empty() && all.empty())
    return ReportError(Status::NotFound("no log of origin or key id '" + o.origin + "' in " +
                                        o.data),
                       kExitUsage);
  // Split views: checkpoints of a downstream log that contradicted the copy kept here.
  auto views = logs->SplitViews();
  if (!views.ok()) return ReportError(views.status());
  OJson split = OJson::array();
  for (const auto& v : *views) {
    const std::string origin = node::LogOrigin(v.signer);
    if (!wanted(origin)) continue;
    split.push_back({{"origin", origin}, {"size", v.size}, {"seen", FormatUtc(v.seen_us)},
                     {"why", v.why}, {"note", v.note}});
  }
  if (o.json) {
    std::cout << OJson{{"logs", all}, {"split_views", split}}.dump(2) << "\n";
  } else {
    for (const auto& j : all) PrintLog(j);
    for (const auto& v : split)
      std::cout << "SPLIT VIEW of " << v["origin"].get<std::string>() << " at size "
                << v["size"].get<uint64_t>() << ", seen " << v["seen"].get<std::string>() << ": "
                << v["why"].get<std::string>() << "\n  the contradicting checkpoint, kept as "
                << "evidence:\n" << v["note"].get<std::string>();
  }
  if (!split.empty() && problem.empty())
    problem = std::to_string(split.size()) + " split view(s): a downstream node showed two "
              "histories of its log";
  if (!problem.empty()) {
    std::cerr << "tcd log: " << problem << "\n";
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace

Command AddLog(CLI::App& root) {
  auto o = std::make_shared<LogOptions>();
  CLI::App* app = root.add_subcommand(
      "log", "Show the node logs: checkpoints, signatures and cosignatures, each checked");
  app->add_option("--data", o->data, "Archive data directory")->required();
  app->add_option("--origin", o->origin, "Only the log of this origin (or its key id)");
  app->add_option("--last", o->last, "Newest checkpoints shown per log")->capture_default_str();
  app->add_flag("--json", o->json, "JSON output");
  return {app, [o] { return RunLog(*o); }};
}

}  // namespace tcd::tools
