// Daemon: `tcd node` — a node running unattended. For a recorder it runs one SourceWorker per
// configured source (automatic, scheduled or manual capture), watches free disk space (warns
// below [disk].warn_free_mb, starts no new session below min_free_mb; a recording in progress
// is sealed cleanly when the store refuses media), serves the local control socket
// (`tcd status`, `tcd session start|stop|annotate`) and reloads its configuration on request.
// On start it closes sessions that an unclean stop left unsealed with a signed recovery note.
//
// Thread-safety: Run() on one thread; the control socket is served on its own thread.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/keys.h"
#include "node/config.h"
#include "node/control.h"
#include "node/source_worker.h"
#include "node/store.h"

namespace tcd::node {

class Daemon {
 public:
  // Takes ownership of the opened store and the node identity. Fails when the control socket
  // cannot be served (another node running on it) or recovery cannot close a session.
  static Result<std::unique_ptr<Daemon>> Start(NodeConfig config, std::unique_ptr<Store> store,
                                               crypto::NodeIdentity identity,
                                               std::vector<crypto::ArchivePublic> recipients);
  ~Daemon();  // stops the workers (sealing open sessions) and the control server

  // Runs until *stop becomes true; reloads the configuration file whenever *reload is set.
  void Run(const std::atomic<bool>* stop, std::atomic<bool>* reload);

  nlohmann::json Handle(const nlohmann::json& request);  // one control request

  // What another module adds to the node (replication): its part of `status` (under
  // "replication") and what it does on a configuration reload. Set before Run().
  struct Extension {
    std::function<nlohmann::json()> status;
    std::function<void(const NodeConfig&)> reload;
  };
  void SetExtension(Extension e);

 private:
  Daemon(NodeConfig config, std::unique_ptr<Store> store, crypto::NodeIdentity identity);
  WorkerContext MakeContext();  // REQUIRES: mu_ held
  void StartWorkers();
  void CheckDisk();
  void Reload();
  void ReportError(const std::string& message);
  std::shared_ptr<SourceWorker> FindWorker(const std::string& name);  // REQUIRES: workers_mu_
  std::vector<std::shared_ptr<SourceWorker>> Workers();  // a copy, taken under workers_mu_

  nlohmann::json Status();
  nlohmann::json SessionStart(const nlohmann::json& req);
  nlohmann::json SessionStop(const nlohmann::json& req);
  nlohmann::json SessionAnnotate(const nlohmann::json& req);
  nlohmann::json SessionHold(const nlohmann::json& req);

  std::unique_ptr<Store> store_;
  const crypto::NodeIdentity identity_;
  mutable std::mutex mu_;  // never held while calling a worker
  NodeConfig config_;                                          // GUARDED_BY(mu_)
  std::vector<crypto::ArchivePublic> recipients_;              // GUARDED_BY(mu_)
  std::string disk_state_ = "ok";                              // GUARDED_BY(mu_)
  std::deque<std::pair<int64_t, std::string>> last_errors_;  // GUARDED_BY(mu_)
  std::atomic<bool> disk_full_{false};
  std::atomic<uint64_t> free_mb_{0};
  std::mutex workers_mu_;  // held while a control request or Reload works on the workers
  // Shared so that a control request can use a worker without holding workers_mu_ while it
  // blocks (a start waits for the source, a stop for the seal).
  std::vector<std::shared_ptr<SourceWorker>> workers_;  // GUARDED_BY(workers_mu_)
  std::mutex annotate_mu_;  // serializes annotations of sessions no worker holds
  std::unique_ptr<ControlServer> control_;
  Extension extension_;  // GUARDED_BY(mu_)
};

}  // namespace tcd::node
