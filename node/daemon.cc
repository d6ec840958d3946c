#include "node/daemon.h"

#include <sys/resource.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

#include "base/time_format.h"
#include "node/chain_writer.h"

namespace tcd::node {
namespace {

constexpr size_t kMaxLastErrors = 20;
constexpr rlim_t kOpenFilesWanted = 65536;  // as LimitNOFILE in ops/tcd-node.service

// A province or central archive holds one descriptor per connected downstream node besides its
// own files, so the usual soft limit of 1024 stops it short of 1,000 recorders (swarm_bench:
// the 986th CurveZMQ connection was never accepted). Raise the soft limit towards the hard
// one, as the systemd unit does, so that a node started by hand serves as many.
void RaiseOpenFilesLimit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  const rlim_t want = std::min(rl.rlim_max, kOpenFilesWanted);
  if (rl.rlim_cur >= want) return;
  const rlim_t was = rl.rlim_cur;
  rl.rlim_cur = want;
  if (::setrlimit(RLIMIT_NOFILE, &rl) != 0)
    spdlog::warn("cannot raise the open files limit from {} to {}", was, want);
  else
    spdlog::info("open files limit raised from {} to {}", was, want);
}

}  // namespace

Daemon::Daemon(NodeConfig config, std::unique_ptr<Store> store, crypto::NodeIdentity identity)
    : store_(std::move(store)), identity_(std::move(identity)), config_(std::move(config)) {}

Result<std::unique_ptr<Daemon>> Daemon::Start(NodeConfig config, std::unique_ptr<Store> store,
                                              crypto::NodeIdentity identity,
                                              std::vector<crypto::ArchivePublic> recipients) {
  std::unique_ptr<Daemon> d(new Daemon(std::move(config), std::move(store), std::move(identity)));
  d->recipients_ = std::move(recipients);
  if (d->config_.role != "recorder") RaiseOpenFilesLimit();
  TCD_ASSIGN_OR_RETURN(auto closed, CloseInterruptedSessions(d->store_.get(), d->identity_));
  for (const auto& id : closed)
    d->ReportError("session " + id + " was interrupted by an unclean stop; closed by recovery");
  Daemon* self = d.get();
  TCD_ASSIGN_OR_RETURN(d->control_,
                       ControlServer::Start(d->config_.control_socket,
                                            [self](const nlohmann::json& r) {
                                              return self->Handle(r);
                                            }));
  d->CheckDisk();
  d->StartWorkers();
  spdlog::info("node running: role {}, point '{}', {} source(s), data {}, control {}",
               d->config_.role, d->config_.point, d->config_.sources.size(),
               d->config_.data_dir, d->config_.control_socket);
  return d;
}

Daemon::~Daemon() {
  control_.reset();  // no more requests
  std::lock_guard<std::mutex> lock(workers_mu_);
  for (auto& w : workers_) w->RequestShutdown();  // all seal in parallel…
  for (auto& w : workers_) w->Shutdown();         // …then each is joined
  workers_.clear();
  spdlog::info("node stopped");
}

WorkerContext Daemon::MakeContext() {
  WorkerContext c;
  c.store = store_.get();
  c.identity = &identity_;
  c.recipients = recipients_;
  c.point = config_.point;
  c.segment_seconds = config_.segment_seconds;
  c.grace_seconds = config_.grace_seconds;
  c.max_backoff_seconds = config_.reconnect_max_backoff_seconds;
  c.schedule = config_.schedule;
  c.report_error = [this](const std::string& m) { ReportError(m); };
  c.disk_full = [this] { return disk_full_.load(); };
  return c;
}

void Daemon::StartWorkers() {
  std::lock_guard<std::mutex> wlock(workers_mu_);
  std::lock_guard<std::mutex> lock(mu_);
  if (config_.role != "recorder") return;  // province/central: no capture
  for (const auto& src : config_.sources)
    workers_.push_back(std::make_shared<SourceWorker>(src, MakeContext()));
}

void Daemon::ReportError(const std::string& message) {
  spdlog::error("{}", message);
  std::lock_guard<std::mutex> lock(mu_);
  last_errors_.emplace_back(store_->env()->NowMicros(), message);
  while (last_errors_.size() > kMaxLastErrors) last_errors_.pop_front();
}

void Daemon::CheckDisk() {
  auto free_bytes = store_->env()->FreeBytes(config_.data_dir);
  if (!free_bytes.ok()) return ReportError("disk check: " + free_bytes.status().message());
  uint64_t mb = *free_bytes >> 20;
  free_mb_ = mb;
  std::string state, previous;
  {
    std::lock_guard<std::mutex> lock(mu_);
    store_->set_min_free_bytes(config_.min_free_mb << 20);
    state = mb < config_.min_free_mb ? "full" : mb < config_.warn_free_mb ? "low" : "ok";
    previous = disk_state_;
    disk_state_ = state;
  }
  disk_full_ = state == "full";
  if (state == previous) return;
  if (state == "full")
    ReportError("disk nearly full: " + std::to_string(mb) + " MiB free in " + config_.data_dir +
                ", below min_free_mb; no new session starts and recordings are sealed");
  else if (state == "low")
    spdlog::warn("disk space low: {} MiB free in {} (warn_free_mb {})", mb, config_.data_dir,
                 config_.warn_free_mb);
  else
    spdlog::info("disk space ok again: {} MiB free", mb);
}

void Daemon::Run(const std::atomic<bool>* stop, std::atomic<bool>* reload) {
  int ticks = 0;
  while (!stop->load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (reload->exchange(false)) Reload();
    if (++ticks % 5 != 0) continue;  // once a second
    CheckDisk();
    for (auto& w : Workers()) w->CheckSchedule(std::time(nullptr));
  }
}

std::shared_ptr<SourceWorker> Daemon::FindWorker(const std::string& name) {
  for (auto& w : workers_)
    if (w->config().name == name) return w;
  return nullptr;
}

std::vector<std::shared_ptr<SourceWorker>> Daemon::Workers() {
  std::lock_guard<std::mutex> lock(workers_mu_);
  return workers_;
}

}  // namespace tcd::node
