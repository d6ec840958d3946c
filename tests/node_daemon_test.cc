// `tcd node --config FILE` against a real RTMP server (nginx + RTMP module on loopback, fed by
// ffmpeg as the conference system would): automatic capture when the stream goes live, dropouts
// shorter and longer than the grace period, kill -9 during recording and recovery on restart,
// and clear refusals of a bad config, an unwritable data directory and a source that never comes
// up. Every wait polls `tcd status` with a generous deadline; failures dump the node's log.
// Manual/scheduled sources, annotations and the disk guard are in node_control_test.cc; the
// shared fixture is in node_fixture.h.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "tests/node_fixture.h"

namespace tcd {
namespace {

using nlohmann::json;
using testing::FreePort;
using testing::RunResult;
using testing::RunTcd;
using testing::TempDir;

// The node waits for the stream, records by itself when it goes live, and a dropout shorter
// than the grace period continues the same session with one signed gap of about its length.
TEST_F(NodeDaemonTest, AutoStartAndShortDropoutKeepOneSessionWithAGap) {
  Setup(/*grace_seconds=*/6);
  node_->Start();
  ASSERT_TRUE(node_->WaitUp()) << "tcd node did not come up";

  json st = node_->Status();
  ASSERT_TRUE(st.value("ok", false)) << st.dump(2);
  EXPECT_EQ(st.value("role", ""), "recorder") << st.dump(2);
  ASSERT_EQ(st["sources"].size(), 1u) << st.dump(2);
  EXPECT_EQ(st["sources"][0].value("name", ""), "conference");
  EXPECT_EQ(st["sources"][0].value("mode", ""), "auto");
  EXPECT_EQ(st["sources"][0].value("url", ""), url_);
  Sleep(1.0);  // let it try the (not yet published) stream
  st = node_->Status();
  std::set<std::string> waiting = {"idle", "waiting", "connecting", "reconnecting"};
  EXPECT_TRUE(waiting.count(SourceState(st))) << "no stream yet: " << st.dump(2);
  EXPECT_TRUE(OpenSessions(st).empty()) << "no stream yet, no session: " << st.dump(2);
  EXPECT_TRUE(st["sources"][0]["session"].is_null()) << st.dump(2);

  pub_->Start();  // the conference starts
  json s = WaitForOpenSession(15, 2);
  ASSERT_FALSE(s.is_null()) << "no session within 15 s of the stream going live";
  std::string id = s["id"];
  EXPECT_EQ(s.value("source", ""), "conference");
  st = node_->Status();
  EXPECT_EQ(SourceState(st), "recording") << st.dump(2);
  EXPECT_EQ(st["sources"][0]["session"], id) << st.dump(2);
  // Each committed segment's latency (last frame in → durable) is summarized for the operator.
  ASSERT_TRUE(Poll(10, [&] {
    st = node_->Status();
    return st["sources"][0]["commit_latency"].value("count", 0) >= 2;
  })) << "no commit latency after two segments: " << st.dump(2);
  const json lat = st["sources"][0]["commit_latency"];
  EXPECT_GE(lat.value("total", 0), lat.value("count", 0)) << lat.dump();
  EXPECT_GE(lat["p50_ms"].get<double>(), 0) << lat.dump();
  EXPECT_LE(lat["p50_ms"].get<double>(), lat["p99_ms"].get<double>()) << lat.dump();
  EXPECT_LE(lat["p99_ms"].get<double>(), lat["max_ms"].get<double>()) << lat.dump();
  EXPECT_LE(lat["last_ms"].get<double>(), lat["max_ms"].get<double>()) << lat.dump();
  RunResult text = RunTcd({"status", "--config", node_->config()});
  EXPECT_NE(text.out.find("commit latency"), std::string::npos) << text.out;

  pub_->Stop();  // the conference stream drops for ~2 s (grace is 6 s)
  Sleep(2.0);
  st = node_->Status();
  ASSERT_EQ(OpenSessions(st).size(), 1u) << "session must stay open during a short dropout: "
                                         << st.dump(2);
  EXPECT_EQ(OpenSessions(st)[0]["id"], id);
  int before = OpenSessions(st)[0].value("segments", 0);
  pub_->Start();  // …and comes back

  ASSERT_TRUE(Poll(15, [&] {
    st = node_->Status();
    auto open = OpenSessions(st);
    return open.size() == 1 && open[0]["id"] == id && SourceState(st) == "recording" &&
           open[0].value("segments", 0) >= before + 2 && open[0].value("gaps", 0) >= 1;
  })) << "the same session did not continue after the stream came back: " << st.dump(2);
  Sleep(3.0);

  ASSERT_EQ(node_->Stop(SIGTERM), 0) << "SIGTERM must stop the node cleanly";
  pub_->Stop();

  json list = Sessions();
  ASSERT_EQ(list.size(), 1u) << "a short dropout must not split the session: " << list.dump(2);
  EXPECT_EQ(list[0]["id"], id);
  EXPECT_EQ(list[0].value("state", ""), "sealed") << list.dump(2);
  EXPECT_EQ(list[0].value("gaps", -1), 1) << list.dump(2);

  RunResult v = RunTcd({"verify", "--data", data(), "--json"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;

  // The gap entry records the outage: ~2 s plus detection and reconnection (backoff ≤ 1 s).
  auto gaps = GapDurations(id);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_GT(gaps[0], 1'500'000) << "gap shorter than the outage";
  EXPECT_LT(gaps[0], 6'000'000) << "gap longer than the grace period";

  double duration = ExpectExportPlays(id);
  EXPECT_GT(duration, 4.0);
}

// A dropout longer than the grace period seals the session; the stream's return starts a new one.
TEST_F(NodeDaemonTest, LongDropoutSealsAndTheReturnStartsANewSession) {
  Setup(/*grace_seconds=*/2);
  pub_->Start();
  node_->Start();
  ASSERT_TRUE(node_->WaitUp()) << "tcd node did not come up";
  json first = WaitForOpenSession(15, 2);
  ASSERT_FALSE(first.is_null()) << "no session within 15 s of starting with a live stream";
  std::string id1 = first["id"];

  pub_->Stop();  // a ~6 s outage, grace 2 s
  auto down = std::chrono::steady_clock::now();
  json st;
  ASSERT_TRUE(Poll(10, [&] {
    st = node_->Status();
    return !st.is_null() && OpenSessions(st).empty();
  })) << "the session was not sealed after the grace period: " << st.dump(2);
  std::this_thread::sleep_until(down + std::chrono::seconds(6));
  st = node_->Status();
  EXPECT_TRUE(OpenSessions(st).empty()) << st.dump(2);

  // The first session is sealed and verifies while the node keeps running.
  RunResult v1 = RunTcd({"verify", "--data", data(), "--session", id1, "--json"});
  EXPECT_EQ(v1.exit_code, 0) << v1.out << v1.err;

  pub_->Start();
  json second = WaitForOpenSession(15, 2, id1);
  ASSERT_FALSE(second.is_null()) << "no new session after the stream returned";
  std::string id2 = second["id"];
  EXPECT_NE(id1, id2);
  Sleep(1.0);

  ASSERT_EQ(node_->Stop(SIGTERM), 0);
  pub_->Stop();

  json list = Sessions();
  ASSERT_EQ(list.size(), 2u) << list.dump(2);
  json s1 = FindSession(list, id1), s2 = FindSession(list, id2);
  ASSERT_FALSE(s1.is_null()) << list.dump(2);
  ASSERT_FALSE(s2.is_null()) << list.dump(2);
  EXPECT_EQ(s1.value("state", ""), "sealed") << list.dump(2);
  EXPECT_EQ(s2.value("state", ""), "sealed") << list.dump(2);
  EXPECT_EQ(s1.value("gaps", -1), 0) << list.dump(2);

  RunResult v = RunTcd({"verify", "--data", data(), "--json"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  ExpectExportPlays(id1);
  ExpectExportPlays(id2);
}

// kill -9 mid-recording: what was acknowledged stays, verify reports the session unsealed, and
// the restarted node closes it with a signed recovery note.
TEST_F(NodeDaemonTest, KillNineThenRestartRecoversTheSession) {
  Setup(/*grace_seconds=*/6);
  pub_->Start();
  node_->Start();
  ASSERT_TRUE(node_->WaitUp()) << "tcd node did not come up";
  json s = WaitForOpenSession(20, 3);
  ASSERT_FALSE(s.is_null()) << "no session with ≥ 3 segments within 20 s";
  std::string id = s["id"];
  json again = node_->Status();  // the freshest acknowledged count
  int acknowledged = s.value("segments", 0);
  if (OpenSessions(again).size() == 1 && OpenSessions(again)[0]["id"] == id)
    acknowledged = std::max(acknowledged, OpenSessions(again)[0].value("segments", 0));

  node_->Kill();  // kill -9
  pub_->Stop();

  RunResult v = RunTcd({"verify", "--data", data(), "--session", id, "--json"});
  EXPECT_EQ(v.exit_code, 1) << "an interrupted session must not verify as complete: " << v.out
                            << v.err;
  json vj = json::parse(v.out, nullptr, false);
  ASSERT_FALSE(vj.is_discarded()) << v.out << v.err;
  ASSERT_EQ(vj["sessions"].size(), 1u) << vj.dump(2);
  json r = vj["sessions"][0];
  EXPECT_EQ(r.value("problem", ""), "unsealed") << r.dump(2);
  EXPECT_GE(r.value("entries_verified", 0), acknowledged + 2)
      << "every acknowledged segment (plus open and init entries) must be intact: " << r.dump(2);
  EXPECT_GE(r.value("segments", 0), acknowledged) << r.dump(2);

  node_->Start();  // recovery closes the session
  ASSERT_TRUE(node_->WaitUp()) << "tcd node did not come up after kill -9";
  json st = node_->Status();
  EXPECT_TRUE(OpenSessions(st).empty()) << "recovery must not leave the session open: "
                                        << st.dump(2);
  ASSERT_EQ(node_->Stop(SIGTERM), 0);

  v = RunTcd({"verify", "--data", data(), "--session", id, "--json"});
  vj = json::parse(v.out, nullptr, false);
  ASSERT_FALSE(vj.is_discarded()) << v.out << v.err;
  ASSERT_EQ(vj["sessions"].size(), 1u) << vj.dump(2);
  r = vj["sessions"][0];
  EXPECT_NE(r.dump().find("recover"), std::string::npos)
      << "verify must say the session was closed by recovery: " << r.dump(2);
  EXPECT_GE(r.value("segments", 0), acknowledged)
      << "a segment acknowledged before the kill is missing: " << r.dump(2);
  EXPECT_EQ(v.exit_code, 0) << "a session closed by a signed recovery note verifies: " << v.out
                            << v.err;

  json list = Sessions();
  json rec = FindSession(list, id);
  ASSERT_FALSE(rec.is_null()) << list.dump(2);
  EXPECT_GE(rec.value("segments", 0), acknowledged) << rec.dump(2);
  EXPECT_NE(rec.value("state", ""), "recording") << rec.dump(2);
}

// A config mistake is refused at once with the key named (exit 78), never half-started.
TEST_F(NodeDaemonTest, BadConfigIsRefusedNamingTheKey) {
  struct Case {
    const char* what;
    std::string top_extra, mode, expect;
  } cases[] = {
      {"unknown key", "colour = \"blue\"\n", "auto", "colour"},
      {"bad mode", "", "always", "mode"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    TempDir dir;
    ConfigOptions o;
    o.url = "rtmp://127.0.0.1:1/live/x";
    o.top_extra = c.top_extra;
    o.mode = c.mode;
    Node node(WriteConfig(dir, o));
    node.Start();
    int code = node.WaitExit(10);
    EXPECT_EQ(code, kExitConfig) << node.Log();
    EXPECT_NE(node.CurrentErr().find(c.expect), std::string::npos)
        << "stderr must name '" << c.expect << "':\n"
        << node.Log();
    EXPECT_NE(access((dir / "data").c_str(), F_OK), 0) << "a refused config must not create data";
  }
}

// A data directory that cannot be created or written: exit 73 with a message naming it.
TEST_F(NodeDaemonTest, UnwritableDataDirIsRefused) {
  std::string file = dir_ / "not-a-directory";
  testing::WriteFile(file, "a regular file\n");
  ConfigOptions o;
  o.url = "rtmp://127.0.0.1:1/live/x";
  o.data_dir = file;
  node_ = std::make_unique<Node>(WriteConfig(dir_, o));
  node_->Start();
  int code = node_->WaitExit(10);
  EXPECT_EQ(code, kExitCantCreate) << node_->Log();
  EXPECT_NE(node_->CurrentErr().find(file), std::string::npos)
      << "the message must name the data directory:\n"
      << node_->Log();
  EXPECT_EQ(testing::ReadFile(file), "a regular file\n") << "the file must be left alone";
}

// A source that never comes up: the node keeps running, says so in its status, retries with
// backoff, and does not flood its log.
TEST_F(NodeDaemonTest, SourceThatNeverComesUpWaitsQuietly) {
  ConfigOptions o;
  o.url = "rtmp://127.0.0.1:" + std::to_string(FreePort()) + "/live/nobody";  // refused
  node_ = std::make_unique<Node>(WriteConfig(dir_, o));
  node_->Start();
  ASSERT_TRUE(node_->WaitUp()) << "tcd node did not come up";
  json st;
  ASSERT_TRUE(Poll(8, [&] {
    st = node_->Status();
    if (st.is_null() || SourceState(st) != "waiting") return false;
    const json& e = st["sources"][0]["last_error"];
    return e.is_string() && !e.get<std::string>().empty();
  })) << "status must show the source waiting with its last error: " << st.dump(2);
  EXPECT_TRUE(OpenSessions(st).empty()) << st.dump(2);
  EXPECT_TRUE(st["sources"][0]["session"].is_null()) << st.dump(2);

  Sleep(5.0);
  ASSERT_TRUE(node_->Running()) << "the node must keep running";
  std::string log = node_->CurrentLog();
  size_t lines = std::count(log.begin(), log.end(), '\n');
  EXPECT_LT(lines, 20u) << "a source that stays down must not flood the log:\n" << log;
  st = node_->Status();
  EXPECT_EQ(SourceState(st), "waiting") << st.dump(2);

  // SIGHUP reloads the (unchanged) config: the node stays up and keeps answering.
  node_->Signal(SIGHUP);
  Sleep(1.0);
  ASSERT_TRUE(node_->Running()) << "SIGHUP must reload, not stop the node";
  EXPECT_TRUE(Poll(5, [&] { return !node_->Status().is_null(); })) << "no status after SIGHUP";
  EXPECT_EQ(node_->Stop(SIGTERM), 0);

  json list = Sessions();
  EXPECT_TRUE(list.empty()) << list.dump(2);
}

}  // namespace
}  // namespace tcd
