// How a recording ends: on SIGTERM/SIGINT, on a full disk, at --duration. Every way ends with a
// sealed session that verifies, and the recorder says why it stopped.
#include <signal.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "base/fault_env.h"
#include "node/session_recorder.h"
#include "node/store.h"
#include "node/verifier.h"
#include "tests/test_util.h"

namespace tcd {
namespace {

using testing::RunTcd;
using testing::SharedFixture;
using testing::TempDir;

std::string LastLine(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  size_t nl = s.rfind('\n');
  return nl == std::string::npos ? s : s.substr(nl + 1);
}

class SignalTest : public ::testing::TestWithParam<int> {};

TEST_P(SignalTest, SignalEndsTheSessionSealedAndVerifiable) {
  const auto& f = SharedFixture();
  TempDir dir;
  testing::Process rec(TCD_BINARY_PATH,
                       {"record", "--data", dir / "data", "--node-key", f.keys + "/node/node.key",
                        "--recipient", f.keys + "/archive/archive.pub", "--format", "lavfi",
                        "--source", "testsrc2=size=320x240:rate=25", "--audio-format", "lavfi",
                        "--audio-source", "sine", "--realtime", "--segment-seconds", "1"});
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));
  rec.Signal(GetParam());
  auto r = rec.Wait();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string sid = LastLine(r.out);
  auto v = RunTcd({"verify", "--data", dir / "data", "--session", sid, "--json"});
  ASSERT_EQ(v.exit_code, 0) << v.out << v.err;
  auto j = nlohmann::json::parse(v.out)["sessions"][0];
  EXPECT_EQ(j["seal_reason"], "stopped");
  EXPECT_NEAR(j["media_duration_s"].get<double>(), 3.0, 1.5);
}

INSTANTIATE_TEST_SUITE_P(TermAndInt, SignalTest, ::testing::Values(SIGTERM, SIGINT));

TEST(DiskFull, RecordingStopsSealedWhenTheDiskFillsAndNewSessionsAreRefused) {
  ASSERT_TRUE(crypto::InitCrypto().ok());
  crypto::NodeIdentity id = crypto::GenerateNodeIdentity();
  crypto::ArchiveKeyPair archive = crypto::GenerateArchiveKey();
  TempDir dir;
  FaultInjectionEnv env(Env::Default());
  node::StoreOptions so;
  so.min_free_bytes = 1 << 20;
  auto store = node::Store::Open(&env, dir / "data", so);
  ASSERT_TRUE(store.ok());
  auto rec = node::SessionRecorder::Start(store->get(), &id, {archive.pub}, {});
  ASSERT_TRUE(rec.ok());
  ASSERT_TRUE((*rec)->OnInit(0, Bytes(100, 1), "fake").ok());
  ingest::MediaSegment seg;
  seg.data = Bytes(1000, 2);
  seg.duration_us = 1000000;
  ASSERT_TRUE((*rec)->OnSegment(seg).ok());

  env.SetFreeBytes(1000);  // the disk fills up
  Status s = (*rec)->OnSegment(seg);
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  EXPECT_NE(s.message().find("disk nearly full"), std::string::npos);
  ASSERT_TRUE((*rec)->Seal(crypto::SealReason::kDiskFull).ok());
  auto report = node::VerifySession(store->get(), (*rec)->id());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << report->detail;
  EXPECT_EQ(report->seal_reason, "disk-full");
  EXPECT_EQ(report->segments, 1u);

  auto refused = node::SessionRecorder::Start(store->get(), &id, {archive.pub}, {});
  EXPECT_TRUE(refused.status().IsNoSpace());
  EXPECT_EQ((*store)->catalog()->ListSessions()->size(), 1u);
}

TEST(DiskFull, CliRefusesToStartBelowTheThresholdWithAClearMessage) {
  const auto& f = SharedFixture();
  TempDir dir;
  auto r = RunTcd({"record", "--data", dir / "data", "--node-key", f.keys + "/node/node.key",
                   "--recipient", f.keys + "/archive/archive.pub", "--format", "lavfi",
                   "--source", "testsrc2", "--duration", "2", "--min-free-mb", "1000000000"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("disk nearly full"), std::string::npos) << r.err;
  auto list = RunTcd({"sessions", "--data", dir / "data", "--json"});
  EXPECT_EQ(nlohmann::json::parse(list.out).size(), 0u);
}

}  // namespace
}  // namespace tcd
