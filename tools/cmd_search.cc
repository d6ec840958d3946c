// tcd search --data DIR [--text T] [--point ID] [--province P] [--from DATE] [--to DATE]
//            [--case N] [--type T] [--chair NAME] [--participant NAME] [--conference ID]
//            [--state S …] [--limit N] [--json]
// tcd reindex --data DIR
#include <iostream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "node/audit_log.h"
#include "node/search.h"
#include "node/store.h"
#include "node/text_fold.h"
#include "tools/cli.h"

namespace tcd::tools {
namespace {

struct SearchOptions {
  std::string data, from, to;
  node::SearchQuery q;
  std::vector<std::string> states;
  bool json = false;
};

// A hit and whether it matched the query (false: shown because a session of the same
// conference did).
struct Row {
  node::SearchHit hit;
  bool matched = true;
};

Status BuildQuery(SearchOptions* o) {
  if (!o->from.empty()) {
    TCD_ASSIGN_OR_RETURN(ParsedTime t, ParseTime(o->from, "--from"));
    o->q.from_us = t.unix_us;
  }
  if (!o->to.empty()) {  // inclusive: the whole day, minute or second typed
    TCD_ASSIGN_OR_RETURN(ParsedTime t, ParseTime(o->to, "--to"));
    o->q.to_us = t.unix_us + t.span_us;
  }
  if (o->q.from_us && o->q.to_us && *o->q.from_us >= *o->q.to_us)
    return Status::InvalidArgument("--from '" + o->from + "' is after --to '" + o->to + "'");
  for (const auto& s : o->states) {
    bool found = false;
    for (auto st : {node::SessionState::kRecording, node::SessionState::kSealed,
                    node::SessionState::kUnsealed, node::SessionState::kRecovered})
      if (s == node::SessionStateName(st)) {
        o->q.states.push_back(st);
        found = true;
      }
    if (!found)
      return Status::InvalidArgument("--state '" + s +
                                     "': must be recording, sealed, unsealed or recovered");
  }
  return Status::OK();
}

// The hits in order, each followed by the other sessions of its conference (fetched when the
// query did not match them), so a conference is shown together, where its newest hit is.
Result<std::vector<Row>> GroupConferences(node::Catalog* catalog,
                                          std::vector<node::SearchHit> hits, bool with_metadata) {
  std::set<crypto::SessionId> matched;
  for (const auto& h : hits) matched.insert(h.session.id);
  std::vector<Row> rows;
  std::set<crypto::SessionId> shown;
  for (auto& h : hits) {
    if (shown.count(h.session.id)) continue;
    const std::string conf(h.conference());
    shown.insert(h.session.id);
    rows.push_back({h, true});
    if (conf.empty()) continue;
    node::SearchQuery cq;
    cq.conference = conf;
    cq.limit = 100;
    cq.with_metadata = with_metadata;
    TCD_ASSIGN_OR_RETURN(std::vector<node::SearchHit> members, catalog->Search(cq));
    for (auto& m : members) {
      if (m.conference() != conf || !shown.insert(m.session.id).second) continue;
      const bool also_matched = matched.count(m.session.id) > 0;
      rows.push_back({std::move(m), also_matched});
    }
  }
  return rows;
}

nlohmann::json RowJson(const Row& r) {
  const auto& h = r.hit;
  nlohmann::json meta = nlohmann::json::array();
  for (const auto& [k, v] : h.Meta()) meta.push_back({k, v});
  return {{"id", crypto::SessionIdToString(h.session.id)},
          {"matched", r.matched},
          {"point", h.point()},
          {"province", h.province()},
          {"start", FormatUtc(h.session.start_us)},
          {"start_us", h.session.start_us},
          {"duration_s", h.session.media_duration_us / 1e6},
          {"case", h.case_number()},
          {"type", h.type()},
          {"chair", h.chair()},
          {"participants", h.All("participant")},
          {"conference", h.conference()},
          {"state", node::SessionStateName(h.session.state)},
          {"location", node::LocationText(h.location)},
          {"meta", meta}};
}

void PrintRows(const std::vector<Row>& rows, size_t limit, size_t matched) {
  std::printf("%-19s  %8s  %-16s  %-14s  %-12s  %-22s  %-9s  %-14s  %s\n", "START (local)",
              "DURATION", "POINT", "CASE", "TYPE", "CHAIR", "STATE", "WHERE", "SESSION");
  std::string conf_open;
  for (const auto& r : rows) {
    const auto& h = r.hit;
    const std::string conf(h.conference());
    if (!conf.empty() && conf != conf_open) std::printf("-- conference %s:\n", conf.c_str());
    conf_open = conf;
    // Cells by terminal columns, not bytes: Vietnamese letters are 2–3 bytes each.
    std::printf("%-19s  %8s  %s  %s  %s  %s  %-9s  %-14s  %s%s\n",
                FormatLocal(h.session.start_us).c_str(),
                FormatDuration(h.session.media_duration_us).c_str(),
                node::Cell(h.point(), 16).c_str(), node::Cell(h.case_number(), 14).c_str(),
                node::Cell(h.type(), 12).c_str(), node::Cell(h.chair(), 22).c_str(),
                node::SessionStateName(h.session.state),
                node::LocationText(h.location).c_str(),
                crypto::SessionIdToString(h.session.id).c_str(),
                r.matched ? "" : "  (same conference)");
  }
  std::printf("%zu session(s) matched%s\n", matched,
              limit != 0 && matched == limit ? " (limit reached: --limit N for more)" : "");
}

int RunSearch(SearchOptions o) {
  Status qs = BuildQuery(&o);
  if (!qs.ok()) return ReportError(qs, kExitUsage);
  nlohmann::json what = nlohmann::json::object();  // the options given, nothing else
  for (const auto& [k, v] : std::initializer_list<std::pair<const char*, const std::string*>>{
           {"text", &o.q.text}, {"point", &o.q.point}, {"province", &o.q.province},
           {"from", &o.from}, {"to", &o.to}, {"case", &o.q.case_number}, {"type", &o.q.type},
           {"chair", &o.q.chair}, {"participant", &o.q.participant},
           {"conference", &o.q.conference}})
    if (!v->empty()) what[k] = *v;
  if (!o.states.empty()) what["state"] = o.states;
  what["limit"] = o.q.limit;
  node::StoreOptions so;
  so.read_only = true;
  auto store = node::Store::Open(Env::Default(), o.data, so);
  if (!store.ok()) return ReportError(store.status());
  o.q.with_metadata = o.json;  // every pair is in the JSON; the table shows the card's values
  auto hits = (*store)->catalog()->Search(o.q);
  Result<std::vector<Row>> rows =
      hits.ok() ? GroupConferences((*store)->catalog(), *hits, o.q.with_metadata)
                : Result<std::vector<Row>>(hits.status());
  const size_t matched = hits.ok() ? hits->size() : 0;
  // Fail closed: results are shown only once the search is on the audit record.
  Status audited = node::AppendAudit(Env::Default(), o.data, "search", what,
                                     rows.ok() ? "ok" : "failed",
                                     rows.ok() ? std::to_string(matched) + " hits"
                                               : rows.status().ToString());
  if (!audited.ok()) return ReportError(audited.WithContext("search refused"));
  if (!rows.ok()) return ReportError(rows.status(), rows.status().IsInvalidArgument()
                                                        ? kExitUsage
                                                        : kExitFailed);
  if (o.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : *rows) out.push_back(RowJson(r));
    std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    PrintRows(*rows, o.q.limit, matched);
  }
  return kExitOk;
}

int RunReindex(const std::string& data) {
  auto store = node::Store::Open(Env::Default(), data, {});
  if (!store.ok()) return ReportError(store.status());
  auto progress = [](uint64_t done, uint64_t total) {
    if (done == total || done % 1000 == 0)
      std::cerr << "\rindexing: " << done << "/" << total << " sessions" << std::flush;
  };
  // An index of an older layout was rebuilt by the open already.
  Status s = (*store)->catalog()->reindexed_on_open() ? Status::OK()
                                                      : (*store)->catalog()->Reindex(progress);
  std::cerr << "\n";
  if (s.ok()) s = (*store)->catalog()->Compact();
  if (!s.ok()) return ReportError(s);
  std::cerr << "search index rebuilt\n";
  return kExitOk;
}

}  // namespace

Command AddSearch(CLI::App& root) {
  auto o = std::make_shared<SearchOptions>();
  CLI::App* app = root.add_subcommand(
      "search", "Find sessions (text ignores case and Vietnamese diacritics), newest first");
  app->add_option("--data", o->data, "Archive data directory")->required();
  app->add_option("--text", o->q.text,
                  "Words in any metadata value, note or annotation (word* = prefix)");
  app->add_option("--point", o->q.point, "Reception point id");
  app->add_option("--province", o->q.province, "Province");
  app->add_option("--from", o->from, "Sessions starting at or after (YYYY-MM-DD [HH:MM[:SS]])");
  app->add_option("--to", o->to, "Sessions starting at or before (a date: that whole day)");
  app->add_option("--case", o->q.case_number, "Case number");
  app->add_option("--type", o->q.type, "complaint | denunciation | petition | feedback")
      ->check(CLI::IsMember({"complaint", "denunciation", "petition", "feedback"}));
  app->add_option("--chair", o->q.chair, "Words of the chair's name");
  app->add_option("--participant", o->q.participant, "Words of one participant's name");
  app->add_option("--conference", o->q.conference, "Conference id");
  app->add_option("--state", o->states, "recording | sealed | unsealed | recovered (repeatable)");
  app->add_option("--limit", o->q.limit, "At most N matching sessions (0 = all)")
      ->capture_default_str();
  app->add_flag("--json", o->json, "JSON output");
  return {app, [o] { return RunSearch(*o); }};
}

Command AddReindex(CLI::App& root) {
  auto data = std::make_shared<std::string>();
  CLI::App* app = root.add_subcommand(
      "reindex", "Rebuild the search index from the signed chain (stop the node first)");
  app->add_option("--data", *data, "Archive data directory")->required();
  return {app, [data] { return RunReindex(*data); }};
}

}  // namespace tcd::tools
