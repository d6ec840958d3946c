// tcd node --config FILE: runs a node in the foreground (systemd runs it as a service).
// Exit codes: 0 clean stop, 78 bad configuration or keys (EX_CONFIG), 73 data directory
// unusable (EX_CANTCREAT), 1 other failures; started as `tcd node`, 69 when tcd-capture is
// missing or from another build (tools/cli.h, HandOverCapture). systemd's unit does not restart
// on 78, 73 and 69: retrying cannot fix them, and a crash loop would only fill the journal.
#include <signal.h>

#include <atomic>
#include <iostream>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "node/daemon.h"
#include "replicate/service.h"
#include "tools/cli.h"

namespace tcd::tools {
namespace {

constexpr int kExitConfig = 78;
constexpr int kExitCantCreate = 73;

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};

void OnStop(int) { g_stop.store(true); }
void OnHup(int) { g_reload.store(true); }

void InstallSignalHandlers() {
  struct sigaction sa = {};
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = OnStop;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sa.sa_handler = OnHup;
  sigaction(SIGHUP, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

struct NodeOptions {
  std::string config;
};

int RunNode(const NodeOptions& o) {
  auto logger = spdlog::stdout_logger_mt("tcd-node");  // journald reads standard output
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v");
  spdlog::set_default_logger(logger);
  auto config = node::LoadConfig(o.config);
  if (!config.ok()) return ReportError(config.status(), kExitConfig);
  spdlog::set_level(spdlog::level::from_str(config->log_level));
  Status init = crypto::InitCrypto();
  if (!init.ok()) return ReportError(init);
  auto identity = LoadNodeKey(config->node_key);
  if (!identity.ok()) return ReportError(identity.status().WithContext("node_key"), kExitConfig);
  std::vector<crypto::ArchivePublic> recipients;
  for (const auto& path : config->recipients) {
    auto pub = LoadArchivePub(path);
    if (!pub.ok()) return ReportError(pub.status().WithContext("recipients"), kExitConfig);
    recipients.push_back(*pub);
  }
  node::StoreOptions so;
  so.min_free_bytes = config->min_free_mb << 20;
  so.track_outbox = config->role != "central";  // what has to travel upstream
  so.role = config->role;                        // so that `tcd search` knows where it runs
  auto store = node::Store::Open(Env::Default(), config->data_dir, so);
  if (!store.ok()) {
    const Status& s = store.status();
    // A corrupt catalog, or recovery refusing to touch blobs it cannot account for, needs a
    // person as much as a permission problem does: restarting would only repeat the refusal.
    bool unusable = s.IsPermission() || s.IsIOError() || s.IsNoSpace() || s.IsNotFound() ||
                    s.IsCorruption();
    return ReportError(s.WithContext("data_dir " + config->data_dir),
                       unusable ? kExitCantCreate : kExitFailed);
  }
  InstallSignalHandlers();
  const node::NodeConfig cfg = *config;
  node::Store* store_ptr = store->get();
  // Replication uses its own copy of the identity (the daemon takes ownership of its own).
  auto repl_identity = LoadNodeKey(cfg.node_key);
  if (!repl_identity.ok()) return ReportError(repl_identity.status(), kExitConfig);
  auto daemon = node::Daemon::Start(std::move(config).value(), std::move(store).value(),
                                    std::move(identity).value(), std::move(recipients));
  if (!daemon.ok()) return ReportError(daemon.status());
  auto replication = replicate::ReplicationService::Start(cfg, store_ptr, &*repl_identity);
  if (!replication.ok()) {
    const Status& s = replication.status();
    daemon->reset();
    return ReportError(s.WithContext("replication"), s.IsNotFound() || s.IsInvalidArgument() ||
                                                             s.IsCorruption()
                                                         ? kExitConfig
                                                         : kExitFailed);
  }
  // Shared with the control thread: a `tcd status` answered during shutdown keeps the service
  // alive until it returns (the daemon, and with it the store, goes last).
  std::shared_ptr<replicate::ReplicationService> service = std::move(*replication);
  (*daemon)->SetExtension({[service] { return service->Status(); },
                           [service](const node::NodeConfig& c) { service->Reload(c); }});
  (*daemon)->Run(&g_stop, &g_reload);
  spdlog::info("stopping: sealing open sessions");
  (*daemon)->SetExtension({});
  service.reset();
  daemon->reset();
  return kExitOk;
}

}  // namespace

Command AddNode(CLI::App& root) {
  auto o = std::make_shared<NodeOptions>();
  CLI::App* app = root.add_subcommand("node", kNodeSummary);
  app->add_option("--config", o->config, "TOML configuration (see ops/recorder.example.toml)")
      ->required();
  return {app, [o] { return RunNode(*o); }};
}

}  // namespace tcd::tools
