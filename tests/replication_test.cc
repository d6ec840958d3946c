// Replication across three real nodes (DESIGN.md §5): convergence through cut links, what a
// kill -9 keeps, resumption, refusals, the bandwidth cap, a long backlog and retention.
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <gtest/gtest.h>

#include "node/catalog.h"
#include "node/store.h"
#include "tests/replication_fixture.h"

namespace tcd {
namespace {

using testing::RunTcd;
using testing::TempDir;
using Tier = Trio::Tier;

nlohmann::json UpstreamSession(Node& n, const std::string& id) {
  auto st = n.Status();
  if (st.is_null()) return nullptr;
  for (const auto& s : st["replication"]["upstream"]["sessions"])
    if (s.value("id", "") == id) return s;
  return nullptr;
}

// The blob files of an archive (not temp files, not quarantined ones).
std::vector<std::string> BlobFiles(const std::string& data) {
  std::vector<std::string> out;
  namespace fs = std::filesystem;
  for (fs::recursive_directory_iterator it(data + "/blobs"), end; it != end; ++it) {
    const std::string parent = it->path().parent_path().filename().string();
    if (it->is_regular_file() && it->path().filename().string().size() == 64 &&
        parent != "tmp" && parent != "quarantine")
      out.push_back(it->path().string());
  }
  return out;
}

TEST(ReplicationTest, TwentySessionsConvergeAtCentralThroughCutLinks) {
  TempDir dir;
  TrioOptions o;
  o.rec_max_mbit = 12;  // several seconds of transfer, so the cuts land mid-stream
  Trio trio(dir, o);
  auto sessions = trio.Record(20, 4, 120 * 1024);
  ASSERT_EQ(sessions.size(), 20u);
  trio.rec_link().StartRandomCuts(300, 1200, 42);
  trio.prov_link().StartRandomCuts(300, 1200, 43);
  trio.Start(Tier::kCentral);
  trio.Start(Tier::kProvince);
  trio.Start(Tier::kRecorder);
  const bool converged = Poll(120, [&] { return trio.CompleteAt(Tier::kCentral) == 20; });
  trio.rec_link().StopRandomCuts();
  trio.prov_link().StopRandomCuts();
  ASSERT_TRUE(converged) << trio.CompleteAt(Tier::kCentral) << " of 20 at central\n"
                         << trio.Logs();
  EXPECT_GE(trio.rec_link().cuts(), 3) << "the commune link must actually have been cut";
  EXPECT_GE(trio.prov_link().cuts(), 3) << "the province link must actually have been cut";
  auto v = RunTcd({"verify", "--data", trio.data(Tier::kCentral), "--signer",
                   trio.pub(Tier::kRecorder)});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  EXPECT_NE(v.out.find("20 session(s) checked, 0 failed"), std::string::npos) << v.out;
  // Nothing already received is sent again: the recorder's bytes on the wire (CurveZMQ and
  // protocol framing included) stay within 5% of what it had to send.
  const double ratio = double(trio.rec_link().bytes_up()) / trio.payload_bytes();
  std::cout << "[ measure ] recorder sent " << trio.rec_link().bytes_up() << " bytes for "
            << trio.payload_bytes() << " payload bytes (ratio " << ratio << ") through "
            << trio.rec_link().cuts() << " cuts" << std::endl;
  EXPECT_LE(ratio, 1.05);
  // The central tier's acknowledgments travel back to the recorder.
  EXPECT_TRUE(Poll(30, [&] {
    auto st = trio.node(Tier::kRecorder).Status();
    return !st.is_null() && st["replication"]["upstream"]["outbox_sessions"] == 0;
  })) << trio.node(Tier::kRecorder).Status().dump(1);
}

TEST(ReplicationTest, ProvinceKilledRightAfterAnAckKeepsTheSegment) {
  TempDir dir;
  TrioOptions o;
  o.rec_max_mbit = 4;
  Trio trio(dir, o);
  auto sessions = trio.Record(1, 8, 200 * 1024);
  trio.Start(Tier::kProvince);
  trio.Start(Tier::kRecorder);
  uint64_t acked = 0;
  ASSERT_TRUE(Poll(60, [&] {
    auto s = UpstreamSession(trio.node(Tier::kRecorder), sessions[0].id);
    if (s.is_null()) return false;
    acked = s.value("next_tier_held", 0);
    return acked >= 4;  // open, init and at least two segments acknowledged as held
  })) << trio.Logs();
  trio.node(Tier::kProvince).Kill();  // kill -9 right after the acknowledgment
  trio.Start(Tier::kProvince);
  // Everything acknowledged is there after the restart, blobs included.
  node::StoreOptions so;
  so.read_only = true;
  {
    auto store = node::Store::Open(Env::Default(), trio.data(Tier::kProvince), so);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto id = crypto::SessionIdFromString(sessions[0].id);
    ASSERT_TRUE(id.ok());
    auto chain = (*store)->catalog()->GetChain(*id);
    ASSERT_TRUE(chain.ok());
    ASSERT_GE(chain->size(), acked);
    for (uint64_t seq = 0; seq < acked; ++seq) {
      auto e = crypto::DecodeEntry((*chain)[seq].second.entry);
      ASSERT_TRUE(e.ok());
      if (e->kind == crypto::EntryKind::kSegment || e->kind == crypto::EntryKind::kInit) {
        EXPECT_TRUE((*store)->blobs()->Exists(e->cipher_hash)) << "seq " << seq;
      }
    }
  }
  EXPECT_TRUE(Poll(60, [&] { return trio.CompleteAt(Tier::kProvince) == 1; })) << trio.Logs();
  auto v = RunTcd({"verify", "--data", trio.data(Tier::kProvince)});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
}

TEST(ReplicationTest, RecorderKilledMidTransferResumesAtTheStoredOffset) {
  TempDir dir;
  TrioOptions o;
  o.rec_max_mbit = 8;  // one 6 MB segment: about 6 s
  Trio trio(dir, o);
  auto sessions = trio.Record(1, 1, 6 * 1024 * 1024);
  trio.Start(Tier::kProvince);
  trio.Start(Tier::kRecorder);
  ASSERT_TRUE(Poll(30, [&] { return trio.rec_link().bytes_up() > 2'500'000; })) << trio.Logs();
  trio.node(Tier::kRecorder).Kill();
  const uint64_t before = trio.rec_link().bytes_up();
  EXPECT_LT(before, trio.payload_bytes()) << "killed too late to test resumption";
  trio.Start(Tier::kRecorder);
  ASSERT_TRUE(Poll(60, [&] { return trio.CompleteAt(Tier::kProvince) == 1; })) << trio.Logs();
  // Restarting from byte 0 would cost `before` again; resuming costs only what was lost in
  // flight when the process died.
  const double ratio = double(trio.rec_link().bytes_up()) / trio.payload_bytes();
  std::cout << "[ measure ] killed after " << before << " bytes; total sent "
            << trio.rec_link().bytes_up() << " for " << trio.payload_bytes() << " (ratio "
            << ratio << ")" << std::endl;
  EXPECT_LE(ratio, 1.10);
  auto v = RunTcd({"verify", "--data", trio.data(Tier::kProvince)});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
}

TEST(ReplicationTest, CreditWindowGrowsToTheBandwidthDelayProduct) {
  TempDir dir;
  Trio trio(dir, {});
  trio.Record(1, 4, 2 * 1024 * 1024);
  trio.rec_link().SetDelayMs(60);  // 120 ms round trip: 4 chunks in flight would idle the link
  trio.Start(Tier::kProvince);
  trio.Start(Tier::kRecorder);
  uint32_t max_window = 0;
  const bool done = Poll(60, [&] {
    auto st = trio.node(Tier::kProvince).Status();
    if (!st.is_null())
      for (const auto& p : st["replication"]["downstream"])
        max_window = std::max<uint32_t>(max_window, p.value("window", 0u));
    return trio.CompleteAt(Tier::kProvince) == 1;
  });
  ASSERT_TRUE(done) << trio.Logs();
  std::cout << "[ measure ] largest credit window at 120 ms RTT: " << max_window << " chunks"
            << std::endl;
  EXPECT_GT(max_window, 4u) << "the window never grew beyond its minimum";
}

TEST(ReplicationTest, UnknownKeyIsRefusedAndNothingStored) {
  TempDir dir;
  TrioOptions o;
  o.enroll_recorder = false;
  Trio trio(dir, o);
  trio.Record(1, 2, 10000);
  trio.Start(Tier::kProvince);
  trio.Start(Tier::kRecorder);
  EXPECT_TRUE(Poll(15, [&] {
    return trio.node(Tier::kProvince).CurrentLog().find("not enrolled") != std::string::npos;
  })) << trio.Logs();
  EXPECT_TRUE(Poll(15, [&] {
    auto st = trio.node(Tier::kRecorder).Status();
    return !st.is_null() && st["replication"]["upstream"]["last_error"].get<std::string>().find(
                                "refused this node's key") != std::string::npos;
  })) << trio.node(Tier::kRecorder).Status().dump(1);
  EXPECT_EQ(trio.CompleteAt(Tier::kProvince), 0);
  auto s = RunTcd({"sessions", "--data", trio.data(Tier::kProvince), "--json"});
  EXPECT_EQ(nlohmann::json::parse(s.out, nullptr, false).size(), 0u) << s.out;
}

TEST(ReplicationTest, RevokedKeyIsRefusedEvenOnALiveLink) {
  TempDir dir;
  TrioOptions o;
  o.rec_max_mbit = 1;  // slow enough to revoke mid-transfer
  Trio trio(dir, o);
  trio.Record(3, 4, 100 * 1024);
  trio.Start(Tier::kProvince);
  trio.Start(Tier::kRecorder);
  ASSERT_TRUE(Poll(30, [&] { return trio.rec_link().bytes_up() > 50'000; })) << trio.Logs();
  auto r = RunTcd({"enroll", "--data", trio.data(Tier::kProvince), "--revoke", "--pub",
                   trio.pub(Tier::kRecorder)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Poll(15, [&] {
    return trio.node(Tier::kProvince).CurrentLog().find("revoked") != std::string::npos;
  })) << trio.Logs();
  Sleep(1.5);
  const int complete = trio.CompleteAt(Tier::kProvince);
  const uint64_t received = trio.rec_link().bytes_up();
  Sleep(4);
  EXPECT_LT(trio.rec_link().bytes_up() - received, 60'000u)
      << "a revoked node keeps sending media";
  EXPECT_EQ(trio.CompleteAt(Tier::kProvince), complete);
  EXPECT_LT(complete, 3);
}

TEST(ReplicationTest, ForgedSignatureIsRefusedWithTheReasonAndNothingStored) {
  TempDir dir;
  Trio trio(dir, {});
  auto sessions = trio.Record(1, 3, 10000);
  {
    auto store = node::Store::Open(Env::Default(), trio.data(Tier::kRecorder));
    ASSERT_TRUE(store.ok());
    auto id = crypto::SessionIdFromString(sessions[0].id);
    auto chain = (*store)->catalog()->GetChain(*id);
    ASSERT_TRUE(chain.ok());
    node::ChainRecord cr = (*chain)[2].second;
    cr.signature[10] ^= 0x01;
    ASSERT_TRUE((*store)->catalog()->RawPutChain(*id, 2, node::EncodeChainRecord(cr)).ok());
  }
  trio.Start(Tier::kProvince);
  trio.Start(Tier::kRecorder);
  EXPECT_TRUE(Poll(15, [&] {
    return trio.node(Tier::kProvince).CurrentLog().find("seq 2: bad-signature") !=
           std::string::npos;
  })) << trio.Logs();
  EXPECT_TRUE(Poll(10, [&] {
    auto st = trio.node(Tier::kRecorder).Status();
    return !st.is_null() && st["replication"]["upstream"]["last_error"].get<std::string>().find(
                                "bad-signature") != std::string::npos;
  }));
  auto s = RunTcd({"sessions", "--data", trio.data(Tier::kProvince), "--json"});
  EXPECT_EQ(nlohmann::json::parse(s.out, nullptr, false).size(), 0u) << s.out;
  // The recorder's node log cannot be cosigned past the refused session's first entry, and its
  // status says where it waits.
  EXPECT_TRUE(Poll(10, [&] {
    auto st = trio.node(Tier::kRecorder).Status();
    return !st.is_null() && st["replication"]["upstream"].value("log_waiting", "") ==
                                "leaf 0: session " + sessions[0].id + " seq 0 is not stored "
                                "upstream yet";
  })) << trio.node(Tier::kRecorder).Status().dump(1);
  auto text = RunTcd({"status", "--config", trio.config(Tier::kRecorder)});
  EXPECT_NE(text.out.find("node log:   cosigning waits since "), std::string::npos) << text.out;
}

TEST(ReplicationTest, ABlobDamagedAtTheSenderIsQuarantinedNotSent) {
  TempDir dir;
  Trio trio(dir, {});
  trio.Record(1, 3, 50000);
  auto blobs = BlobFiles(trio.data(Tier::kRecorder));
  ASSERT_EQ(blobs.size(), 4u);
  std::sort(blobs.begin(), blobs.end());
  {
    std::fstream f(blobs[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(100);
    char c = 0;
    f.read(&c, 1);
    c ^= 0x01;
    f.seekp(100);
    f.write(&c, 1);
  }
  trio.Start(Tier::kProvince);
  trio.Start(Tier::kRecorder);
  EXPECT_TRUE(Poll(20, [&] {
    auto st = trio.node(Tier::kRecorder).Status();
    return !st.is_null() && st["replication"]["upstream"]["last_error"].get<std::string>().find(
                                "damaged on this node's disk") != std::string::npos;
  })) << trio.Logs();
  // The other blobs arrive; the damaged one is neither sent nor accepted.
  Sleep(2);
  EXPECT_EQ(trio.CompleteAt(Tier::kProvince), 0);
  EXPECT_EQ(BlobFiles(trio.data(Tier::kProvince)).size(), 3u);
  EXPECT_FALSE(std::filesystem::exists(blobs[0])) << "not quarantined";
}

TEST(ReplicationTest, BandwidthCapHoldsOverThirtySeconds) {
  TempDir dir;
  TrioOptions o;
  o.rec_max_mbit = 2;
  Trio trio(dir, o);
  trio.Record(1, 12, 1024 * 1024);  // 12 MB: more than 30 s at 2 Mbit/s
  trio.Start(Tier::kProvince);
  trio.Start(Tier::kRecorder);
  ASSERT_TRUE(Poll(20, [&] { return trio.rec_link().bytes_up() > 200'000; })) << trio.Logs();
  Sleep(2);
  const uint64_t b0 = trio.rec_link().bytes_up();
  const auto t0 = std::chrono::steady_clock::now();
  Sleep(30);
  const uint64_t b1 = trio.rec_link().bytes_up();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double mbit = (b1 - b0) * 8 / secs / 1e6;
  std::cout << "[ measure ] " << (b1 - b0) << " bytes in " << secs << " s = " << mbit
            << " Mbit/s on the wire against a 2 Mbit/s cap" << std::endl;
  EXPECT_NEAR(mbit, 2.0, 0.2);
  EXPECT_EQ(trio.CompleteAt(Tier::kProvince), 0) << "the backlog must outlast the window";
}

#ifdef __SANITIZE_ADDRESS__
// AddressSanitizer's shadow memory and its 256 MiB quarantine of freed blocks come on top.
constexpr uint64_t kRssBound = 900ull << 20;
#else
constexpr uint64_t kRssBound = 150ull << 20;
#endif

TEST(ReplicationTest, AWeekOfBacklogDrainsInOrderWithBoundedMemory) {
  TempDir dir;
  Trio trio(dir, {});
  auto sessions = trio.Record(300, 3, 20 * 1024);  // ~40 sessions a day for a week
  std::vector<std::string> order;
  for (const auto& s : sessions) order.push_back(s.id);
  std::sort(order.begin(), order.end());
  trio.Start(Tier::kCentral);
  trio.Start(Tier::kProvince);
  trio.Start(Tier::kRecorder);
  uint64_t peak_rec = 0, peak_prov = 0;
  int out_of_order = 0;
  const bool drained = Poll(240, [&] {
    peak_rec = std::max(peak_rec, RssBytes(trio.node(Tier::kRecorder).pid()));
    peak_prov = std::max(peak_prov, RssBytes(trio.node(Tier::kProvince).pid()));
    auto done = trio.CompleteIdsAt(Tier::kProvince);
    // In order: what is complete is the oldest sessions, give or take those in flight.
    for (const auto& id : done)
      if (std::find(order.begin(), order.end(), id) - order.begin() >=
          static_cast<long>(done.size()) + 16)
        ++out_of_order;
    return trio.CompleteAt(Tier::kCentral) == 300;
  });
  ASSERT_TRUE(drained) << trio.CompleteAt(Tier::kCentral) << " of 300 at central";
  std::cout << "[ measure ] peak RSS while draining 300 sessions: recorder "
            << (peak_rec >> 20) << " MiB, province " << (peak_prov >> 20) << " MiB" << std::endl;
  EXPECT_EQ(out_of_order, 0);
  EXPECT_LT(peak_rec, kRssBound);
  EXPECT_LT(peak_prov, kRssBound);
}

TEST(ReplicationTest, RetentionEvictsOnlyAfterCentralCustodyAndNeverOnHold) {
  TempDir dir;
  TrioOptions o;
  o.retention_days = 2.0 / 86400;  // 2 s
  Trio trio(dir, o);
  auto sessions = trio.Record(3, 3, 20000);
  const size_t blobs = BlobFiles(trio.data(Tier::kRecorder)).size();
  ASSERT_EQ(blobs, 3u * 4);
  trio.Start(Tier::kProvince);
  trio.Start(Tier::kRecorder);
  auto hold = RunTcd({"session", "hold", sessions[1].id, "--config", trio.config(Tier::kRecorder)});
  ASSERT_EQ(hold.exit_code, 0) << hold.out << hold.err;
  // The province holds everything, but the central tier does not: nothing may go.
  ASSERT_TRUE(Poll(30, [&] { return trio.CompleteAt(Tier::kProvince) == 3; })) << trio.Logs();
  Sleep(5);
  EXPECT_EQ(BlobFiles(trio.data(Tier::kRecorder)).size(), blobs);
  trio.Start(Tier::kCentral);
  ASSERT_TRUE(Poll(30, [&] { return trio.CompleteAt(Tier::kCentral) == 3; })) << trio.Logs();
  // Central custody + 2 s: the two sessions not on hold lose their media at the commune.
  EXPECT_TRUE(Poll(30, [&] { return BlobFiles(trio.data(Tier::kRecorder)).size() == 4; }))
      << BlobFiles(trio.data(Tier::kRecorder)).size() << " blob files left\n" << trio.Logs();
  auto v = RunTcd({"verify", "--data", trio.data(Tier::kRecorder)});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  auto st = trio.node(Tier::kRecorder).Status();
  EXPECT_EQ(st["replication"]["retention"]["blobs_evicted"], 8) << st.dump(1);
  EXPECT_EQ(st["replication"]["retention"]["sessions_on_hold"], 1);
}

}  // namespace
}  // namespace tcd
