// Operator control of `tcd node` (same real RTMP server + ffmpeg publisher setup as
// node_daemon_test.cc): signed annotations that keep the original metadata, manual sessions via
// `tcd session start/stop`, scheduled reception hours and their reload by SIGHUP, the
// nearly-full-disk guard, and `session stop` with nothing open. Fixture: node_fixture.h.
#include <signal.h>

#include <regex>
#include <string>

#include <gtest/gtest.h>

#include "tests/node_fixture.h"

namespace tcd {
namespace {

using nlohmann::json;
using testing::RunResult;
using testing::RunTcd;

// Annotations during and after a session: appended as signed entries with time and signer; the
// original metadata stays as it was, and the chain still verifies.
TEST_F(NodeDaemonTest, AnnotationsAreSignedAmendmentsThatKeepTheOriginal) {
  Setup(/*grace_seconds=*/2);
  pub_->Start();
  node_->Start();
  ASSERT_TRUE(node_->WaitUp()) << "tcd node did not come up";
  json s = WaitForOpenSession(15, 2);
  ASSERT_FALSE(s.is_null()) << "no session within 15 s";
  std::string id = s["id"];

  // During the session: correct the chair.
  RunResult a1 = RunTcd({"session", "annotate", id, "--meta", "chair=Lê Văn Dũng", "--meta",
                         "case=KN-2024-017", "--config", node_->config()});
  ASSERT_EQ(a1.exit_code, 0) << a1.out << a1.err;

  pub_->Stop();  // grace 2 s: the session is sealed while the node runs
  json st;
  ASSERT_TRUE(Poll(10, [&] {
    st = node_->Status();
    return !st.is_null() && OpenSessions(st).empty();
  })) << "session not sealed: " << st.dump(2);

  // After the session: a note.
  RunResult a2 = RunTcd({"session", "annotate", id, "--meta", "note=hồ sơ bổ sung ngày 2",
                         "--config", node_->config()});
  ASSERT_EQ(a2.exit_code, 0) << a2.out << a2.err;

  // A bad key is refused, and nothing is appended for it.
  RunResult bad = RunTcd({"session", "annotate", id, "--meta", "Bad Key=x", "--config",
                          node_->config()});
  EXPECT_NE(bad.exit_code, 0) << bad.out;

  ASSERT_EQ(node_->Stop(SIGTERM), 0);

  json list = Sessions();
  json rec = FindSession(list, id);
  ASSERT_FALSE(rec.is_null()) << list.dump(2);
  EXPECT_EQ(rec.value("state", ""), "sealed") << rec.dump(2);
  // The original metadata, from the open entry, unchanged.
  EXPECT_EQ(MetaValue(rec["meta"], "chair"), "Trần Thị Bình") << rec.dump(2);
  EXPECT_EQ(MetaValue(rec["meta"], "type"), "complaint") << rec.dump(2);
  EXPECT_EQ(MetaValue(rec["meta"], "note"), "") << rec.dump(2);

  ASSERT_TRUE(rec.contains("annotations")) << rec.dump(2);
  const json& ann = rec["annotations"];
  ASSERT_EQ(ann.size(), 2u) << rec.dump(2);
  static const std::regex kIso(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}.*)");
  for (const auto& a : ann) {
    EXPECT_TRUE(std::regex_match(a.value("time", ""), kIso)) << a.dump(2);
    EXPECT_FALSE(a.value("signer", "").empty()) << a.dump(2);
    EXPECT_GT(a.value("seq", 0), 0) << a.dump(2);
  }
  EXPECT_LT(ann[0].value("seq", 0), ann[1].value("seq", 0)) << rec.dump(2);
  EXPECT_EQ(MetaValue(ann[0]["meta"], "chair"), "Lê Văn Dũng") << rec.dump(2);
  EXPECT_EQ(MetaValue(ann[0]["meta"], "case"), "KN-2024-017") << rec.dump(2);
  EXPECT_EQ(MetaValue(ann[1]["meta"], "note"), "hồ sơ bổ sung ngày 2") << rec.dump(2);

  RunResult v = RunTcd({"verify", "--data", data(), "--session", id, "--json"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  json vj = json::parse(v.out, nullptr, false);
  ASSERT_FALSE(vj.is_discarded()) << v.out;
  ASSERT_EQ(vj["sessions"].size(), 1u) << vj.dump(2);
  // The annotations are signed by the node that recorded the session.
  std::string signer = vj["sessions"][0].value("signer_key_id", "");
  for (const auto& a : ann) EXPECT_EQ(a.value("signer", ""), signer) << rec.dump(2);
}

// A manual source records only between `tcd session start` and `tcd session stop`, with the
// metadata given at the start.
TEST_F(NodeDaemonTest, ManualSourceRecordsBetweenSessionStartAndStop) {
  ConfigOptions o;
  o.mode = "manual";
  Setup(/*grace_seconds=*/6, o);
  pub_->Start();
  node_->Start();
  ASSERT_TRUE(node_->WaitUp());
  Sleep(3);
  json st = node_->Status();
  EXPECT_TRUE(OpenSessions(st).empty()) << "a manual source must not record by itself";
  EXPECT_EQ(SourceState(st), "idle") << st.dump(2);

  RunResult start = RunTcd({"session", "start", "--config", node_->config(), "--meta",
                            "case=KN-2026-0142", "--meta", "participant=Nguyễn Văn An"});
  ASSERT_EQ(start.exit_code, 0) << start.err;
  while (!start.out.empty() && start.out.back() == '\n') start.out.pop_back();
  const size_t nl = start.out.rfind('\n');
  const std::string id = start.out.substr(nl == std::string::npos ? 0 : nl + 1);
  ASSERT_FALSE(WaitForOpenSession(15, 2).is_null()) << "no segments after session start";

  RunResult again = RunTcd({"session", "start", "--config", node_->config()});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("already recording"), std::string::npos) << again.err;

  RunResult stop = RunTcd({"session", "stop", "--config", node_->config()});
  ASSERT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_NE(stop.out.find(id), std::string::npos) << stop.out;
  Sleep(2);
  EXPECT_TRUE(OpenSessions(node_->Status()).empty()) << "stopped session still open";
  EXPECT_EQ(node_->Stop(), 0);

  json s = FindSession(Sessions(), id);
  ASSERT_FALSE(s.is_null());
  EXPECT_EQ(s["state"], "sealed");
  EXPECT_EQ(MetaValue(s["meta"], "case"), "KN-2026-0142");
  EXPECT_EQ(MetaValue(s["meta"], "participant"), "Nguyễn Văn An");
  EXPECT_EQ(MetaValue(s["meta"], "source"), "conference");
  EXPECT_EQ(RunTcd({"verify", "--data", data()}).exit_code, 0);
}

// Scheduled capture: outside reception hours a live source is not recorded; a reload (SIGHUP)
// with hours that include now starts recording.
TEST_F(NodeDaemonTest, ScheduledSourceRecordsOnlyInReceptionHoursAndReloadApplies) {
  ConfigOptions o;
  o.mode = "schedule";
  o.tail_extra = ScheduleTable(false);
  Setup(/*grace_seconds=*/6, o);
  pub_->Start();
  node_->Start();
  ASSERT_TRUE(node_->WaitUp());
  Sleep(4);
  json st = node_->Status();
  EXPECT_TRUE(OpenSessions(st).empty()) << "recorded outside reception hours: " << st.dump(2);
  EXPECT_EQ(SourceState(st), "idle");

  // Started by hand outside the hours, a session is not ended by the schedule.
  RunResult start = RunTcd({"session", "start", "--config", node_->config()});
  ASSERT_EQ(start.exit_code, 0) << start.err;
  ASSERT_FALSE(WaitForOpenSession(15, 3).is_null()) << "manual session ended by the schedule";
  ASSERT_EQ(RunTcd({"session", "stop", "--config", node_->config()}).exit_code, 0);
  ASSERT_TRUE(Poll(5, [&] { return OpenSessions(node_->Status()).empty(); }));

  options_.tail_extra = ScheduleTable(true);
  WriteConfig(dir_, options_);
  node_->Signal(SIGHUP);
  ASSERT_FALSE(WaitForOpenSession(20, 1).is_null()) << "no session after reloading into hours";
  EXPECT_EQ(node_->Stop(), 0);
  EXPECT_EQ(RunTcd({"verify", "--data", data()}).exit_code, 0);
}

// Below [disk].min_free_mb no session starts, and status says why.
TEST_F(NodeDaemonTest, NearlyFullDiskStartsNoSessionAndSaysSo) {
  ConfigOptions o;
  o.min_free_mb = 1000000000;  // more than any disk here
  Setup(/*grace_seconds=*/6, o);
  pub_->Start();
  node_->Start();
  ASSERT_TRUE(node_->WaitUp());
  json st;
  ASSERT_TRUE(Poll(10, [&] {
    st = node_->Status();
    const json& e = st.is_null() ? json() : st["sources"][0]["last_error"];
    return e.is_string() && e.get<std::string>().find("disk") != std::string::npos;
  })) << st.dump(2);
  EXPECT_EQ(st["disk"]["state"], "full");
  EXPECT_TRUE(OpenSessions(st).empty());
  bool reported = false;
  for (const auto& e : st["last_errors"])
    reported |= e["message"].get<std::string>().find("disk nearly full") != std::string::npos;
  EXPECT_TRUE(reported) << st.dump(2);
  EXPECT_EQ(node_->Stop(), 0);
}

// `tcd session stop` when nothing records must not pause an automatic source: the next
// reception is recorded.
TEST_F(NodeDaemonTest, StopWithNothingOpenDoesNotPauseAnAutoSource) {
  Setup(/*grace_seconds=*/6);
  node_->Start();
  ASSERT_TRUE(node_->WaitUp());
  RunResult stop = RunTcd({"session", "stop", "--config", node_->config()});
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  pub_->Start();
  EXPECT_FALSE(WaitForOpenSession(15, 1).is_null()) << "the auto source stayed paused";
  EXPECT_EQ(node_->Stop(), 0);
}

}  // namespace
}  // namespace tcd
