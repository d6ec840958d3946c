#include "replicate/service.h"

#include <spdlog/spdlog.h>

#include "base/time_format.h"

namespace tcd::replicate {
namespace {

constexpr size_t kStatusSessions = 50;
constexpr size_t kStatusScan = 500;

uint64_t Bps(double mbit) { return static_cast<uint64_t>(mbit * 1e6); }

// Sessions stored before this node had an upstream (or by a version without an outbox) join
// the outbox unless the central tier already holds all of them.
Status FillOutbox(node::Store* store) {
  size_t added = 0;
  TCD_RETURN_IF_ERROR(store->catalog()->ForEachSession([&](const node::SessionRecord& rec) {
    auto repl = store->catalog()->GetRepl(rec.id);
    if (repl.ok() && repl->central_held >= rec.next_seq) return Status::OK();
    ++added;
    return store->catalog()->AddToOutbox(rec.id);
  }));
  if (added) spdlog::info("replication: {} stored session(s) queued for the upstream", added);
  return Status::OK();
}

}  // namespace

BandwidthPolicy PolicyFromConfig(const node::UpstreamConfig& up) {
  BandwidthPolicy p;
  p.default_bits_per_second = Bps(up.max_mbit);
  for (const auto& c : up.caps)
    p.windows.push_back({c.when.days, c.when.start_minute, c.when.end_minute, Bps(c.mbit)});
  return p;
}

Role RoleFromConfig(const std::string& role) {
  if (role == "central") return Role::kCentral;
  if (role == "province") return Role::kProvince;
  return Role::kRecorder;
}

Result<std::unique_ptr<ReplicationService>> ReplicationService::Start(
    const node::NodeConfig& config, node::Store* store, const crypto::NodeIdentity* identity) {
  std::unique_ptr<ReplicationService> s(new ReplicationService());
  s->store_ = store;
  s->recorder_ = config.role == "recorder";
  const Role role = RoleFromConfig(config.role);
  if (!config.listen.empty()) {
    s->allow_ = std::make_unique<AllowList>(store->env(), config.data_dir);
    ReceiverOptions ro;
    ro.listen = config.listen;
    ro.role = role;
    TCD_ASSIGN_OR_RETURN(s->receiver_,
                         Receiver::Start(store, identity, s->allow_.get(), std::move(ro)));
  }
  if (config.has_upstream) {
    TCD_RETURN_IF_ERROR(FillOutbox(store));
    TCD_ASSIGN_OR_RETURN(Bytes text, store->env()->ReadFile(config.upstream.public_key));
    TCD_ASSIGN_OR_RETURN(
        crypto::NodePublic up,
        crypto::DecodeNodePub(std::string_view(AsChars(text)), config.upstream.public_key));
    SenderOptions so;
    so.address = config.upstream.address;
    so.upstream_pk = up.transport_pk;
    so.upstream_sign_pk = up.sign_pk;
    so.role = role;
    so.point = config.point;
    so.bandwidth = PolicyFromConfig(config.upstream);
    TCD_ASSIGN_OR_RETURN(s->sender_, Sender::Start(store, identity, std::move(so)));
  }
  if (s->recorder_) {
    s->retention_us_ = static_cast<int64_t>(config.retention_days * 86400e6);
    s->retention_thread_ = std::thread([p = s.get()] { p->RetentionLoop(); });
  }
  return s;
}

ReplicationService::~ReplicationService() {
  stop_ = true;
  if (retention_thread_.joinable()) retention_thread_.join();
  sender_.reset();
  receiver_.reset();
}

void ReplicationService::Reload(const node::NodeConfig& config) {
  if (sender_ && config.has_upstream) sender_->SetBandwidth(PolicyFromConfig(config.upstream));
  retention_us_ = static_cast<int64_t>(config.retention_days * 86400e6);
}

void ReplicationService::RetentionLoop() {
  Env* env = store_->env();
  int64_t next_us = 0;
  bool sweep = true;
  while (!stop_) {
    env->SleepMicros(200'000);
    const int64_t now = env->MonotonicMicros();
    if (now < next_us) continue;
    const int64_t retention = retention_us_.load();
    // Check often enough that nothing stays much longer than its retention, at most once a minute.
    next_us = now + std::clamp<int64_t>(retention / 4, 1'000'000, 60'000'000);
    auto r = EvictExpired(store_, retention, env->NowMicros(), sweep);
    std::lock_guard<std::mutex> lock(mu_);
    if (!r.ok()) {
      retention_error_ = r.status().message();
      spdlog::error("retention: {}", r.status().ToString());
      continue;
    }
    sweep = false;
    retention_error_.clear();
    retention_total_.blobs_evicted += r->blobs_evicted;
    retention_total_.bytes_freed += r->bytes_freed;
    retention_total_.sessions_on_hold = r->sessions_on_hold;
    retention_total_.sessions_examined = r->sessions_examined;
  }
}

// Per session in the outbox: what the next tier and the central tier hold.
nlohmann::json ReplicationService::UpstreamStatus() {
  SenderStats st = sender_->stats();
  nlohmann::json j = {{"address", st.address},
                      {"connected", st.connected},
                      {"reconnects", st.reconnects},
                      {"bytes_sent", st.bytes_sent},
                      {"chunk_bytes_sent", st.chunk_bytes_sent},
                      {"entries_sent", st.entries_sent},
                      {"fetches_queued", st.fetches_queued},
                      {"cap_bits_per_second", st.cap_bits_per_second},
                      {"rate_bits_per_second", static_cast<uint64_t>(st.rate_bits_per_second)},
                      {"last_error", st.last_error},
                      {"last_error_time", st.last_error_us ? FormatUtc(st.last_error_us) : ""},
                      {"log_waiting", st.log_waiting},
                      {"log_waiting_since",
                       st.log_waiting.empty() ? "" : FormatUtc(st.log_waiting_since_us)}};
  node::Catalog* cat = store_->catalog();
  auto ids = cat->ListOutbox(kStatusScan, std::nullopt);
  uint64_t pending_entries = 0, pending_bytes = 0, acked_next = 0, acked_central = 0;
  nlohmann::json sessions = nlohmann::json::array();
  for (const auto& id : ids.ok() ? *ids : std::vector<crypto::SessionId>{}) {
    auto rec = cat->GetSession(id);
    if (!rec.ok()) continue;
    auto repl_or = cat->GetRepl(id);
    node::ReplRecord repl = repl_or.ok() ? *repl_or : node::ReplRecord{};
    uint64_t bytes = 0;  // media the next tier does not hold yet
    for (uint64_t seq = std::min(repl.up_held, rec->next_seq); seq < rec->next_seq; ++seq) {
      auto cr = cat->GetChainEntry(id, seq);
      if (!cr.ok()) continue;
      auto e = crypto::DecodeEntry(cr->entry);
      if (e.ok()) bytes += e->cipher_size;
    }
    pending_entries += rec->next_seq - std::min(repl.up_stored, rec->next_seq);
    pending_bytes += bytes;
    acked_next += repl.up_held;
    acked_central += repl.central_held;
    if (sessions.size() < kStatusSessions)
      sessions.push_back({{"id", crypto::SessionIdToString(id)},
                          {"state", node::SessionStateName(rec->state)},
                          {"entries", rec->next_seq},
                          {"next_tier_stored", repl.up_stored},
                          {"next_tier_held", repl.up_held},
                          {"central_held", repl.central_held},
                          {"pending_bytes", bytes}});
  }
  j["outbox_sessions"] = ids.ok() ? ids->size() : 0;
  j["outbox_truncated"] = ids.ok() && ids->size() == kStatusScan;
  j["pending_entries"] = pending_entries;
  j["pending_bytes"] = pending_bytes;
  j["acked_next_tier_entries"] = acked_next;
  j["acked_central_entries"] = acked_central;
  j["sessions"] = std::move(sessions);
  return j;
}

nlohmann::json ReplicationService::Status() {
  nlohmann::json j = nlohmann::json::object();
  if (sender_) j["upstream"] = UpstreamStatus();
  if (receiver_) {
    nlohmann::json peers = nlohmann::json::array();
    for (const auto& p : receiver_->stats())
      peers.push_back({{"point", p.point},
                       {"key_id", p.key_id},
                       {"connected", p.connected},
                       {"bytes_received", p.bytes_received},
                       {"blobs_received", p.blobs_received},
                       {"entries_received", p.entries_received},
                       {"rejected", p.rejected},
                       {"window", p.window},
                       {"rate_bits_per_second", static_cast<uint64_t>(p.rate_bits_per_second)},
                       {"last_error", p.last_error}});
    j["listen"] = receiver_->endpoint();
    j["downstream"] = std::move(peers);
    j["refused_messages"] = receiver_->refused_messages();
  }
  if (recorder_) {
    std::lock_guard<std::mutex> lock(mu_);
    j["retention"] = {{"days", retention_us_.load() / 86400e6},
                      {"blobs_evicted", retention_total_.blobs_evicted},
                      {"bytes_freed", retention_total_.bytes_freed},
                      {"sessions_on_hold", retention_total_.sessions_on_hold},
                      {"last_error", retention_error_}};
  }
  return j;
}

}  // namespace tcd::replicate
