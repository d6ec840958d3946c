// `tcd node --config FILE` against a real RTMP server (nginx + RTMP module on loopback, fed by
// ffmpeg as the conference system would): automatic capture when the stream goes live, dropouts
// shorter and longer than the grace period, SIGTERM and kill -9 during recording, annotations,
// and clear refusals of a bad config, an unwritable data directory and a source that never comes
// up. Every wait polls `tcd status` with a generous deadline; failures dump the node's log.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <memory>
#include <regex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "crypto/chain.h"
#include "node/store.h"
#include "tests/rtmp_server.h"
#include "tests/test_util.h"

namespace tcd {
namespace {

using nlohmann::json;
using testing::FreePort;
using testing::Process;
using testing::Publisher;
using testing::RtmpServer;
using testing::RunResult;
using testing::RunTcd;
using testing::SharedFixture;
using testing::TempDir;

constexpr int kExitConfig = 78;  // EX_CONFIG
constexpr int kExitCantCreate = 73;  // EX_CANTCREAT

void Sleep(double seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

// Calls `pred` every 200 ms until it returns true or `seconds` pass.
bool Poll(double seconds, const std::function<bool()>& pred) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    Sleep(0.2);
  }
}

std::string Quote(const std::string& s) {  // a TOML basic string
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

struct ConfigOptions {
  std::string data_dir;     // default: <dir>/data
  std::string url;
  double grace_seconds = 6;
  std::string mode = "auto";
  std::string top_extra;    // extra top-level lines (before any table)
  std::string tail_extra;   // extra tables at the end (e.g. [[schedule]])
  long long min_free_mb = 50;
};

// A recorder config in `dir` (control socket in <dir>/run); returns its path.
std::string WriteConfig(const TempDir& dir, const ConfigOptions& o) {
  const auto& f = SharedFixture();
  std::string text =
      "# written by node_daemon_test\n"
      "role = \"recorder\"\n"
      "data_dir = " + Quote(o.data_dir.empty() ? dir / "data" : o.data_dir) + "\n" +
      "node_key = " + Quote(f.keys + "/node/node.key") + "\n" +
      "recipients = [" + Quote(f.keys + "/archive/archive.pub") + "]\n" +
      "point = \"xa-test\"\n" +
      "control_socket = " + Quote(dir / "run/control.sock") + "\n" + o.top_extra +
      "\n[recording]\n"
      "segment_seconds = 1\n"
      "grace_seconds = " + std::to_string(o.grace_seconds) + "\n" +
      "reconnect_max_backoff_seconds = 1\n"
      "\n[disk]\n"
      "warn_free_mb = " + std::to_string(std::max(100LL, o.min_free_mb)) + "\n" +
      "min_free_mb = " + std::to_string(o.min_free_mb) + "\n"
      "\n[[source]]\n"
      "name = \"conference\"\n"
      "url = " + Quote(o.url) + "\n" +
      "format = \"flv\"\n"
      "mode = " + Quote(o.mode) + "\n" +
      "\n[source.meta]\n"
      "chair = \"Trần Thị Bình\"\n"
      "type = \"complaint\"\n" + o.tail_extra;
  std::string path = dir / "node.toml";
  testing::WriteFile(path, text);
  return path;
}

// One `tcd node` process (restartable), with the log of every run kept for failure messages.
class Node {
 public:
  explicit Node(std::string config) : config_(std::move(config)) {}
  ~Node() {
    if (proc_) Kill();
  }

  void Start() {
    ASSERT_FALSE(proc_) << "node already running";
    proc_ = std::make_unique<Process>(TCD_BINARY_PATH,
                                      std::vector<std::string>{"node", "--config", config_});
    ++runs_;
  }

  bool Running() { return proc_ && proc_->Running(); }
  void Signal(int sig) {
    if (proc_) proc_->Signal(sig);
  }

  // `tcd status --json`; null when the node does not answer.
  json Status() const {
    RunResult r = RunTcd({"status", "--config", config_, "--json"});
    if (r.exit_code != 0) return nullptr;
    json j = json::parse(r.out, nullptr, false);
    return j.is_discarded() ? json(nullptr) : j;
  }

  // Polls until the node answers status (it is up); false on timeout or when it exited.
  bool WaitUp(double seconds = 15) {
    return Poll(seconds, [&] { return !Running() || !Status().is_null(); }) && Running();
  }

  // Sends `sig` and waits for the exit; SIGKILLs (and returns -1) after `seconds`.
  int Stop(int sig = SIGTERM, double seconds = 30) {
    if (!proc_) return -1;
    proc_->Signal(sig);
    auto r = proc_->WaitFor(seconds);
    int code = -1;
    if (r) {
      code = r->exit_code;
      Finish(*r);
    } else {
      ADD_FAILURE() << "tcd node did not exit within " << seconds << " s of signal " << sig;
      Kill();
    }
    return code;
  }

  // Waits for the node to exit by itself; -1 (and SIGKILL) after `seconds`.
  int WaitExit(double seconds) {
    if (!proc_) return -1;
    auto r = proc_->WaitFor(seconds);
    if (!r) {
      Kill();
      return -1;
    }
    Finish(*r);
    return r->exit_code;
  }

  void Kill() {
    if (!proc_) return;
    proc_->Signal(SIGKILL);
    Finish(proc_->Wait());
  }

  // stdout + stderr of the current run so far.
  std::string CurrentLog() const { return proc_ ? proc_->Out() + proc_->Err() : last_log_; }
  std::string CurrentErr() const { return proc_ ? proc_->Err() : last_err_; }
  // Everything every run has logged (for failure messages).
  std::string Log() const {
    std::string s = history_;
    if (proc_) s += "---- run " + std::to_string(runs_) + " (running) ----\n" + CurrentLog();
    return s;
  }
  const std::string& config() const { return config_; }

 private:
  void Finish(const RunResult& r) {
    last_log_ = r.out + r.err;
    last_err_ = r.err;
    history_ += "---- run " + std::to_string(runs_) + " (exit " + std::to_string(r.exit_code) +
                ") ----\n" + last_log_;
    proc_.reset();
  }

  std::string config_;
  std::unique_ptr<Process> proc_;
  int runs_ = 0;
  std::string history_, last_log_, last_err_;
};

json OpenSessions(const json& status) {
  if (status.is_null() || !status.contains("open_sessions")) return json::array();
  return status["open_sessions"];
}

std::string SourceState(const json& status) {
  if (status.is_null() || !status.contains("sources") || status["sources"].empty()) return "";
  const json& s = status["sources"][0];
  return s.value("state", "");
}

// The value of `key` in a [[k, v], …] metadata array, or "" when absent.
std::string MetaValue(const json& meta, const std::string& key) {
  if (!meta.is_array()) return "";
  for (const auto& kv : meta)
    if (kv.is_array() && kv.size() == 2 && kv[0] == key) return kv[1].get<std::string>();
  return "";
}

class NodeDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override { SharedFixture(); }

  void TearDown() override {
    if (!HasFailure()) return;
    if (node_) std::cerr << "==== tcd node log ====\n" << node_->Log() << "\n";
    if (pub_) std::cerr << "==== publisher (ffmpeg) ====\n" << pub_->Log() << "\n";
    if (server_) std::cerr << "==== nginx ====\n" << server_->Log() << "\n";
    if (node_) {
      json st = node_->Status();
      if (!st.is_null()) std::cerr << "==== last status ====\n" << st.dump(2) << "\n";
    }
  }

  // RTMP server, config and node (not started).
  void Setup(double grace_seconds, ConfigOptions o = {}) {
    server_ = std::make_unique<RtmpServer>();
    url_ = server_->Url("conference");
    pub_ = std::make_unique<Publisher>(url_, /*start=*/false);
    o.url = url_;
    o.grace_seconds = grace_seconds;
    options_ = o;
    node_ = std::make_unique<Node>(WriteConfig(dir_, o));
  }

  std::string data() const { return dir_ / "data"; }

  // Polls until exactly one session is open (and has ≥ `min_segments`); returns it or null.
  json WaitForOpenSession(double seconds, int min_segments = 1,
                          const std::string& not_id = "") {
    json found = nullptr;
    Poll(seconds, [&] {
      json open = OpenSessions(node_->Status());
      if (open.size() != 1) return false;
      if (!not_id.empty() && open[0]["id"] == not_id) return false;
      if (open[0].value("segments", 0) < min_segments) return false;
      found = open[0];
      return true;
    });
    return found;
  }

  json Sessions() const {
    RunResult r = RunTcd({"sessions", "--data", data(), "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    json j = json::parse(r.out, nullptr, false);
    return j.is_discarded() ? json::array() : j;
  }

  json FindSession(const json& list, const std::string& id) const {
    for (const auto& s : list)
      if (s.value("id", "") == id) return s;
    return nullptr;
  }

  // Exports `id` and checks the MP4 plays with a video and an audio stream; returns its
  // duration in seconds (0 on failure).
  double ExpectExportPlays(const std::string& id) {
    const auto& f = SharedFixture();
    std::string out = dir_ / ("export-" + id + ".mp4");
    RunResult x = RunTcd({"export", "--data", data(), "--session", id, "--key",
                          f.keys + "/archive/archive.key", "--passphrase-file",
                          f.keys + "/passphrase", "--out", out});
    EXPECT_EQ(x.exit_code, 0) << "export " << id << ": " << x.err;
    if (x.exit_code != 0) return 0;
    json probe = testing::Probe(out);
    EXPECT_FALSE(probe.is_null()) << "ffprobe cannot read the export of " << id;
    if (probe.is_null()) return 0;
    EXPECT_EQ(probe["streams"].size(), 2u) << probe.dump(2);
    // Decoding the whole file must succeed too (not just the header).
    RunResult dec = testing::RunProgram("ffmpeg", {"-v", "error", "-xerror", "-i", out, "-f",
                                                   "null", "-"});
    EXPECT_EQ(dec.exit_code, 0) << "decoding the export of " << id << ": " << dec.err;
    return std::stod(probe["format"].value("duration", std::string("0")));
  }

  // Durations (µs) of the signed gap entries of a session (read-only; no node running).
  std::vector<int64_t> GapDurations(const std::string& id) {
    std::vector<int64_t> out;
    node::StoreOptions so;
    so.read_only = true;
    auto store = node::Store::Open(Env::Default(), data(), so);
    if (!store.ok()) {
      ADD_FAILURE() << store.status().ToString();
      return out;
    }
    auto sid = (*store)->ResolveSession(id);
    if (!sid.ok()) {
      ADD_FAILURE() << sid.status().ToString();
      return out;
    }
    auto chain = (*store)->catalog()->GetChain(*sid);
    if (!chain.ok()) {
      ADD_FAILURE() << chain.status().ToString();
      return out;
    }
    for (const auto& [seq, rec] : *chain) {
      auto e = crypto::DecodeEntry(rec.entry);
      if (e.ok() && e->kind == crypto::EntryKind::kGap) out.push_back(e->duration_us);
    }
    return out;
  }

  TempDir dir_;
  ConfigOptions options_;
  std::unique_ptr<RtmpServer> server_;
  std::string url_;
  std::unique_ptr<Publisher> pub_;
  std::unique_ptr<Node> node_;
};

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

// A window around the current local time: [now-5 min, now+30 min], or one hours away from it.
std::string ScheduleTable(bool including_now) {
  std::time_t t = std::time(nullptr);
  struct tm tm;
  localtime_r(&t, &tm);
  int m = tm.tm_hour * 60 + tm.tm_min, from, to;
  if (including_now) {
    from = std::max(0, m - 5);
    to = std::min(1440, m + 30);
  } else if (m + 180 <= 1440) {
    from = m + 120;
    to = m + 180;
  } else {
    from = m - 180;
    to = m - 120;
  }
  auto hhmm = [](int v) {
    char b[8];
    snprintf(b, sizeof b, "%02d:%02d", v / 60, v % 60);
    return std::string(b);
  };
  return "\n[[schedule]]\ndays = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\", \"sun\"]\n"
         "start = \"" + hhmm(from) + "\"\nend = \"" + hhmm(to) + "\"\n";
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
