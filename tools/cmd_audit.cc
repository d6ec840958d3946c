// tcd audit --data DIR [--from DATE] [--to DATE] [--action A] [--json]   show the audit log
// tcd audit --data DIR --repair                          cut a torn last line (kept as evidence)
// tcd verify --audit --data DIR [--json]                 RunVerifyAudit: check the hash chain
// Showing and verifying only read the log (a shared flock, no write) and are not themselves
// audited (docs/FORMAT.md §Audit log). Exit 0: the log verifies; 1: a problem (named with its
// line), no log, or an error; 2: usage.
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iostream>

#include "node/audit_log.h"
#include "tools/cli.h"

namespace tcd::tools {
namespace {

using OJson = nlohmann::ordered_json;

struct AuditOptions {
  std::string data, from, to, action;
  bool json = false, repair = false;
};

bool Digits(const std::string& s, size_t pos, size_t n) {
  if (pos + n > s.size()) return false;
  return std::all_of(s.begin() + pos, s.begin() + pos + n, [](char c) {
    return c >= '0' && c <= '9';
  });
}

// "2026-11-22" (00:00 UTC; with end_of_day, the next midnight, so --to includes that day) or
// "2026-11-22T10:32:07Z", optionally with up to 6 fraction digits ("…07.25Z").
Result<int64_t> ParseDate(const std::string& s, const std::string& option, bool end_of_day) {
  const Status bad = Status::InvalidArgument(
      option + " '" + s + "': expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[.ffffff]Z (UTC)");
  if (!Digits(s, 0, 4) || s.size() < 10 || s[4] != '-' || !Digits(s, 5, 2) || s[7] != '-' ||
      !Digits(s, 8, 2))
    return bad;
  struct tm tm {};
  tm.tm_year = std::stoi(s.substr(0, 4)) - 1900;
  tm.tm_mon = std::stoi(s.substr(5, 2)) - 1;
  tm.tm_mday = std::stoi(s.substr(8, 2));
  int64_t frac_us = 0;
  const bool date_only = s.size() == 10;
  if (!date_only) {
    if (s.size() < 20 || s[10] != 'T' || !Digits(s, 11, 2) || s[13] != ':' || !Digits(s, 14, 2) ||
        s[16] != ':' || !Digits(s, 17, 2) || s.back() != 'Z')
      return bad;
    tm.tm_hour = std::stoi(s.substr(11, 2));
    tm.tm_min = std::stoi(s.substr(14, 2));
    tm.tm_sec = std::stoi(s.substr(17, 2));
    if (s.size() != 20) {
      const size_t n = s.size() - 21;  // digits between '.' and 'Z'
      if (s[19] != '.' || n < 1 || n > 6 || !Digits(s, 20, n)) return bad;
      frac_us = std::stoll(s.substr(20, n));
      for (size_t i = n; i < 6; ++i) frac_us *= 10;
    }
  }
  const struct tm want = tm;
  const time_t t = timegm(&tm);
  if (tm.tm_year != want.tm_year || tm.tm_mon != want.tm_mon || tm.tm_mday != want.tm_mday ||
      tm.tm_hour != want.tm_hour || tm.tm_min != want.tm_min || tm.tm_sec != want.tm_sec)
    return bad;  // 2026-02-30, 24:00:00, … were normalized by timegm
  int64_t us = static_cast<int64_t>(t) * 1000000 + frac_us;
  if (date_only && end_of_day) us += int64_t{86400} * 1000000;
  return us;
}

// Control characters shown as \n, \t, \xNN: a value (a query, an error) must not break the
// table or fake a row of it.
std::string Printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string Who(const node::AuditRecord& r) {
  std::string user = r.user.empty() ? "uid " + std::to_string(r.uid) : r.user;
  if (!r.sudo_user.empty() && r.sudo_user != r.user) user = r.sudo_user + " (as " + user + ")";
  return Printable(user);
}

// what as `key=value …` (values in JSON notation), then " — detail".
std::string WhatText(const node::AuditRecord& r) {
  std::string out;
  for (const auto& [k, v] : r.what.items()) {
    if (!out.empty()) out += ' ';
    out += k + "=" + v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  if (!r.detail.empty()) out += (out.empty() ? "" : " — ") + r.detail;
  return Printable(out);
}

OJson RecordJson(const node::AuditRecord& r) {
  return {{"seq", r.seq},       {"time", r.time},     {"user", r.user},
          {"uid", r.uid},       {"sudo_user", r.sudo_user}, {"host", r.host},
          {"pid", r.pid},       {"action", r.action}, {"what", OJson(r.what)},
          {"result", r.result}, {"detail", r.detail}, {"prev", ToHex(r.prev)},
          {"hash", ToHex(r.hash)}, {"line", r.line},  {"verified", r.verified}};
}

void PrintTable(const std::vector<node::AuditRecord>& records) {
  size_t wu = 4, wa = 6;
  for (const auto& r : records) {
    wu = std::max(wu, Who(r).size());
    wa = std::max(wa, r.action.size());
  }
  std::printf("%-6s  %-20s  %-*s  %-*s  %-7s  %s\n", "SEQ", "TIME", int(wu), "USER", int(wa),
              "ACTION", "RESULT", "WHAT");
  for (const auto& r : records) {
    std::string seq = (r.verified ? "" : "!") + std::to_string(r.seq);
    std::printf("%-6s  %-20s  %-*s  %-*s  %-7s  %s\n", seq.c_str(),
                FormatUtc(r.time_us).c_str(), int(wu), Who(r).c_str(), int(wa),
                r.action.c_str(), r.result.c_str(), WhatText(r).c_str());
  }
}

std::string ProblemText(const node::AuditReport& rep) {
  return rep.path + ": line " + std::to_string(rep.bad_line) + ": " +
         node::AuditProblemName(rep.problem) + ": " + rep.detail;
}

void PrintWarnings(const node::AuditReport& rep) {
  for (const auto& w : rep.warnings)
    std::cerr << "tcd: warning: " << rep.path << ": line " << w.line << ": " << w.detail << "\n";
}

int Show(const AuditOptions& o) {
  node::AuditFilter f;
  f.action = o.action;
  if (!o.from.empty()) {
    auto t = ParseDate(o.from, "--from", false);
    if (!t.ok()) return ReportError(t.status(), kExitUsage);
    f.from_us = *t;
  }
  if (!o.to.empty()) {
    auto t = ParseDate(o.to, "--to", true);
    if (!t.ok()) return ReportError(t.status(), kExitUsage);
    f.to_us = *t;
  }
  std::vector<node::AuditRecord> records;
  auto rep = node::ReadAudit(Env::Default(), o.data, f, &records);
  if (!rep.ok()) {
    if (!rep.status().IsNotFound()) return ReportError(rep.status());
    std::cerr << "tcd: " << rep.status().message() << "\n";  // an empty log, not an error
    if (o.json) std::cout << "[]\n";
    return kExitOk;
  }
  if (o.json) {
    OJson out = OJson::array();
    for (const auto& r : records) out.push_back(RecordJson(r));
    std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    PrintTable(records);
  }
  PrintWarnings(*rep);
  if (rep->ok()) return kExitOk;
  return ReportError(Status::Corruption(
      ProblemText(*rep) + " (records from this line on are not verified" +
      (o.json ? ": \"verified\": false)" : ", marked !)")));
}

int Repair(const AuditOptions& o) {
  auto done = node::RepairAudit(Env::Default(), o.data);
  if (!done.ok()) return ReportError(done.status());
  std::cout << *done << "\n";
  return kExitOk;
}

int RunAudit(const AuditOptions& o) {
  if (!Env::Default()->FileExists(o.data))
    return ReportError(Status::NotFound("data directory " + o.data + " does not exist"));
  return o.repair ? Repair(o) : Show(o);
}

}  // namespace

Command AddAudit(CLI::App& root) {
  auto o = std::make_shared<AuditOptions>();
  CLI::App* app = root.add_subcommand(
      "audit", "Show the audit log of searches and exports (DATA/audit/audit.log)");
  app->add_option("--data", o->data, "Data directory of the node")->required();
  auto* from = app->add_option("--from", o->from, "Records at or after DATE (UTC)");
  auto* to = app->add_option("--to", o->to,
                             "Records before DATE (UTC; a plain YYYY-MM-DD includes that day)");
  auto* action = app->add_option("--action", o->action, "Only this action (search, export, …)");
  auto* json = app->add_flag("--json", o->json, "JSON array output");
  auto* repair = app->add_flag(
      "--repair", o->repair,
      "Move a torn last line (interrupted write) to an evidence file and record the repair");
  repair->excludes(from)->excludes(to)->excludes(action)->excludes(json);
  return {app, [o] { return RunAudit(*o); }};
}

int RunVerifyAudit(const std::string& data_dir, bool json) {
  auto rep = node::VerifyAudit(Env::Default(), data_dir);
  if (!rep.ok()) {
    if (json)
      std::cout << OJson{{"file", node::AuditLogPath(data_dir)},
                         {"ok", false},
                         {"problem", rep.status().IsNotFound() ? "missing" : "unreadable"},
                         {"detail", rep.status().message()}}
                       .dump(2) << "\n";
    return ReportError(rep.status());
  }
  const std::string head = ToHex(rep->head);
  if (json) {
    OJson j = {{"file", rep->path},
               {"ok", rep->ok()},
               {"records_checked", rep->records_checked},
               {"head_hash", head}};
    if (!rep->ok()) {
      j["problem"] = node::AuditProblemName(rep->problem);
      j["line"] = rep->bad_line;
      j["detail"] = rep->detail;
    }
    OJson warnings = OJson::array();
    for (const auto& w : rep->warnings) warnings.push_back({{"line", w.line}, {"detail", w.detail}});
    j["warnings"] = warnings;
    std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else if (rep->ok()) {
    std::printf("OK      %s: %llu records verified, head %s\n", rep->path.c_str(),
                static_cast<unsigned long long>(rep->records_checked), head.c_str());
  } else {
    std::printf("FAILED  %s\n        %llu records verified before it, head %s\n",
                ProblemText(*rep).c_str(), static_cast<unsigned long long>(rep->records_checked),
                head.c_str());
  }
  PrintWarnings(*rep);
  return rep->ok() ? kExitOk : kExitFailed;
}

}  // namespace tcd::tools
