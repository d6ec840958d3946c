// tcd status [--socket PATH | --config FILE] [--json]: what the running node is doing.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <optional>

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

// A number field; nullopt when absent or not a number.
std::optional<double> Number(const Json& j, const char* key) {
  if (!j.is_object()) return std::nullopt;
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

// "812 B", "1.5 KiB", "12.3 MiB", "4.0 GiB"; `none` when the field is absent.
std::string Size(const Json& j, const char* key, const char* none = "-") {
  auto v = Number(j, key);
  if (!v) return none;
  static const char* const kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  double x = *v;
  if (x < 1024) return std::to_string(static_cast<uint64_t>(x < 0 ? 0 : x)) + " B";
  size_t u = 0;
  for (x /= 1024; x >= 1024 && u + 1 < std::size(kUnits); ++u) x /= 1024;
  char buf[32];
  snprintf(buf, sizeof buf, "%.1f %s", x, kUnits[u]);
  return buf;
}

// A rate in bits per second: "950 bit/s", "420 kbit/s", "1.2 Mbit/s".
std::string Rate(double bits) {
  char buf[32];
  if (bits < 1e3) snprintf(buf, sizeof buf, "%.0f bit/s", bits < 0 ? 0 : bits);
  else if (bits < 1e6) snprintf(buf, sizeof buf, "%.0f kbit/s", bits / 1e3);
  else snprintf(buf, sizeof buf, "%.1f Mbit/s", bits / 1e6);
  return buf;
}

std::string Rate(const Json& j, const char* key) {
  auto v = Number(j, key);
  return v ? Rate(*v) : "-";
}

// "1 session" / "3 sessions" ("1 entry" / "3 entries" with an explicit plural).
std::string Count(const Json& j, const char* key, const std::string& one,
                  const std::string& many = "") {
  const std::string plural = many.empty() ? one + "s" : many;
  auto v = Number(j, key);
  if (!v) return "? " + plural;
  const auto n = static_cast<uint64_t>(*v);
  return std::to_string(n) + " " + (n == 1 ? one : plural);
}

std::string Flag(const Json& j, const char* key, const char* yes, const char* no) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_boolean()) return "?";
  return it->get<bool>() ? yes : no;
}

// `message` (at `time`), or "none".
std::string LastError(const Json& j, const char* time_key = nullptr) {
  const std::string m = Field(j, "last_error", "");
  if (m.empty()) return "none";
  const std::string t = time_key ? Field(j, time_key, "") : "";
  return t.empty() ? m : t + "  " + m;
}

std::string Duration(const Json& s) {
  auto it = s.find("media_duration_s");
  if (it == s.end() || !it->is_number()) return "-";
  return FormatDuration(static_cast<int64_t>(it->get<double>() * 1e6));
}

void PrintNode(const Json& r) {
  const Json& log = Object(r, "node_log");
  for (const auto& v : List(log, "split_views"))
    std::printf("ALARM:    split view: %s showed two histories (checkpoint of size %s seen %s: "
                "%s); kept as evidence, see tcd log\n",
                Field(v, "origin").c_str(), Field(v, "size").c_str(), Field(v, "seen").c_str(),
                Field(v, "why").c_str());
  std::printf("node:     %s, point %s, key %s\n", Field(r, "role").c_str(),
              Field(r, "point").c_str(), Field(r, "node_key_id").c_str());
  if (!log.empty())
    std::printf("log:      %s leaves, %s cosigned upstream (%s by the central tier), %s "
                "downstream logs cosigned here\n",
                Field(log, "size", "?").c_str(), Field(log, "upstream_cosigned", "?").c_str(),
                Field(log, "central_cosigned", "?").c_str(),
                Field(log, "downstream_logs", "?").c_str());
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
  // How long a segment takes from its last frame arriving to being durable: the recorder
  // keeps up with its sources while this stays well under the segment length.
  bool header = false;
  for (const auto& s : List(r, "sources")) {
    const Json& lat = Object(s, "commit_latency");
    if (Number(lat, "count").value_or(0) <= 0) continue;
    if (!header)
      std::printf("\ncommit latency (a segment's last frame to durable, last 1024 segments):\n");
    header = true;
    std::printf("  %-16s  p50 %s ms, p99 %s ms, max %s ms over %s\n", Field(s, "name").c_str(),
                Field(lat, "p50_ms").c_str(), Field(lat, "p99_ms").c_str(),
                Field(lat, "max_ms").c_str(), Count(lat, "count", "segment").c_str());
  }
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

// Where this node sends its sessions, and what the next and the central tier hold of them.
void PrintUpstream(const Json& up) {
  std::printf("  upstream:   %s, %s (%s)\n", Field(up, "address").c_str(),
              Flag(up, "connected", "connected", "disconnected").c_str(),
              Count(up, "reconnects", "reconnect").c_str());
  const auto cap = Number(up, "cap_bits_per_second");
  const std::string limit = cap && *cap > 0 ? " of " + Rate(*cap) + " cap" : ", unlimited";
  std::printf("  rate:       %s%s\n", Rate(up, "rate_bits_per_second").c_str(), limit.c_str());
  std::printf("  sent:       %s (%s media, %s); %s waiting for the cap\n",
              Size(up, "bytes_sent").c_str(), Size(up, "chunk_bytes_sent").c_str(),
              Count(up, "entries_sent", "entry", "entries").c_str(),
              Count(up, "fetches_queued", "chunk request").c_str());
  const bool truncated = Flag(up, "outbox_truncated", "y", "n") == "y";
  std::printf("  pending:    %s%s in the outbox: %s not stored upstream, %s of media not held\n",
              Count(up, "outbox_sessions", "session").c_str(), truncated ? " (or more)" : "",
              Count(up, "pending_entries", "entry", "entries").c_str(),
              Size(up, "pending_bytes").c_str());
  std::printf("  held:       next tier %s, central tier %s (of the outbox sessions)\n",
              Count(up, "acked_next_tier_entries", "entry", "entries").c_str(),
              Count(up, "acked_central_entries", "entry", "entries").c_str());
  std::printf("  last error: %s\n", LastError(up, "last_error_time").c_str());
  if (!Field(up, "log_waiting", "").empty())
    std::printf("  node log:   cosigning waits since %s at %s\n",
                Field(up, "log_waiting_since").c_str(), Field(up, "log_waiting").c_str());

  const Json& sessions = List(up, "sessions");
  std::printf("\n  %-36s  %-10s  %7s  %16s  %14s  %12s  %10s\n", "ID", "STATE", "ENTRIES",
              "NEXT TIER STORED", "NEXT TIER HELD", "CENTRAL HELD", "PENDING");
  for (const auto& s : sessions)
    std::printf("  %-36s  %-10s  %7s  %16s  %14s  %12s  %10s\n", Field(s, "id").c_str(),
                Field(s, "state").c_str(), Field(s, "entries").c_str(),
                Field(s, "next_tier_stored").c_str(), Field(s, "next_tier_held").c_str(),
                Field(s, "central_held").c_str(), Size(s, "pending_bytes").c_str());
  if (sessions.empty()) std::printf("  (outbox empty: the central tier holds everything)\n");
  const auto total = Number(up, "outbox_sessions");
  if (total && *total > static_cast<double>(sessions.size()))
    std::printf("  … and %.0f%s more\n", *total - static_cast<double>(sessions.size()),
                truncated ? " (or more)" : "");
}

// The nodes that send to this one (a province's recorders, the central archive's provinces).
void PrintDownstream(const Json& repl) {
  std::printf("  listening:  %s (%s refused)\n", Field(repl, "listen").c_str(),
              Count(repl, "refused_messages", "message").c_str());
  const Json& peers = List(repl, "downstream");
  std::printf("\n  %-16s  %-16s  %-9s  %10s  %6s  %7s  %8s  %6s  %11s  %s\n", "POINT", "KEY",
              "CONNECTED", "RECEIVED", "BLOBS", "ENTRIES", "REJECTED", "WINDOW", "RATE",
              "LAST ERROR");
  for (const auto& p : peers) {
    std::string error = Field(p, "last_error", "");
    if (error.empty()) error = "-";
    std::printf("  %-16s  %-16s  %-9s  %10s  %6s  %7s  %8s  %6s  %11s  %s\n",
                Field(p, "point").c_str(), Field(p, "key_id").c_str(),
                Flag(p, "connected", "yes", "no").c_str(), Size(p, "bytes_received").c_str(),
                Field(p, "blobs_received").c_str(), Field(p, "entries_received").c_str(),
                Field(p, "rejected").c_str(), Field(p, "window").c_str(),
                Rate(p, "rate_bits_per_second").c_str(), error.c_str());
  }
  if (peers.empty()) std::printf("  (no node connected)\n");
}

void PrintRetention(const Json& ret) {
  const auto days = Number(ret, "days");
  char period[48] = "?";
  if (days && *days <= 0) snprintf(period, sizeof period, "keep forever");
  else if (days) snprintf(period, sizeof period, "%g days after central custody", *days);
  std::printf("  retention:  %s; %s evicted, %s freed, %s on hold\n", period,
              Count(ret, "blobs_evicted", "blob").c_str(), Size(ret, "bytes_freed").c_str(),
              Count(ret, "sessions_on_hold", "session").c_str());
  std::printf("  last error: %s\n", LastError(ret).c_str());
}

void PrintReplication(const Json& r) {
  std::printf("\nreplication:\n");
  auto it = r.find("replication");
  if (it == r.end() || !it->is_object()) {
    std::printf("  (none on this node)\n");
    return;
  }
  const Json& repl = *it;
  bool first = true;
  auto section = [&first] {
    if (!first) std::printf("\n");
    first = false;
  };
  if (repl.contains("upstream")) {
    section();
    PrintUpstream(Object(repl, "upstream"));
  } else if (Field(r, "role") == "recorder") {
    section();
    std::printf("  upstream:   none configured (sessions stay on this node)\n");
  }
  if (repl.contains("downstream")) {
    section();
    PrintDownstream(repl);
  }
  if (repl.contains("retention")) {
    section();
    PrintRetention(Object(repl, "retention"));
  }
  if (first) std::printf("  (nothing configured)\n");
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
  PrintReplication(*r);
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
