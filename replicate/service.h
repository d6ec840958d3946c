// ReplicationService: what `tcd node` runs for replication, built from the node's config —
// a Receiver when the node listens (province, central), a Sender when it has an [upstream]
// (recorder, province), and retention on a recorder. It answers the "replication" part of
// `tcd status`.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "crypto/keys.h"
#include "node/config.h"
#include "node/store.h"
#include "replicate/enrollment.h"
#include "replicate/receiver.h"
#include "replicate/retention.h"
#include "replicate/sender.h"

namespace tcd::replicate {

// The config's caps as a policy (Mbit/s → bit/s).
BandwidthPolicy PolicyFromConfig(const node::UpstreamConfig& up);
Role RoleFromConfig(const std::string& role);

class ReplicationService {
 public:
  // Fails (naming the file or address) when the upstream key cannot be read or the listen
  // address cannot be bound. REQUIRES: store and identity outlive the service.
  static Result<std::unique_ptr<ReplicationService>> Start(const node::NodeConfig& config,
                                                           node::Store* store,
                                                           const crypto::NodeIdentity* identity);
  ~ReplicationService();

  nlohmann::json Status();
  void Reload(const node::NodeConfig& config);  // bandwidth caps and retention
  std::string listen_endpoint() const { return receiver_ ? receiver_->endpoint() : ""; }

 private:
  ReplicationService() = default;
  void RetentionLoop();
  nlohmann::json UpstreamStatus();

  node::Store* store_ = nullptr;
  std::unique_ptr<AllowList> allow_;
  std::unique_ptr<Receiver> receiver_;
  std::unique_ptr<Sender> sender_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> retention_us_{0};
  bool recorder_ = false;
  std::mutex mu_;
  RetentionReport retention_total_;  // GUARDED_BY(mu_)
  std::string retention_error_;      // GUARDED_BY(mu_)
  std::thread retention_thread_;
};

}  // namespace tcd::replicate
