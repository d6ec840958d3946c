// The RTMP test harness (nginx + RTMP module fed by ffmpeg, as a conference system would) with
// the foreground recorder: `tcd record` captures a live RTMP stream, and the export plays.
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "tests/rtmp_server.h"
#include "tests/test_util.h"

namespace tcd {
namespace {

using testing::Publisher;
using testing::RtmpServer;
using testing::RunTcd;
using testing::SharedFixture;
using testing::TempDir;

TEST(RtmpTest, RecorderCapturesALiveRtmpStream) {
  const auto& f = SharedFixture();
  TempDir dir;
  RtmpServer server;
  Publisher pub(server.Url("conference"));
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  ASSERT_TRUE(pub.running()) << "ffmpeg publisher exited:\n"
                             << pub.Log() << "\nnginx:\n"
                             << server.Log();

  auto rec = RunTcd({"record", "--data", dir / "data", "--node-key", f.keys + "/node/node.key",
                     "--recipient", f.keys + "/archive/archive.pub", "--source",
                     server.Url("conference"), "--format", "flv", "--duration", "6",
                     "--segment-seconds", "1", "--point", "xa-rtmp"});
  ASSERT_EQ(rec.exit_code, 0) << "tcd record failed:\n"
                              << rec.err << "\npublisher:\n"
                              << pub.Log() << "\nnginx:\n"
                              << server.Log();

  auto list = nlohmann::json::parse(RunTcd({"sessions", "--data", dir / "data", "--json"}).out);
  ASSERT_EQ(list.size(), 1u) << list.dump(2);
  EXPECT_EQ(list[0]["state"], "sealed") << list.dump(2);
  EXPECT_GE(list[0]["segments"].get<int>(), 4) << list.dump(2);

  auto v = RunTcd({"verify", "--data", dir / "data", "--json"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;

  auto x = RunTcd({"export", "--data", dir / "data", "--session", list[0]["id"], "--key",
                   f.keys + "/archive/archive.key", "--passphrase-file", f.keys + "/passphrase",
                   "--out", dir / "out.mp4"});
  ASSERT_EQ(x.exit_code, 0) << x.err;
  auto probe = testing::Probe(dir / "out.mp4");
  ASSERT_FALSE(probe.is_null()) << "ffprobe could not read the export";
  EXPECT_EQ(probe["streams"].size(), 2u) << probe.dump(2);
  double duration = std::stod(probe["format"]["duration"].get<std::string>());
  EXPECT_NEAR(duration, 6.0, 1.5) << probe["format"].dump(2);
}

}  // namespace
}  // namespace tcd
