// The audit log on the real filesystem: records round-trip, concurrent writers (threads and
// processes) keep one chain, every kind of tampering is named with its line, a torn tail is
// refused until repaired (and the repair keeps the bytes), and failures to write name the file.
#include "node/audit_log.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <boost/filesystem.hpp>
#include <gtest/gtest.h>

#include "base/fault_env.h"

namespace tcd::node {
namespace {

namespace fs = boost::filesystem;
using Json = nlohmann::json;

// The POSIX Env with a clock the test sets.
class ClockEnv : public FaultInjectionEnv {
 public:
  ClockEnv() : FaultInjectionEnv(Env::Default()) {}
  int64_t NowMicros() override { return now_us; }
  int64_t now_us = 1795343527123456;  // 2026-11-22T10:32:07.123456Z
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Spit(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

std::vector<std::string> SplitLines(const std::string& data) {  // each with its '\n'
  std::vector<std::string> out;
  for (size_t pos = 0; pos < data.size();) {
    size_t nl = data.find('\n', pos);
    size_t end = nl == std::string::npos ? data.size() : nl + 1;
    out.push_back(data.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l;
  return s;
}

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = (fs::temp_directory_path() / fs::unique_path("tcd-audit-test-%%%%-%%%%")).string();
    data_ = root_ + "/data";
    fs::create_directories(data_);
    log_ = AuditLogPath(data_);
  }
  void TearDown() override {
    boost::system::error_code ec;
    fs::permissions(data_, fs::owner_all, ec);
    fs::remove_all(root_, ec);
  }

  void Append(int i, const std::string& action = "search") {
    Status s = AppendAudit(&env_, data_, action, {{"text", "query " + std::to_string(i)}},
                           "ok", std::to_string(i) + " hits");
    ASSERT_TRUE(s.ok()) << s.ToString();
    env_.now_us += 1000000;
  }
  AuditReport Verify() {
    auto r = VerifyAudit(&env_, data_);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : AuditReport();
  }
  std::vector<AuditRecord> ReadAll(AuditReport* rep = nullptr) {
    std::vector<AuditRecord> records;
    auto r = ReadAudit(&env_, data_, AuditFilter(), &records);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (rep && r.ok()) *rep = *r;
    return records;
  }
  // Expects the verifier to name `line` with `problem`.
  void ExpectBad(uint64_t line, AuditProblem problem, const std::string& what) {
    AuditReport rep = Verify();
    EXPECT_FALSE(rep.ok()) << what;
    EXPECT_EQ(rep.bad_line, line) << what << ": " << rep.detail;
    EXPECT_EQ(AuditProblemName(rep.problem), std::string(AuditProblemName(problem)))
        << what << ": " << rep.detail;
    EXPECT_EQ(rep.records_checked, line - 1) << what;
  }

  ClockEnv env_;
  std::string root_, data_, log_;
};

TEST_F(AuditLogTest, AppendReadRoundTrip) {
  ASSERT_FALSE(fs::exists(data_ + "/audit"));
  Json what = {{"text", "Nguyễn Văn An"}, {"limit", 50}, {"states", {"sealed", "recovered"}},
               {"exact", true}, {"from", nullptr}};
  ASSERT_TRUE(AppendAudit(&env_, data_, "search", what, "ok", "12 hits").ok());
  env_.now_us += 5;
  ASSERT_TRUE(AppendAudit(&env_, data_, "export", {{"session", "abc"}}, "refused",
                          "wrong passphrase").ok());
  env_.now_us += 5;
  ASSERT_TRUE(AppendAudit(&env_, data_, "verify-bundle", nullptr, "failed", "").ok());

  struct stat st {};
  ASSERT_EQ(::stat(log_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0137, 0u) << "the log must not be group-writable or world-readable";

  AuditReport rep;
  auto recs = ReadAll(&rep);
  ASSERT_TRUE(rep.ok()) << rep.detail;
  EXPECT_EQ(rep.records_checked, 3u);
  ASSERT_EQ(recs.size(), 3u);
  struct passwd* pw = ::getpwuid(::geteuid());
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  for (size_t i = 0; i < recs.size(); ++i) {
    EXPECT_EQ(recs[i].seq, i);
    EXPECT_EQ(recs[i].line, i + 1);
    EXPECT_TRUE(recs[i].verified);
    EXPECT_EQ(recs[i].user, pw ? pw->pw_name : "");
    EXPECT_EQ(recs[i].uid, ::geteuid());
    EXPECT_EQ(recs[i].pid, ::getpid());
    EXPECT_EQ(recs[i].host, host);
    EXPECT_EQ(recs[i].prev, i == 0 ? crypto::Hash256{} : recs[i - 1].hash);
  }
  EXPECT_EQ(recs[0].time, "2026-11-22T10:32:07.123456Z");
  EXPECT_EQ(recs[0].time_us, 1795343527123456);
  EXPECT_EQ(recs[2].time, "2026-11-22T10:32:07.123466Z");
  EXPECT_EQ(recs[0].what, what);
  EXPECT_EQ(recs[0].detail, "12 hits");
  EXPECT_EQ(recs[1].action, "export");
  EXPECT_EQ(recs[1].result, "refused");
  EXPECT_EQ(recs[1].detail, "wrong passphrase");
  EXPECT_EQ(recs[2].what, Json::object());
  EXPECT_EQ(recs[2].result, "failed");
  EXPECT_EQ(rep.head, recs[2].hash);

  // One line per record, each ends in '\n'; the first chains onto 64 zeros.
  auto lines = SplitLines(Slurp(log_));
  ASSERT_EQ(lines.size(), 3u);
  for (const auto& l : lines) EXPECT_EQ(l.back(), '\n');
  EXPECT_NE(lines[0].find("\"prev\":\"" + std::string(64, '0') + "\""), std::string::npos);
  EXPECT_NE(lines[0].find("Nguyễn Văn An"), std::string::npos) << "UTF-8 is stored as is";
}

TEST_F(AuditLogTest, KnownAnswerMatchesIndependentPythonVector) {
  // docs/FORMAT.md §Audit log; computed with Python json.dumps(sort_keys=True, …) and hashlib.
  AuditRecord r;
  r.seq = 0;
  r.time_us = 1795343527123456;
  r.user = "archivist";
  r.uid = 1001;
  r.host = "tinh-dongnai-01";
  r.pid = 4242;
  r.action = "search";
  r.what = {{"text", "Nguyễn Văn An"}, {"case", "KN-2026/117"}, {"limit", 50}};
  r.result = "ok";
  r.detail = "12 hits";
  const std::string line1 = EncodeAuditLine(&r);
  EXPECT_EQ(ToHex(r.hash), "6dab532cd6ffc10cd4a491b388b37676ffd870ec5459c542aa8a08884aed5f29");
  EXPECT_EQ(line1,
            "{\"action\":\"search\",\"detail\":\"12 hits\",\"hash\":\"6dab532cd6ffc10cd4a491b388b"
            "37676ffd870ec5459c542aa8a08884aed5f29\",\"host\":\"tinh-dongnai-01\",\"pid\":4242,"
            "\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\","
            "\"result\":\"ok\",\"seq\":0,\"sudo_user\":\"\",\"time\":\"2026-11-22T10:32:07."
            "123456Z\",\"uid\":1001,\"user\":\"archivist\",\"v\":1,\"what\":{\"case\":\"KN-2026/"
            "117\",\"limit\":50,\"text\":\"Nguyễn Văn An\"}}\n");
  AuditRecord r2;
  r2.seq = 1;
  r2.time_us = 1795343700000001;
  r2.user = "tcd";
  r2.uid = 998;
  r2.sudo_user = "alice";
  r2.host = "tinh-dongnai-01";
  r2.pid = 4250;
  r2.action = "export";
  r2.what = {{"session", "3f1c9a2e-0000-4000-8000-00000000abcd"}, {"out", "/tmp/out.mp4"}};
  r2.result = "refused";
  r2.detail = "wrong passphrase";
  r2.prev = r.hash;
  const std::string line2 = EncodeAuditLine(&r2);
  EXPECT_EQ(r2.time, "2026-11-22T10:35:00.000001Z");
  EXPECT_EQ(ToHex(r2.hash), "362279b89c5d162c1108054ba3656c6b042e8d704b96076c27f22002348e80ad");

  // The vectors form a log the verifier accepts.
  fs::create_directories(data_ + "/audit");
  Spit(log_, line1 + line2);
  AuditReport rep = Verify();
  EXPECT_TRUE(rep.ok()) << rep.detail;
  EXPECT_EQ(rep.records_checked, 2u);
  EXPECT_EQ(rep.head, r2.hash);
}

TEST_F(AuditLogTest, SudoUserIsRecorded) {
  ::setenv("SUDO_USER", "alice", 1);
  Append(0);
  ::unsetenv("SUDO_USER");
  Append(1);
  auto recs = ReadAll();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].sudo_user, "alice");
  EXPECT_EQ(recs[1].sudo_user, "");
}

TEST_F(AuditLogTest, FilterByTimeAndAction) {
  for (int i = 0; i < 6; ++i) Append(i, i % 2 ? "export" : "search");  // one second apart
  const int64_t t0 = 1795343527123456;
  std::vector<AuditRecord> recs;
  AuditFilter f;
  f.from_us = t0 + 1000000;
  f.to_us = t0 + 4000000;
  ASSERT_TRUE(ReadAudit(&env_, data_, f, &recs).ok());
  ASSERT_EQ(recs.size(), 3u);  // seq 1, 2, 3: from inclusive, to exclusive
  EXPECT_EQ(recs.front().seq, 1u);
  EXPECT_EQ(recs.back().seq, 3u);
  recs.clear();
  f = AuditFilter();
  f.action = "export";
  ASSERT_TRUE(ReadAudit(&env_, data_, f, &recs).ok());
  ASSERT_EQ(recs.size(), 3u);
  for (const auto& r : recs) EXPECT_EQ(r.action, "export");
}

TEST_F(AuditLogTest, BadArgumentsAreRefusedAndWriteNothing) {
  EXPECT_TRUE(AppendAudit(&env_, data_, "Search", Json::object(), "ok", "").IsInvalidArgument());
  EXPECT_TRUE(AppendAudit(&env_, data_, "", Json::object(), "ok", "").IsInvalidArgument());
  EXPECT_TRUE(AppendAudit(&env_, data_, "search", Json::object(), "done", "").IsInvalidArgument());
  EXPECT_TRUE(AppendAudit(&env_, data_, "search", Json::array(), "ok", "").IsInvalidArgument());
  Status s = AppendAudit(&env_, data_, "search", {{"opts", {{"ratio", 0.5}}}}, "ok", "");
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("what.opts.ratio"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(log_), std::string::npos) << s.message();
  EXPECT_FALSE(fs::exists(log_));
}

TEST_F(AuditLogTest, InvalidUtf8IsReplacedAndTheChainVerifies) {
  ASSERT_TRUE(AppendAudit(&env_, data_, "search", {{"text", "bad \xff byte"}, {"k\xfe", 1}},
                          "failed", "error in /tmp/\xc3(").ok());
  auto recs = ReadAll();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].what["text"], "bad \xEF\xBF\xBD byte");
  EXPECT_TRUE(recs[0].what.contains("k\xEF\xBF\xBD"));
  EXPECT_EQ(recs[0].detail, "error in /tmp/\xEF\xBF\xBD(");
  EXPECT_TRUE(Verify().ok());
}

// Every record of every writer is there exactly once, and the chain verifies.
void ExpectAllPresent(const std::vector<AuditRecord>& recs, int writers, int each) {
  std::set<std::string> seen;
  for (const auto& r : recs) {
    EXPECT_TRUE(r.verified);
    EXPECT_TRUE(seen.insert(r.what["id"].get<std::string>()).second) << "duplicate";
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(writers * each));
  for (int w = 0; w < writers; ++w)
    for (int i = 0; i < each; ++i)
      EXPECT_TRUE(seen.count(std::to_string(w) + "/" + std::to_string(i))) << w << "/" << i;
}

TEST_F(AuditLogTest, ConcurrentThreadsKeepOneChain) {
  constexpr int kThreads = 8, kEach = 25;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        Json what = {{"id", std::to_string(t) + "/" + std::to_string(i)}};
        if (!AppendAudit(Env::Default(), data_, "search", what, "ok", "").ok()) ++failures;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  AuditReport rep;
  auto recs = ReadAll(&rep);
  EXPECT_TRUE(rep.ok()) << rep.detail;
  EXPECT_EQ(rep.records_checked, uint64_t{kThreads * kEach});
  ExpectAllPresent(recs, kThreads, kEach);
}

TEST_F(AuditLogTest, ConcurrentProcessesKeepOneChain) {
  constexpr int kProcs = 4, kThreadsEach = 2, kEach = 20;
  std::vector<pid_t> pids;
  for (int p = 0; p < kProcs; ++p) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int bad = 0;
      std::vector<std::thread> threads;
      for (int t = 0; t < kThreadsEach; ++t)
        threads.emplace_back([&, t] {
          for (int i = 0; i < kEach; ++i) {
            const int writer = p * kThreadsEach + t;
            Json what = {{"id", std::to_string(writer) + "/" + std::to_string(i)}};
            if (!AppendAudit(Env::Default(), data_, "export", what, "ok", "").ok()) ++bad;
          }
        });
      for (auto& t : threads) t.join();
      ::_exit(bad == 0 ? 0 : 1);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a child failed to append";
  }
  AuditReport rep;
  auto recs = ReadAll(&rep);
  EXPECT_TRUE(rep.ok()) << rep.detail;
  EXPECT_EQ(rep.records_checked, uint64_t{kProcs * kThreadsEach * kEach});
  ExpectAllPresent(recs, kProcs * kThreadsEach, kEach);
  std::set<int64_t> writers;
  for (const auto& r : recs) writers.insert(r.pid);
  EXPECT_EQ(writers.size(), static_cast<size_t>(kProcs));
}

// ---- tampering ----

class AuditTamperTest : public AuditLogTest {
 protected:
  static constexpr int kRecords = 6;
  void SetUp() override {
    AuditLogTest::SetUp();
    for (int i = 0; i < kRecords; ++i) Append(i, i % 2 ? "export" : "search");
    original_ = SplitLines(Slurp(log_));
    ASSERT_EQ(original_.size(), size_t{kRecords});
  }
  void Write(const std::vector<std::string>& lines) { Spit(log_, Join(lines)); }
  // Line k (1-based) with member `key` set to `value`, re-encoded canonically.
  std::string Edited(int k, const std::string& key, const Json& value) {
    Json j = Json::parse(original_[k - 1]);
    j[key] = value;
    return j.dump(-1, ' ', false) + "\n";
  }
  std::vector<std::string> original_;
};

TEST_F(AuditTamperTest, EditingAnyFieldOfAnyRecordNamesItsLine) {
  const std::vector<std::pair<std::string, Json>> edits = {
      {"action", "verify-bundle"}, {"detail", "999 hits"},   {"host", "elsewhere"},
      {"pid", 999999999},           {"result", "failed"},   {"sudo_user", "mallory"},
      {"time", "2026-11-22T09:00:00.000000Z"},             {"uid", 4321},
      {"user", "mallory"},         {"what", {{"text", "something else"}}},
      {"hash", std::string(64, 'a')}, {"prev", std::string(64, 'b')},
      {"seq", 99},                 {"v", 2}};
  for (int k = 1; k <= kRecords; ++k) {
    for (const auto& [key, value] : edits) {
      auto lines = original_;
      lines[k - 1] = Edited(k, key, value);
      Write(lines);
      AuditProblem want = AuditProblem::kHashMismatch;
      if (key == "seq") want = AuditProblem::kSeqGap;
      if (key == "prev") want = AuditProblem::kPrevMismatch;
      if (key == "v") want = AuditProblem::kBadRecord;
      ExpectBad(k, want, "line " + std::to_string(k) + " field " + key);
    }
  }
  // A single changed byte, without re-encoding.
  auto lines = original_;
  lines[2][lines[2].find("2 hits")] = '3';
  Write(lines);
  ExpectBad(3, AuditProblem::kHashMismatch, "one byte");
}

TEST_F(AuditTamperTest, DeletingALineNamesIt) {
  for (int k = 1; k < kRecords; ++k) {
    auto lines = original_;
    lines.erase(lines.begin() + (k - 1));
    Write(lines);
    ExpectBad(k, AuditProblem::kSeqGap, "deleted line " + std::to_string(k));
  }
  // The last line cut cleanly leaves a valid, shorter chain: only the head hash shows it.
  AuditReport full = Verify();
  auto lines = original_;
  lines.pop_back();
  Write(lines);
  AuditReport shorter = Verify();
  EXPECT_TRUE(shorter.ok());
  EXPECT_EQ(shorter.records_checked, uint64_t{kRecords - 1});
  EXPECT_NE(shorter.head, full.head);
}

TEST_F(AuditTamperTest, SwappingTwoLinesNamesTheFirst) {
  for (int k = 1; k < kRecords; ++k) {
    auto lines = original_;
    std::swap(lines[k - 1], lines[k]);
    Write(lines);
    ExpectBad(k, AuditProblem::kSeqGap, "swapped " + std::to_string(k));
  }
}

TEST_F(AuditTamperTest, TruncatingTheTailMidLineNamesTheLastLine) {
  auto lines = original_;
  lines.back().resize(lines.back().size() / 2);
  Write(lines);
  ExpectBad(kRecords, AuditProblem::kIncompleteLine, "truncated");
  auto both = original_;
  both.back().pop_back();  // only the newline missing
  Write(both);
  ExpectBad(kRecords, AuditProblem::kIncompleteLine, "newline cut");
}

TEST_F(AuditTamperTest, ForgedLinesAreFound) {
  const std::vector<AuditRecord> recs = ReadAll();
  for (int k = 2; k <= kRecords; ++k) {
    // A well-formed record with a correct hash, the right seq, but a wrong prev.
    AuditRecord forged = recs[k - 1];
    forged.detail = "forged";
    forged.prev = recs[0].hash;
    if (k == 2) forged.prev[0] ^= 1;
    auto lines = original_;
    lines.insert(lines.begin() + (k - 1), EncodeAuditLine(&forged));
    Write(lines);
    ExpectBad(k, AuditProblem::kPrevMismatch, "forged prev at " + std::to_string(k));
    // With the right prev too, the genuine record after it no longer fits.
    forged.prev = recs[k - 2].hash;
    lines[k - 1] = EncodeAuditLine(&forged);
    Write(lines);
    ExpectBad(k + 1, AuditProblem::kSeqGap, "forged at " + std::to_string(k));
  }
}

TEST_F(AuditTamperTest, NonCanonicalOrAmbiguousLinesAreRefused) {
  auto lines = original_;
  lines[3].insert(1, " ");
  Write(lines);
  ExpectBad(4, AuditProblem::kBadRecord, "space");
  lines = original_;
  lines[3].insert(1, "\"result\":\"failed\",");  // a duplicate member
  Write(lines);
  ExpectBad(4, AuditProblem::kBadRecord, "duplicate member");
  lines = original_;
  lines[1] = "not json\n";
  Write(lines);
  ExpectBad(2, AuditProblem::kBadJson, "garbage");
  lines = original_;
  lines[4] = Edited(5, "pid", 1.5);
  Write(lines);
  ExpectBad(5, AuditProblem::kBadRecord, "float");
}

TEST_F(AuditTamperTest, ListingShowsRecordsAfterTheProblemAsUnverified) {
  auto lines = original_;
  lines[2] = Edited(3, "detail", "edited");
  Write(lines);
  AuditReport rep;
  auto recs = ReadAll(&rep);
  EXPECT_EQ(rep.bad_line, 3u);
  ASSERT_EQ(recs.size(), size_t{kRecords});
  EXPECT_TRUE(recs[1].verified);
  EXPECT_FALSE(recs[2].verified);
  EXPECT_FALSE(recs[5].verified);
}

// ---- torn tail ----

TEST_F(AuditTamperTest, TornTailIsRefusedUntilRepairedAndKeptAsEvidence) {
  AuditRecord next;
  next.seq = kRecords;
  next.action = "search";
  next.what = Json::object();
  next.result = "ok";
  const std::string torn = EncodeAuditLine(&next).substr(0, 40);
  Spit(log_, Join(original_) + torn);
  const std::string before = Slurp(log_);

  ExpectBad(kRecords + 1, AuditProblem::kIncompleteLine, "torn");
  Status s = AppendAudit(&env_, data_, "search", Json::object(), "ok", "");
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find(log_), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("line 7"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("tcd audit --repair"), std::string::npos) << s.message();
  EXPECT_EQ(Slurp(log_), before) << "a refused append must not change the log";

  auto done = RepairAudit(&env_, data_);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_NE(done->find("line 7"), std::string::npos) << *done;

  // The torn bytes are kept, byte for byte, and the repair is itself a record.
  AuditReport rep;
  auto recs = ReadAll(&rep);
  ASSERT_TRUE(rep.ok()) << rep.detail;
  ASSERT_EQ(recs.size(), size_t{kRecords + 1});
  const AuditRecord& repair = recs.back();
  EXPECT_EQ(repair.action, "audit-repair");
  EXPECT_EQ(repair.seq, uint64_t{kRecords});
  EXPECT_EQ(repair.what["line"], kRecords + 1);
  EXPECT_EQ(repair.what["bytes"], torn.size());
  EXPECT_EQ(repair.what["offset"], Join(original_).size());
  EXPECT_EQ(repair.what["problem"], "incomplete-line");
  EXPECT_EQ(repair.what["blake2b"], ToHex(crypto::Blake2b256(AsBytes(torn))));
  const std::string evidence = data_ + "/audit/" + repair.what["saved_as"].get<std::string>();
  EXPECT_EQ(Slurp(evidence), torn);
  EXPECT_EQ(Slurp(log_).substr(0, Join(original_).size()), Join(original_));

  Append(100);
  EXPECT_TRUE(Verify().ok());
  EXPECT_EQ(Verify().records_checked, uint64_t{kRecords + 2});
  // Nothing left to repair.
  auto again = RepairAudit(&env_, data_);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->find("nothing to repair"), std::string::npos);
}

TEST_F(AuditTamperTest, ZeroFilledLastLineIsATornWriteToo) {
  Spit(log_, Join(original_) + std::string(300, '\0') + "\n");
  ExpectBad(kRecords + 1, AuditProblem::kBadJson, "zeros");
  EXPECT_TRUE(AppendAudit(&env_, data_, "search", Json::object(), "ok", "").IsCorruption());
  ASSERT_TRUE(RepairAudit(&env_, data_).ok());
  EXPECT_TRUE(Verify().ok());
}

TEST_F(AuditLogTest, TornFirstLineIsRepairedIntoSeqZero) {
  fs::create_directories(data_ + "/audit");
  Spit(log_, "{\"action\":\"sea");
  EXPECT_TRUE(AppendAudit(&env_, data_, "search", Json::object(), "ok", "").IsCorruption());
  ASSERT_TRUE(RepairAudit(&env_, data_).ok());
  auto recs = ReadAll();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].seq, 0u);
  EXPECT_EQ(recs[0].action, "audit-repair");
}

TEST_F(AuditTamperTest, RepairNeverCutsEvidence) {
  auto lines = original_;
  lines[1] = Edited(2, "detail", "edited");
  Write(lines);
  const std::string before = Slurp(log_);
  auto r = RepairAudit(&env_, data_);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsCorruption());
  EXPECT_NE(r.status().message().find("line 2"), std::string::npos) << r.status().message();
  EXPECT_EQ(Slurp(log_), before);

  // A damaged (not torn) last record: appends and repair both refuse.
  lines = original_;
  lines.back() = Edited(kRecords, "detail", "edited");
  Write(lines);
  Status s = AppendAudit(&env_, data_, "search", Json::object(), "ok", "");
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_NE(s.message().find("line 6"), std::string::npos) << s.message();
  EXPECT_FALSE(RepairAudit(&env_, data_).ok());
}

TEST_F(AuditTamperTest, DamageInsideTheLogDoesNotStopAppendsButStaysVisible) {
  auto lines = original_;
  lines[1] = Edited(2, "detail", "edited");
  Write(lines);
  Append(7);  // chains onto the (intact) last record
  ExpectBad(2, AuditProblem::kHashMismatch, "still named after an append");
  EXPECT_EQ(SplitLines(Slurp(log_)).size(), size_t{kRecords + 1});
}

TEST_F(AuditTamperTest, TimeGoingBackwardsIsAWarning) {
  env_.now_us -= 3600LL * 1000000;
  Append(7);
  AuditReport rep = Verify();
  EXPECT_TRUE(rep.ok()) << rep.detail;
  ASSERT_EQ(rep.warnings.size(), 1u);
  EXPECT_EQ(rep.warnings[0].line, uint64_t{kRecords + 1});
  EXPECT_NE(rep.warnings[0].detail.find("backwards"), std::string::npos);
}

// ---- failures to write ----

TEST_F(AuditLogTest, UnwritableDirectoryFailsNamingTheLog) {
  // As root, permissions do not stop us: try as "nobody" in a child process.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ::chmod(data_.c_str(), 0755);
  ::chmod(root_.c_str(), 0755);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    if (::geteuid() == 0 &&
        (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0))
      ::_exit(3);
    if (::geteuid() != 0) ::chmod(data_.c_str(), 0555);
    Status s = AppendAudit(Env::Default(), data_, "search", Json::object(), "ok", "");
    std::string msg = std::to_string(static_cast<int>(s.code())) + " " + s.message();
    ssize_t w = ::write(fds[1], msg.data(), msg.size());
    ::_exit(w > 0 ? 0 : 4);
  }
  ::close(fds[1]);
  std::string msg;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) msg.append(buf, size_t(n));
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  EXPECT_EQ(msg.substr(0, 2), std::to_string(int(Status::Code::kPermission)) + " ") << msg;
  EXPECT_NE(msg.find(log_), std::string::npos) << msg;
  EXPECT_NE(msg.find("Permission denied"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(log_));
}

TEST_F(AuditLogTest, OtherWriteFailuresNameTheLog) {
  Spit(data_ + "/audit", "a file where the directory should be");
  Status s = AppendAudit(&env_, data_, "search", Json::object(), "ok", "");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(log_), std::string::npos) << s.message();

  const std::string missing = root_ + "/no-such-data";
  s = AppendAudit(&env_, missing, "search", Json::object(), "ok", "");
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_NE(s.message().find(AuditLogPath(missing)), std::string::npos) << s.message();
  EXPECT_FALSE(fs::exists(missing)) << "a mistyped data directory must not be created";

  auto r = VerifyAudit(&env_, data_ + "/elsewhere");
  EXPECT_TRUE(r.status().IsNotFound());
  EXPECT_NE(r.status().message().find("audit.log"), std::string::npos);
}

TEST_F(AuditLogTest, ARecordTooLongIsRefused) {
  Status s = AppendAudit(&env_, data_, "search", {{"text", std::string(kMaxAuditLine, 'x')}},
                         "ok", "");
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  Append(1);
  EXPECT_TRUE(Verify().ok());
  EXPECT_EQ(Verify().records_checked, 1u);
}

}  // namespace
}  // namespace tcd::node
