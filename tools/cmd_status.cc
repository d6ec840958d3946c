// tcd status [--socket PATH | --config FILE] [--json]: what the running node is doing.
#include <cstdio>
#include <iostream>

#include "tools/cli.h"

namespace tcd::tools {
namespace {

using Json = nlohmann::json;

struct StatusOptions {
  NodeAddress node;
  bool json = false;
};

// A field as text for a person: strings as they are, numbers and booleans printed,
// absent or null as `none`. Never throws on what a newer or older node sends.
std::string Field(const Json& j, const char* key, const char* none = "-") {
  if (!j.is_object()) return none;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return none;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_float()) {
    char buf[32];
    snprintf(buf, sizeof buf, "%.1f", it->get<double>());
    return buf;
  }
  return it->dump();
}

const Json& List(const Json& j, const char* key) {
  static const Json kEmpty = Json::array();
  auto it = j.find(key);
  return it != j.end() && it->is_array() ? *it : kEmpty;
}

const Json& Object(const Json& j, const char* key) {
  static const Json kEmpty = Json::object();
  auto it = j.find(key);
  return it != j.end() && it->is_object() ? *it : kEmpty;
}

std::string Duration(const Json& s) {
  auto it = s.find("media_duration_s");
  if (it == s.end() || !it->is_number()) return "-";
  return FormatDuration(static_cast<int64_t>(it->get<double>() * 1e6));
}

void PrintNode(const Json& r) {
  std::printf("node:     %s, point %s, key %s\n", Field(r, "role").c_str(),
              Field(r, "point").c_str(), Field(r, "node_key_id").c_str());
  const Json& stored = Object(r, "stored");
  std::printf("data:     %s (%s sessions, %s segments stored)\n", Field(r, "data_dir").c_str(),
              Field(stored, "sessions", "?").c_str(), Field(stored, "segments", "?").c_str());
  const Json& disk = Object(r, "disk");
  std::printf("disk:     %s MB free, %s (warn below %s MB, no new sessions below %s MB)\n",
              Field(disk, "free_mb", "?").c_str(), Field(disk, "state", "?").c_str(),
              Field(disk, "warn_free_mb", "?").c_str(), Field(disk, "min_free_mb", "?").c_str());
}

void PrintSources(const Json& r) {
  std::printf("\nsources:\n  %-16s  %-8s  %-12s  %-36s  %s\n", "NAME", "MODE", "STATE", "SESSION",
              "LAST ERROR");
  for (const auto& s : List(r, "sources"))
    std::printf("  %-16s  %-8s  %-12s  %-36s  %s\n", Field(s, "name").c_str(),
                Field(s, "mode").c_str(), Field(s, "state").c_str(), Field(s, "session").c_str(),
                Field(s, "last_error").c_str());
  if (List(r, "sources").empty()) std::printf("  (none)\n");
}

void PrintOpenSessions(const Json& r) {
  std::printf("\nopen sessions:\n  %-36s  %-16s  %-20s  %8s  %9s  %s\n", "ID", "SOURCE",
              "START (UTC)", "SEGMENTS", "DURATION", "GAPS");
  for (const auto& s : List(r, "open_sessions"))
    std::printf("  %-36s  %-16s  %-20s  %8s  %9s  %s\n", Field(s, "id").c_str(),
                Field(s, "source").c_str(), Field(s, "start").c_str(), Field(s, "segments").c_str(),
                Duration(s).c_str(), Field(s, "gaps").c_str());
  if (List(r, "open_sessions").empty()) std::printf("  (none)\n");
}

void PrintLastErrors(const Json& r) {
  std::printf("\nlast errors:\n");
  for (const auto& e : List(r, "last_errors"))
    std::printf("  %-20s  %s\n", Field(e, "time").c_str(), Field(e, "message").c_str());
  if (List(r, "last_errors").empty()) std::printf("  (none)\n");
}

int RunStatus(const StatusOptions& o) {
  auto r = CallNode(o.node, {{"cmd", "status"}});
  if (!r.ok()) return ReportError(r.status());
  if (o.json) {
    std::cout << r->dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
    return kExitOk;
  }
  PrintNode(*r);
  PrintSources(*r);
  PrintOpenSessions(*r);
  PrintLastErrors(*r);
  return kExitOk;
}

}  // namespace

Command AddStatus(CLI::App& root) {
  auto o = std::make_shared<StatusOptions>();
  CLI::App* app = root.add_subcommand("status", "Show what the running node is doing");
  AddNodeAddressOptions(app, &o->node);
  app->add_flag("--json", o->json, "JSON output (the node's status response)");
  return {app, [o] { return RunStatus(*o); }};
}

}  // namespace tcd::tools
