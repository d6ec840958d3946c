// `tcd search` and `tcd reindex` through the real binary, on sessions recorded by `tcd record`.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/test_util.h"

namespace tcd {
namespace {

using testing::ReadFile;
using testing::RunTcd;
using testing::SharedFixture;
using testing::TempDir;

// Three short sessions: one with a citizen's name, two of one conference at two points.
class SearchCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const auto& f = SharedFixture();
    data_ = *dir_ / "data";
    auto record = [&](const std::vector<std::string>& meta) {
      std::vector<std::string> args = {
          "record", "--data", data_, "--node-key", f.keys + "/node/node.key", "--recipient",
          f.keys + "/archive/archive.pub", "--format", "lavfi", "--source",
          "testsrc2=size=160x120:rate=10", "--duration", "2", "--segment-seconds", "1"};
      for (const auto& m : meta) args.insert(args.end(), {"--meta", m});
      auto r = RunTcd(args);
      EXPECT_EQ(r.exit_code, 0) << r.err;
      std::string out = r.out;
      while (!out.empty() && out.back() == '\n') out.pop_back();
      return out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
    };
    a_ = record({"point=xa-tan-phu", "province=Đồng Nai", "participant=Nguyễn Văn An",
                 "chair=Trần Thị Bình", "type=complaint", "case=KN-2026/17"});
    b_ = record({"point=xa-an-binh", "province=Hà Nội", "participant=Lê Thị Cúc",
                 "type=petition", "case=KN-2026/18", "conference=HN-2026-05"});
    c_ = record({"point=phuong-hang-bac", "province=Hà Nội", "participant=Đặng Văn Dũng",
                 "type=petition", "case=KN-2026/19", "conference=HN-2026-05"});
  }
  static void TearDownTestSuite() { delete dir_; }

  static nlohmann::json Search(const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"search", "--data", data_, "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = RunTcd(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json::array();
  }
  static std::vector<std::string> Ids(const nlohmann::json& rows) {
    std::vector<std::string> ids;
    for (const auto& r : rows) ids.push_back(r["id"]);
    return ids;
  }

  static TempDir* dir_;
  static std::string data_, a_, b_, c_;
};
TempDir* SearchCliTest::dir_ = nullptr;
std::string SearchCliTest::data_, SearchCliTest::a_, SearchCliTest::b_, SearchCliTest::c_;

TEST_F(SearchCliTest, NamesTypedWithoutDiacriticsFindTheSession) {
  auto rows = Search({"--text", "nguyen van an"});
  ASSERT_EQ(Ids(rows), std::vector<std::string>{a_});
  EXPECT_EQ(rows[0]["point"], "xa-tan-phu");
  EXPECT_EQ(rows[0]["case"], "KN-2026/17");
  EXPECT_EQ(rows[0]["type"], "complaint");
  EXPECT_EQ(rows[0]["chair"], "Trần Thị Bình");
  EXPECT_EQ(rows[0]["location"], "local");
  EXPECT_NEAR(rows[0]["duration_s"].get<double>(), 2.0, 0.2);
  EXPECT_EQ(Ids(Search({"--province", "dong nai"})), std::vector<std::string>{a_});
  EXPECT_EQ(Ids(Search({"--text", "ĐỒNG NAI"})), std::vector<std::string>{a_});
  EXPECT_EQ(Ids(Search({"--chair", "binh"})), std::vector<std::string>{a_});
  EXPECT_TRUE(Search({"--text", "nguyen van cuc"}).empty());  // words of no one session
}

TEST_F(SearchCliTest, ResultsAreNewestFirstWithFilters) {
  EXPECT_EQ(Ids(Search({})), (std::vector<std::string>{c_, b_, a_}));
  // The one hit, followed by the other session of its conference.
  EXPECT_EQ(Ids(Search({"--type", "petition", "--province", "ha noi", "--limit", "1"})),
            (std::vector<std::string>{c_, b_}));
  EXPECT_EQ(Ids(Search({"--from", "2000-01-01", "--to", "2000-12-31"})),
            std::vector<std::string>{});
  EXPECT_EQ(Ids(Search({"--state", "sealed", "--participant", "dang dung"})),
            (std::vector<std::string>{c_, b_}));
}

TEST_F(SearchCliTest, ConferenceSessionsAreShownTogether) {
  auto rows = Search({"--case", "kn-2026/18"});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["id"], b_);
  EXPECT_TRUE(rows[0]["matched"].get<bool>());
  EXPECT_EQ(rows[1]["id"], c_);
  EXPECT_FALSE(rows[1]["matched"].get<bool>());
  EXPECT_EQ(rows[1]["conference"], "HN-2026-05");
  auto text = RunTcd({"search", "--data", data_, "--case", "KN-2026/18"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("-- conference HN-2026-05"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("(same conference)"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("1 session(s) matched"), std::string::npos) << text.out;
}

TEST_F(SearchCliTest, BadOptionsNameTheProblem) {
  auto r = RunTcd({"search", "--data", data_, "--to", "2026-02-30"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--to '2026-02-30'"), std::string::npos) << r.err;
  r = RunTcd({"search", "--data", data_, "--from", "2026-03-02", "--to", "2026-03-01"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("after --to"), std::string::npos) << r.err;
  r = RunTcd({"search", "--data", data_, "--state", "lost"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--state 'lost'"), std::string::npos) << r.err;
  r = RunTcd({"search", "--data", data_, "--chair", "--"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--chair"), std::string::npos) << r.err;
  r = RunTcd({"search", "--data", *dir_ / "nowhere", "--text", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("nowhere"), std::string::npos) << r.err;
}

TEST_F(SearchCliTest, EverySearchIsAuditedAndAnUnwritableAuditRefusesIt) {
  Search({"--text", "audit-probe-word"});
  std::string log = ReadFile(data_ + "/audit/audit.log");
  EXPECT_NE(log.find("audit-probe-word"), std::string::npos);
  auto v = RunTcd({"verify", "--audit", "--data", data_});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;

  TempDir copy;
  std::filesystem::copy(data_, copy / "data", std::filesystem::copy_options::recursive);
  std::filesystem::remove_all(copy / "data/audit");
  testing::WriteFile(copy / "data/audit", "not a directory");
  auto r = RunTcd({"search", "--data", copy / "data", "--text", "nguyen"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("search refused"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find(a_), std::string::npos) << "results shown without an audit record";
}

TEST_F(SearchCliTest, ReindexRebuildsTheSameIndex) {
  TempDir copy;
  std::filesystem::copy(data_, copy / "data", std::filesystem::copy_options::recursive);
  auto r = RunTcd({"reindex", "--data", copy / "data"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("3/3 sessions"), std::string::npos) << r.err;
  auto s = RunTcd({"search", "--data", copy / "data", "--json", "--text", "le thi cuc"});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  auto rows = nlohmann::json::parse(s.out);
  ASSERT_EQ(rows.size(), 2u);  // b_ and, as its conference, c_
  EXPECT_EQ(rows[0]["id"], b_);
}

}  // namespace
}  // namespace tcd
