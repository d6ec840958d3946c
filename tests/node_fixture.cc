// Definitions for node_fixture.h.
#include "tests/node_fixture.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <iostream>
#include <thread>

#include "crypto/chain.h"
#include "node/store.h"

namespace tcd {

using nlohmann::json;
using testing::Process;
using testing::Publisher;
using testing::RtmpServer;
using testing::RunResult;
using testing::RunTcd;
using testing::SharedFixture;
using testing::TempDir;

void Sleep(double seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

bool Poll(double seconds, const std::function<bool()>& pred) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    Sleep(0.2);
  }
}

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

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

void Node::Start() {
  ASSERT_FALSE(proc_) << "node already running";
  proc_ = std::make_unique<Process>(TCD_BINARY_PATH,
                                    std::vector<std::string>{"node", "--config", config_});
  ++runs_;
}

json Node::Status() const {
  RunResult r = RunTcd({"status", "--config", config_, "--json"});
  if (r.exit_code != 0) return nullptr;
  json j = json::parse(r.out, nullptr, false);
  return j.is_discarded() ? json(nullptr) : j;
}

bool Node::WaitUp(double seconds) {
  return Poll(seconds, [&] { return !Running() || !Status().is_null(); }) && Running();
}

int Node::Stop(int sig, double seconds) {
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

int Node::WaitExit(double seconds) {
  if (!proc_) return -1;
  auto r = proc_->WaitFor(seconds);
  if (!r) {
    Kill();
    return -1;
  }
  Finish(*r);
  return r->exit_code;
}

void Node::Kill() {
  if (!proc_) return;
  proc_->Signal(SIGKILL);
  Finish(proc_->Wait());
}

std::string Node::Log() const {
  std::string s = history_;
  if (proc_) s += "---- run " + std::to_string(runs_) + " (running) ----\n" + CurrentLog();
  return s;
}

void Node::Finish(const RunResult& r) {
  last_log_ = r.out + r.err;
  last_err_ = r.err;
  history_ += "---- run " + std::to_string(runs_) + " (exit " + std::to_string(r.exit_code) +
              ") ----\n" + last_log_;
  proc_.reset();
}

json OpenSessions(const json& status) {
  if (status.is_null() || !status.contains("open_sessions")) return json::array();
  return status["open_sessions"];
}

std::string SourceState(const json& status) {
  if (status.is_null() || !status.contains("sources") || status["sources"].empty()) return "";
  const json& s = status["sources"][0];
  return s.value("state", "");
}

std::string MetaValue(const json& meta, const std::string& key) {
  if (!meta.is_array()) return "";
  for (const auto& kv : meta)
    if (kv.is_array() && kv.size() == 2 && kv[0] == key) return kv[1].get<std::string>();
  return "";
}

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
    char b[16];  // room for any int, so -Wformat-truncation stays quiet
    snprintf(b, sizeof b, "%02d:%02d", v / 60, v % 60);
    return std::string(b);
  };
  return "\n[[schedule]]\ndays = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\", \"sun\"]\n"
         "start = \"" + hhmm(from) + "\"\nend = \"" + hhmm(to) + "\"\n";
}

void NodeDaemonTest::TearDown() {
  if (!HasFailure()) return;
  if (node_) std::cerr << "==== tcd node log ====\n" << node_->Log() << "\n";
  if (pub_) std::cerr << "==== publisher (ffmpeg) ====\n" << pub_->Log() << "\n";
  if (server_) std::cerr << "==== nginx ====\n" << server_->Log() << "\n";
  if (node_) {
    json st = node_->Status();
    if (!st.is_null()) std::cerr << "==== last status ====\n" << st.dump(2) << "\n";
  }
}

void NodeDaemonTest::Setup(double grace_seconds, ConfigOptions o) {
  server_ = std::make_unique<RtmpServer>();
  url_ = server_->Url("conference");
  pub_ = std::make_unique<Publisher>(url_, /*start=*/false);
  o.url = url_;
  o.grace_seconds = grace_seconds;
  options_ = o;
  node_ = std::make_unique<Node>(WriteConfig(dir_, o));
}

json NodeDaemonTest::WaitForOpenSession(double seconds, int min_segments,
                                        const std::string& not_id) {
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

json NodeDaemonTest::Sessions() const {
  RunResult r = RunTcd({"sessions", "--data", data(), "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out, nullptr, false);
  return j.is_discarded() ? json::array() : j;
}

double NodeDaemonTest::ExpectExportPlays(const std::string& id) {
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

std::vector<int64_t> NodeDaemonTest::GapDurations(const std::string& id) {
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

}  // namespace tcd
