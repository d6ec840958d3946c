// The control CLI without a node: a clear "no node is running" and usage errors caught before
// anything is sent. (With a node: tests/node_daemon_test.cc.)
#include <gtest/gtest.h>

#include "tests/test_util.h"

namespace tcd {
namespace {

using testing::RunTcd;

TEST(ControlCli, StatusWithoutNodeSaysSo) {
  auto r = RunTcd({"status", "--socket", "/nonexistent/x.sock"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("tcd: error: no node is running (cannot connect to /nonexistent/x.sock)"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.out, "");
  r = RunTcd({"session", "stop", "--socket", "/nonexistent/x.sock"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no node is running"), std::string::npos) << r.err;
}

TEST(ControlCli, AnnotateWithoutMetaIsAUsageError) {
  auto r = RunTcd({"session", "annotate", "0190c6f2-aaaa-7bbb-8ccc-123456789abc", "--socket",
                   "/nonexistent/x.sock"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--meta"), std::string::npos) << r.err;
}

TEST(ControlCli, BadMetadataIsRefusedBeforeContactingTheNode) {
  auto r = RunTcd({"session", "start", "--meta", "type=rumour", "--socket", "/nonexistent/x.sock"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("type"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("no node is running"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace tcd
