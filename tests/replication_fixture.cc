#include "tests/replication_fixture.h"

#include <fstream>
#include <random>

#include "crypto/keys.h"
#include "node/session_recorder.h"
#include "node/store.h"
#include "node/verifier.h"

namespace tcd {
using testing::RunTcd;

namespace {

void MustRun(const std::vector<std::string>& args) {
  auto r = RunTcd(args);
  ASSERT_EQ(r.exit_code, 0) << args[0] << ": " << r.err << r.out;
}

}  // namespace

Trio::Trio(const testing::TempDir& dir, const TrioOptions& o) : dir_(dir) {
  setenv("TCD_PWHASH_INTERACTIVE", "1", 1);
  for (const char* n : kNames) MustRun({"keygen", "--kind", "node", "--out", dir_ / n});
  MustRun({"keygen", "--kind", "archive", "--out", dir_ / "archive"});
  if (o.enroll_recorder)
    MustRun({"enroll", "--data", data(kProvince), "--pub", pub(kRecorder), "--point", "xa-01"});
  if (o.enroll_province)
    MustRun({"enroll", "--data", data(kCentral), "--pub", pub(kProvince), "--point", "tinh-01"});
  prov_port_ = testing::FreePort();
  cen_port_ = testing::FreePort();
  rec_link_ = testing::TcpProxy::Start(prov_port_);
  prov_link_ = testing::TcpProxy::Start(cen_port_);
  WriteConfigs(o);
  for (int t = 0; t < 3; ++t) nodes_[t] = std::make_unique<Node>(config(static_cast<Tier>(t)));
}

void Trio::WriteConfigs(const TrioOptions& o) {
  auto common = [&](Tier t, const char* role, const char* point) {
    return std::string("role = \"") + role + "\"\ndata_dir = " + Quote(data(t)) +
           "\nnode_key = " + Quote(dir_ / (std::string(kNames[t]) + "/node.key")) +
           "\npoint = \"" + point + "\"\ncontrol_socket = " +
           Quote(dir_ / (std::string(kNames[t]) + ".sock")) + "\nlog_level = \"info\"\n";
  };
  auto upstream = [&](int port, Tier up, double mbit) {
    return "[upstream]\naddress = \"tcp://127.0.0.1:" + std::to_string(port) +
           "\"\npublic_key = " + Quote(pub(up)) + "\nmax_mbit = " + std::to_string(mbit) + "\n";
  };
  testing::WriteFile(config(kRecorder),
                     common(kRecorder, "recorder", "xa-01") + "recipients = [" +
                         Quote(dir_ / "archive/archive.pub") + "]\n" +
                         upstream(rec_link_->port(), kProvince, o.rec_max_mbit) +
                         "[retention]\ndays = " + std::to_string(o.retention_days) + "\n");
  testing::WriteFile(config(kProvince),
                     common(kProvince, "province", "tinh-01") + "listen = \"tcp://127.0.0.1:" +
                         std::to_string(prov_port_) + "\"\n" +
                         upstream(prov_link_->port(), kCentral, 0));
  testing::WriteFile(config(kCentral), common(kCentral, "central", "trung-uong") +
                                           "listen = \"tcp://127.0.0.1:" +
                                           std::to_string(cen_port_) + "\"\n");
}

std::vector<SyntheticSession> Trio::Record(int sessions, int segments, size_t bytes) {
  std::vector<SyntheticSession> out;
  auto key_text = testing::ReadFile(dir_ / "rec/node.key");
  auto identity = crypto::DecodeNodeKey(key_text, "node.key");
  auto archive = crypto::DecodeArchivePub(testing::ReadFile(dir_ / "archive/archive.pub"), "a");
  EXPECT_TRUE(identity.ok() && archive.ok());
  auto store = node::Store::Open(Env::Default(), data(kRecorder));
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  if (!store.ok() || !identity.ok() || !archive.ok()) return out;
  std::mt19937_64 rng(sessions * 7919 + segments);
  auto random_bytes = [&](size_t n) {
    Bytes b(n);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    return b;
  };
  for (int s = 0; s < sessions; ++s) {
    auto rec = node::SessionRecorder::Start(store->get(), &*identity, {*archive},
                                            {{"point", "xa-01"}, {"note", "synthetic"}});
    EXPECT_TRUE(rec.ok()) << rec.status().ToString();
    if (!rec.ok()) return out;
    EXPECT_TRUE((*rec)->OnInit(0, random_bytes(600), "avc1.64001f").ok());
    const int64_t t0 = Env::Default()->NowMicros();
    for (int i = 0; i < segments; ++i) {
      ingest::MediaSegment seg;
      seg.index = i;
      seg.data = random_bytes(bytes);
      seg.media_start_us = i * 1'000'000;
      seg.duration_us = 1'000'000;
      seg.wall_start_us = t0 + seg.media_start_us;
      EXPECT_TRUE((*rec)->OnSegment(std::move(seg)).ok());
    }
    EXPECT_TRUE((*rec)->Seal(crypto::SealReason::kStopped).ok());
    auto chain = (*store)->catalog()->GetChain((*rec)->id());
    EXPECT_TRUE(chain.ok());
    for (const auto& [seq, cr] : *chain) {
      payload_bytes_ += cr.entry.size() + cr.signature.size();
      auto e = crypto::DecodeEntry(cr.entry);
      if (e.ok()) payload_bytes_ += e->cipher_size;
    }
    out.push_back({crypto::SessionIdToString((*rec)->id()), chain->size()});
  }
  return out;
}

void Trio::Start(Tier t) {
  nodes_[t]->Start();
  ASSERT_TRUE(nodes_[t]->WaitUp()) << nodes_[t]->Log();
}

std::vector<std::string> Trio::CompleteIdsAt(Tier t) {
  std::vector<std::string> ids;
  node::StoreOptions so;
  so.read_only = true;
  auto store = node::Store::Open(Env::Default(), data(t), so);
  if (!store.ok()) return ids;
  auto sessions = (*store)->catalog()->ListSessions();
  if (!sessions.ok()) return ids;
  for (const auto& r : *sessions) {
    if (r.state != node::SessionState::kSealed) continue;
    auto chain = (*store)->catalog()->GetChain(r.id);
    if (!chain.ok() || chain->size() != r.next_seq) continue;
    bool all = true;
    for (const auto& [seq, cr] : *chain) {
      auto e = crypto::DecodeEntry(cr.entry);
      if (!e.ok()) { all = false; break; }
      if ((e->kind == crypto::EntryKind::kInit || e->kind == crypto::EntryKind::kSegment) &&
          !(*store)->blobs()->Exists(e->cipher_hash)) {
        all = false;
        break;
      }
    }
    if (all) ids.push_back(crypto::SessionIdToString(r.id));
  }
  return ids;
}

int Trio::CompleteAt(Tier t) { return static_cast<int>(CompleteIdsAt(t).size()); }

std::string Trio::Logs() {
  std::string s;
  for (int t = 0; t < 3; ++t)
    s += std::string("==== ") + kNames[t] + " ====\n" + nodes_[t]->Log();
  return s;
}

uint64_t RssBytes(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  return 0;
}

}  // namespace tcd
