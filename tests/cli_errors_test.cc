// Bad input gets a clear error naming the problem, a non-zero exit code, and never changes
// what is stored.
#include <gtest/gtest.h>

#include <boost/filesystem.hpp>

#include "tests/test_util.h"

namespace tcd {
namespace {

namespace fs = boost::filesystem;
using testing::RunResult;
using testing::RunTcd;
using testing::SharedFixture;
using testing::Snapshot;
using testing::TempDir;

class CliErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_ / "data";
    fs::copy(SharedFixture().data, data_, fs::copy_options::recursive);
    before_ = Snapshot(data_);
  }
  void ExpectUnchanged() { EXPECT_TRUE(Snapshot(data_) == before_) << "stored data changed"; }
  RunResult Export(const std::vector<std::string>& extra) {
    const auto& f = SharedFixture();
    std::vector<std::string> args = {"export", "--data", data_, "--session", f.session,
                                     "--out", dir_ / "out.mp4"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunTcd(args);
  }
  void ExpectError(const RunResult& r, int code, const std::string& text) {
    EXPECT_EQ(r.exit_code, code) << r.err;
    EXPECT_NE(r.err.find(text), std::string::npos) << "stderr: " << r.err;
  }

  TempDir dir_;
  std::string data_;
  std::map<std::string, std::string> before_;
};

TEST_F(CliErrors, WrongPassphraseIsRefusedAndWritesNothing) {
  testing::WriteFile(dir_ / "wrong", "not the passphrase\n");
  const auto& f = SharedFixture();
  ExpectError(Export({"--key", f.keys + "/archive/archive.key", "--passphrase-file",
                      dir_ / "wrong"}),
              1, "wrong passphrase");
  EXPECT_FALSE(fs::exists(dir_ / "out.mp4"));
  ExpectUnchanged();
}

TEST_F(CliErrors, ExportNeverOverwritesAnExistingFileSilently) {
  testing::WriteFile(dir_ / "out.mp4", "an earlier export\n");
  const auto& f = SharedFixture();
  ExpectError(Export({"--key", f.keys + "/archive/archive.key", "--passphrase-file",
                      f.keys + "/passphrase"}),
              2, "already exists");
  EXPECT_EQ(testing::ReadFile(dir_ / "out.mp4"), "an earlier export\n");
  auto r = Export({"--key", f.keys + "/archive/archive.key", "--passphrase-file",
                   f.keys + "/passphrase", "--force"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(CliErrors, MissingPassphraseSaysTheKeyIsProtected) {
  ExpectError(Export({"--key", SharedFixture().keys + "/archive/archive.key"}), 1,
              "passphrase");
  ExpectUnchanged();
}

TEST_F(CliErrors, MissingKeyFileIsNamed) {
  ExpectError(Export({"--key", dir_ / "nope.key"}), 1, dir_ / "nope.key");
}

TEST_F(CliErrors, NodeKeyGivenAsArchiveKeyNamesTheField) {
  auto r = Export({"--key", SharedFixture().keys + "/node/node.key"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("node.key"), std::string::npos) << r.err;
  ExpectUnchanged();
}

TEST_F(CliErrors, UnreadableSourceStoresNothing) {
  const auto& f = SharedFixture();
  std::string fresh = dir_ / "fresh";
  auto r = RunTcd({"record", "--data", fresh, "--node-key", f.keys + "/node/node.key",
                   "--recipient", f.keys + "/archive/archive.pub", "--source",
                   dir_ / "no-such-camera.mp4"});
  ExpectError(r, 1, "no-such-camera.mp4");
  EXPECT_FALSE(fs::exists(fresh + "/catalog"));
  // and into an existing archive: no new session appears
  r = RunTcd({"record", "--data", data_, "--node-key", f.keys + "/node/node.key", "--recipient",
              f.keys + "/archive/archive.pub", "--source", "rtmp://127.0.0.1:1/live/none"});
  ExpectError(r, 1, "rtmp://127.0.0.1:1/live/none");
  ExpectUnchanged();
}

TEST_F(CliErrors, CorruptCatalogIsReportedAndLeftAlone) {
  std::string manifest;
  for (const auto& e : fs::directory_iterator(data_ + "/catalog"))
    if (e.path().filename().string().rfind("MANIFEST-", 0) == 0) manifest = e.path().string();
  ASSERT_FALSE(manifest.empty());
  std::string bytes = testing::ReadFile(manifest);
  for (size_t i = 0; i < bytes.size(); i += 7) bytes[i] = static_cast<char>(~bytes[i]);
  testing::WriteFile(manifest, bytes);
  before_ = Snapshot(data_);
  ExpectError(RunTcd({"sessions", "--data", data_}), 1, "catalog");
  ExpectError(RunTcd({"verify", "--data", data_}), 1, "catalog");
  const auto& f = SharedFixture();
  ExpectError(RunTcd({"record", "--data", data_, "--node-key", f.keys + "/node/node.key",
                      "--recipient", f.keys + "/archive/archive.pub", "--format", "lavfi",
                      "--source", "testsrc2=size=160x120:rate=5", "--duration", "1"}),
              1, "catalog");
  ExpectUnchanged();
}

TEST_F(CliErrors, UsageErrorsExitTwo) {
  EXPECT_EQ(RunTcd({"verify"}).exit_code, 2);
  EXPECT_EQ(RunTcd({"frobnicate"}).exit_code, 2);
  const auto& f = SharedFixture();
  ExpectError(RunTcd({"export", "--data", data_, "--session", f.session, "--key",
                      f.keys + "/archive/archive.key", "--out", dir_ / "x.mkv"}),
              2, ".mp4");
  ExpectError(RunTcd({"record", "--data", dir_ / "d", "--node-key", f.keys + "/node/node.key",
                      "--recipient", f.keys + "/archive/archive.pub", "--format", "lavfi",
                      "--source", "testsrc2", "--meta", "type=rumour"}),
              2, "type");
  ExpectError(RunTcd({"verify", "--data", data_, "--session", "ffff"}), 1, "no session");
}

TEST_F(CliErrors, KeygenRefusesToOverwriteAKey) {
  std::string keys = dir_ / "k";
  ASSERT_EQ(RunTcd({"keygen", "--kind", "archive", "--out", keys}).exit_code, 0);
  std::string original = testing::ReadFile(keys + "/archive.key");
  ExpectError(RunTcd({"keygen", "--kind", "archive", "--out", keys}), 2, "already exists");
  EXPECT_EQ(testing::ReadFile(keys + "/archive.key"), original);
  EXPECT_EQ(fs::status(keys + "/archive.key").permissions() & 0777, 0600);
}

// `tcd record` and `tcd node` run in tcd-capture (tools/cli.h, AddCaptureCommands): tcd itself
// starts without FFmpeg's libraries, hands those two over with their arguments, and says what
// is missing when tcd-capture is not next to it.
TEST(CaptureHandOver, OnlyTcdCaptureLoadsFfmpeg) {
  const std::string tcd = TCD_BINARY_PATH;
  const std::string capture = (fs::path(tcd).parent_path() / "tcd-capture").string();
  RunResult tcd_libs = testing::RunProgram("/usr/bin/ldd", {tcd});
  ASSERT_EQ(tcd_libs.exit_code, 0) << tcd_libs.err;
  EXPECT_EQ(tcd_libs.out.find("libavcodec"), std::string::npos) << tcd_libs.out;
  EXPECT_EQ(tcd_libs.out.find("libavformat"), std::string::npos) << tcd_libs.out;
  RunResult capture_libs = testing::RunProgram("/usr/bin/ldd", {capture});
  ASSERT_EQ(capture_libs.exit_code, 0) << capture_libs.err;
  EXPECT_NE(capture_libs.out.find("libavformat"), std::string::npos) << capture_libs.out;

  RunResult help = RunTcd({"--help"});  // both listed, with what they do
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("Record one reception session"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("Run a node"), std::string::npos) << help.out;
  RunResult record = RunTcd({"record", "--help"});  // answered by tcd-capture, as `tcd`
  EXPECT_EQ(record.exit_code, 0) << record.err;
  EXPECT_NE(record.out.find("--recipient"), std::string::npos) << record.out;
  EXPECT_NE(record.out.find("tcd record"), std::string::npos) << record.out;
  RunResult node = RunTcd({"node"});  // its own usage error
  EXPECT_EQ(node.exit_code, 2);
  EXPECT_NE(node.err.find("--config is required"), std::string::npos) << node.err;
}

TEST(CaptureHandOver, MissingTcdCaptureIsNamed) {
  TempDir dir;
  const std::string alone = dir / "tcd";
  fs::copy_file(TCD_BINARY_PATH, alone);
  for (const char* command : {"node", "record"}) {
    RunResult r = testing::RunProgram(alone, {command, "--help"});
    EXPECT_EQ(r.exit_code, 69) << command;  // EX_UNAVAILABLE: the unit does not restart on it
    EXPECT_NE(r.err.find("cannot start " + std::string(dir / "tcd-capture")), std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find(std::string("`tcd ") + command + "`"), std::string::npos) << r.err;
  }
  EXPECT_EQ(testing::RunProgram(alone, {"search", "--help"}).exit_code, 0);  // the rest works

  // A tcd in tcd-capture's place would start itself forever: it says so at once instead.
  fs::copy_file(TCD_BINARY_PATH, dir / "tcd-capture");
  RunResult loop = testing::RunProgram(alone, {"node", "--help"});
  EXPECT_EQ(loop.exit_code, 69);
  EXPECT_NE(loop.err.find("is a tcd, not tcd-capture"), std::string::npos) << loop.err;
}

TEST(CaptureHandOver, TcdCaptureRefusesATcdOfAnotherBuild) {
  const std::string capture =
      (fs::path(TCD_BINARY_PATH).parent_path() / "tcd-capture").string();
  RunResult r = testing::RunProgram(
      "/usr/bin/env", {"TCD_HANDED_OVER_BY=20200101T000000Z-000000000000", capture, "node",
                       "--help"});
  EXPECT_EQ(r.exit_code, 69);
  EXPECT_NE(r.err.find("another build"), std::string::npos) << r.err;
  RunResult direct = testing::RunProgram(capture, {"node", "--help"});  // started by hand: fine
  EXPECT_EQ(direct.exit_code, 0) << direct.err;
}

}  // namespace
}  // namespace tcd
