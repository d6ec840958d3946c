// A live source that drops and comes back: one session, a signed gap entry of about the length
// of the outage, and an export that still plays.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "node/store.h"
#include "tests/test_util.h"

namespace tcd {
namespace {

using testing::FreePort;
using testing::Process;
using testing::RunProgram;
using testing::RunTcd;
using testing::SharedFixture;
using testing::TempDir;

void Sleep(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

TEST(GapTest, SourceDropoutBecomesASignedGapInOneSession) {
  const auto& f = SharedFixture();
  TempDir dir;
  // An already-encoded H.264 + AAC stream, served live over TCP by a real ffmpeg (-re).
  ASSERT_EQ(RunProgram("ffmpeg", {"-v", "error", "-f", "lavfi", "-i",
                                  "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i", "sine",
                                  "-t", "30", "-c:v", "libx264", "-g", "25", "-c:a", "aac",
                                  dir / "in.ts"})
                .exit_code,
            0);
  std::string url = "tcp://127.0.0.1:" + std::to_string(FreePort());
  auto serve = [&] {
    return std::make_unique<Process>(
        "ffmpeg", std::vector<std::string>{"-v", "error", "-re", "-i", dir / "in.ts", "-c",
                                           "copy", "-f", "mpegts", url + "?listen=1"});
  };
  auto server = serve();
  Sleep(500);
  Process rec(TCD_BINARY_PATH,
              {"record", "--data", dir / "data", "--node-key", f.keys + "/node/node.key",
               "--recipient", f.keys + "/archive/archive.pub", "--format", "mpegts", "--source",
               url, "--segment-seconds", "1"});
  Sleep(4000);
  server.reset();  // the conference stream drops…
  Sleep(1200);
  server = serve();  // …and comes back
  Sleep(4000);
  rec.Signal(SIGTERM);
  auto r = rec.Wait();
  ASSERT_EQ(r.exit_code, 0) << r.err;

  auto list = nlohmann::json::parse(RunTcd({"sessions", "--data", dir / "data", "--json"}).out);
  ASSERT_EQ(list.size(), 1u) << "a short dropout must not split the session";
  EXPECT_EQ(list[0]["gaps"], 1);
  auto v = RunTcd({"verify", "--data", dir / "data", "--json"});
  ASSERT_EQ(v.exit_code, 0) << v.out;
  EXPECT_EQ(nlohmann::json::parse(v.out)["sessions"][0]["gaps"], 1);

  // The gap entry records the outage (about 1.2 s; reconnect backoff may add up to ~1.5 s).
  node::StoreOptions so;
  so.read_only = true;
  auto store = node::Store::Open(Env::Default(), dir / "data", so);
  auto id = (*store)->ResolveSession(list[0]["id"]);
  auto chain = (*store)->catalog()->GetChain(*id);
  int gaps = 0;
  double gap_s = 0;
  for (const auto& [seq, rec] : *chain) {
    auto e = crypto::DecodeEntry(rec.entry);
    if (e->kind != crypto::EntryKind::kGap) continue;
    ++gaps;
    gap_s = e->duration_us / 1e6;
    EXPECT_GT(e->duration_us, 800000);
    EXPECT_LT(e->duration_us, 3500000);
  }
  EXPECT_EQ(gaps, 1);

  auto x = RunTcd({"export", "--data", dir / "data", "--session", list[0]["id"], "--key",
                   f.keys + "/archive/archive.key", "--passphrase-file", f.keys + "/passphrase",
                   "--out", dir / "out.mp4"});
  ASSERT_EQ(x.exit_code, 0) << x.err;
  auto probe = testing::Probe(dir / "out.mp4");
  ASSERT_FALSE(probe.is_null());
  EXPECT_EQ(probe["streams"].size(), 2u);
  // The MP4 timeline keeps real time: recorded media plus the outage.
  double duration = std::stod(probe["format"]["duration"].get<std::string>());
  EXPECT_NEAR(duration, list[0]["duration_s"].get<double>() + gap_s, 1.5);
}

}  // namespace
}  // namespace tcd
