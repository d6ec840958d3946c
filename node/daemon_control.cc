// Daemon: the control requests and configuration reload.
#include <spdlog/spdlog.h>

#include "base/time_format.h"
#include "node/chain_writer.h"
#include "node/daemon.h"
#include "node/node_log.h"

namespace tcd::node {
namespace {

// This node's log and the split views it has seen (each one an alarm: a downstream node showed
// two histories).
nlohmann::json LogStatus(NodeLogs* logs) {
  if (logs == nullptr) return nullptr;
  nlohmann::json j;
  auto signer = logs->Signer(LogId::Own());
  auto size = logs->Size(LogId::Own());
  auto up = logs->UpstreamSize(LogId::Own());
  auto central = logs->CentralCosignedSize();
  auto down = logs->Downstream();
  auto all = logs->SplitViews();
  j["origin"] = signer.ok() && *signer ? LogOrigin(**signer) : "";
  j["size"] = size.ok() ? *size : 0;
  j["upstream_cosigned"] = up.ok() ? *up : 0;
  j["central_cosigned"] = central.ok() ? *central : 0;
  j["downstream_logs"] = down.ok() ? down->size() : 0;
  for (const Status& s : {signer.status(), size.status(), up.status(), central.status(),
                          down.status(), all.status()})
    if (!s.ok()) j["error"] = s.message();
  nlohmann::json views = nlohmann::json::array();
  if (all.ok())
    for (const auto& v : *all)
      views.push_back({{"origin", LogOrigin(v.signer)}, {"size", v.size},
                       {"seen", FormatUtc(v.seen_us)}, {"why", v.why}});
  j["split_views"] = views;
  return j;
}

constexpr double kStartWaitSeconds = 12.0;  // under the CLI's 15 s control timeout

nlohmann::json Fail(const std::string& error) { return {{"ok", false}, {"error", error}}; }

Result<crypto::Metadata> MetaFrom(const nlohmann::json& req) {
  crypto::Metadata meta;
  if (!req.contains("meta")) return meta;
  const auto& m = req["meta"];
  if (!m.is_array()) return Status::InvalidArgument("'meta' must be a list of [key, value]");
  for (const auto& kv : m) {
    if (!kv.is_array() || kv.size() != 2 || !kv[0].is_string() || !kv[1].is_string())
      return Status::InvalidArgument("'meta' must be a list of [key, value] strings");
    meta.emplace_back(kv[0].get<std::string>(), kv[1].get<std::string>());
  }
  TCD_RETURN_IF_ERROR(ValidateMetadata(meta));
  return meta;
}

std::string StringField(const nlohmann::json& req, const char* key) {
  auto it = req.find(key);
  return it != req.end() && it->is_string() ? it->get<std::string>() : "";
}

bool SameSource(const SourceConfig& a, const SourceConfig& b) {
  return a.name == b.name && a.url == b.url && a.format == b.format &&
         a.audio_url == b.audio_url && a.audio_format == b.audio_format && a.mode == b.mode &&
         a.realtime == b.realtime && a.meta == b.meta;
}

bool SameSchedule(const std::vector<ScheduleWindow>& a, const std::vector<ScheduleWindow>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].days != b[i].days || a[i].start_minute != b[i].start_minute ||
        a[i].end_minute != b[i].end_minute)
      return false;
  return true;
}

// Settings every worker copies at its start: a change restarts (and so seals) all of them.
bool SameRecording(const NodeConfig& a, const NodeConfig& b) {
  return a.point == b.point && a.segment_seconds == b.segment_seconds &&
         a.grace_seconds == b.grace_seconds &&
         a.reconnect_max_backoff_seconds == b.reconnect_max_backoff_seconds &&
         a.recipients == b.recipients && SameSchedule(a.schedule, b.schedule);
}

}  // namespace

nlohmann::json Daemon::Handle(const nlohmann::json& request) {
  const std::string cmd = StringField(request, "cmd");
  if (cmd == "status") return Status();
  if (cmd == "session.start") return SessionStart(request);
  if (cmd == "session.stop") return SessionStop(request);
  if (cmd == "session.annotate") return SessionAnnotate(request);
  if (cmd == "session.hold") return SessionHold(request);
  return Fail("unknown command '" + cmd + "'");
}

nlohmann::json Daemon::Status() {
  nlohmann::json sources = nlohmann::json::array(), open = nlohmann::json::array();
  for (const auto& w : Workers()) {
    sources.push_back(w->StatusJson());
    if (auto s = w->OpenSessionJson()) open.push_back(*s);
  }
  uint64_t stored_sessions = 0, stored_segments = 0;
  (void)store_->catalog()->ForEachSession([&](const SessionRecord& r) {  // as far as readable
    stored_sessions += 1;
    stored_segments += r.segments;
    return tcd::Status::OK();
  });
  std::function<nlohmann::json()> extension_status;
  {
    std::lock_guard<std::mutex> lock(mu_);
    extension_status = extension_.status;
  }
  nlohmann::json replication = extension_status ? extension_status() : nlohmann::json(nullptr);
  std::lock_guard<std::mutex> lock(mu_);
  nlohmann::json errors = nlohmann::json::array();
  for (const auto& [t, m] : last_errors_) errors.push_back({{"time", FormatUtc(t)}, {"message", m}});
  return {{"ok", true},
          {"role", config_.role},
          {"point", config_.point},
          {"node_key_id", crypto::KeyId(identity_.pub.sign_pk)},
          {"data_dir", config_.data_dir},
          {"disk", {{"free_mb", free_mb_.load()}, {"warn_free_mb", config_.warn_free_mb},
                    {"min_free_mb", config_.min_free_mb}, {"state", disk_state_}}},
          {"sources", sources},
          {"open_sessions", open},
          {"stored", {{"sessions", stored_sessions}, {"segments", stored_segments}}},
          {"replication", replication},
          {"node_log", LogStatus(store_->catalog()->logs())},
          {"last_errors", errors}};
}

// {"cmd":"session.hold","session":ID,"hold":true|false}: an evidence hold keeps every blob of
// the session on this node whatever the retention.
nlohmann::json Daemon::SessionHold(const nlohmann::json& req) {
  auto id = store_->ResolveSession(StringField(req, "session"));
  if (!id.ok()) return Fail(id.status().message());
  if (auto rec = store_->catalog()->GetSession(*id); !rec.ok()) return Fail(rec.status().message());
  const bool hold = !req.contains("hold") || !req["hold"].is_boolean() || req["hold"].get<bool>();
  uint64_t evicted_below = 0;
  std::lock_guard<std::mutex> lock(store_->retention_mu());
  tcd::Status s = store_->catalog()->UpdateRepl(
      *id,
      [&](ReplRecord* r) {
        r->hold = hold;
        evicted_below = r->evicted_below;
      },
      true);
  if (!s.ok()) return Fail(s.message());
  spdlog::info("session {}: evidence hold {}", crypto::SessionIdToString(*id),
               hold ? "placed" : "released");
  // Media below evicted_below already left this node (held by the central archive).
  return {{"ok", true}, {"session", crypto::SessionIdToString(*id)}, {"hold", hold},
          {"evicted_below", evicted_below}};
}

nlohmann::json Daemon::SessionStart(const nlohmann::json& req) {
  auto meta = MetaFrom(req);
  if (!meta.ok()) return Fail(meta.status().message());
  auto workers = Workers();
  if (workers.empty()) return Fail("this node has no sources configured");
  std::string name = StringField(req, "source");
  std::shared_ptr<SourceWorker> w;
  if (!name.empty()) {
    for (const auto& x : workers)
      if (x->config().name == name) w = x;
    if (!w) return Fail("no source named '" + name + "'");
  } else if (workers.size() == 1) {
    w = workers[0];
  } else {
    std::string names;
    for (const auto& x : workers) names += (names.empty() ? "" : ", ") + x->config().name;
    return Fail("several sources are configured: name one with --source (" + names + ")");
  }
  auto id = w->StartSession(*meta, kStartWaitSeconds);  // blocks; no daemon lock held
  if (!id.ok()) return Fail(id.status().message());
  return {{"ok", true}, {"session", *id}};
}

nlohmann::json Daemon::SessionStop(const nlohmann::json& req) {
  const std::string name = StringField(req, "source"), sid = StringField(req, "session");
  std::vector<std::shared_ptr<SourceWorker>> chosen;
  bool named_found = name.empty();
  for (const auto& w : Workers()) {
    if (!name.empty() && w->config().name != name) continue;
    named_found = true;
    auto open = w->OpenSessionJson();
    if (!open) continue;  // nothing to stop: an idle source is not paused
    if (!sid.empty() && (*open)["id"].get<std::string>().rfind(sid, 0) != 0) continue;
    chosen.push_back(w);
  }
  if (!named_found) return Fail("no source named '" + name + "'");
  for (const auto& w : chosen) w->RequestStop();  // all seal in parallel
  nlohmann::json sealed = nlohmann::json::array();
  for (const auto& w : chosen) {
    auto id = w->WaitStopped();
    if (id.ok()) sealed.push_back(*id);
    else if (!id.status().IsNotFound()) return Fail(id.status().message());
  }
  if (!sid.empty() && sealed.empty()) return Fail("no open session " + sid);
  return {{"ok", true}, {"sealed", sealed}};
}

nlohmann::json Daemon::SessionAnnotate(const nlohmann::json& req) {
  auto meta = MetaFrom(req);
  if (!meta.ok()) return Fail(meta.status().message());
  if (meta->empty()) return Fail("an annotation needs at least one KEY=VALUE");
  auto id = store_->ResolveSession(StringField(req, "session"));
  if (!id.ok()) return Fail(id.status().message());
  for (const auto& w : Workers()) {
    auto seq = w->AnnotateIfOpen(*id, *meta);
    if (!seq.ok()) return Fail(seq.status().message());
    if (seq->has_value()) return {{"ok", true}, {"seq", **seq}};
  }
  std::lock_guard<std::mutex> lock(annotate_mu_);
  // While the node runs, a session still "recording" in the catalog belongs to a worker that
  // is just opening or closing it: appending here could take the seq its recorder is about
  // to use.
  auto rec = store_->catalog()->GetSession(*id);
  if (rec.ok() && rec->state == SessionState::kRecording)
    return Fail("session " + crypto::SessionIdToString(*id) +
                " is being opened or closed by its recorder right now; retry in a moment");
  auto seq = AnnotateStoredSession(store_.get(), identity_, *id, *meta);
  if (!seq.ok()) return Fail(seq.status().message());
  spdlog::info("session {} annotated (seq {})", crypto::SessionIdToString(*id), *seq);
  return {{"ok", true}, {"seq", *seq}};
}

void Daemon::SetExtension(Extension e) {
  std::lock_guard<std::mutex> lock(mu_);
  extension_ = std::move(e);
}

void Daemon::Reload() {
  std::string path;
  {
    std::lock_guard<std::mutex> lock(mu_);
    path = config_.path;
  }
  spdlog::info("reloading configuration {}", path);
  auto next = LoadConfig(path);
  if (!next.ok())
    return ReportError("reload refused, keeping the running configuration: " +
                       next.status().message());
  std::vector<crypto::ArchivePublic> recipients;
  for (const auto& p : next->recipients) {
    auto text = store_->env()->ReadFile(p);
    auto pub = text.ok() ? crypto::DecodeArchivePub(AsChars(*text), p)
                         : Result<crypto::ArchivePublic>(text.status());
    if (!pub.ok())
      return ReportError("reload refused, keeping the running configuration: " +
                         pub.status().message());
    recipients.push_back(*pub);
  }
  std::lock_guard<std::mutex> wlock(workers_mu_);
  std::vector<std::shared_ptr<SourceWorker>> keep, gone;
  bool restart_all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (next->data_dir != config_.data_dir || next->node_key != config_.node_key ||
        next->control_socket != config_.control_socket || next->role != config_.role)
      spdlog::warn("reload: role, data_dir, node_key and control_socket change only at a "
                   "restart; keeping the running values");
    next->data_dir = config_.data_dir;
    next->node_key = config_.node_key;
    next->control_socket = config_.control_socket;
    next->role = config_.role;
    restart_all = !SameRecording(config_, *next);
    config_ = std::move(next).value();
    recipients_ = std::move(recipients);
  }
  for (auto& w : workers_) {
    const SourceConfig* now = nullptr;
    for (const auto& s : config_.sources)
      if (s.name == w->config().name) now = &s;
    if (!restart_all && now && SameSource(*now, w->config())) {
      w->Unpause();  // a reload also resumes a source stopped by hand
      keep.push_back(std::move(w));
    } else {
      w->RequestShutdown();  // seals its session: the new settings apply to the next one
      gone.push_back(std::move(w));
    }
  }
  for (auto& w : gone) w->Shutdown();
  workers_ = std::move(keep);
  std::lock_guard<std::mutex> lock(mu_);
  if (extension_.reload) extension_.reload(config_);
  if (config_.role != "recorder") return;
  for (const auto& s : config_.sources)
    if (!FindWorker(s.name)) workers_.push_back(std::make_shared<SourceWorker>(s, MakeContext()));
  spdlog::info("configuration reloaded: {} source(s)", workers_.size());
}

}  // namespace tcd::node
