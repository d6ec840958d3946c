// Search: Catalog::Search against a brute-force reference on a generated catalog
// of Vietnamese names, case types, conferences and annotations.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <thread>

#include "node/search_test_fixture.h"

namespace tcd::node {
namespace {

using namespace search_testing;

const char* const kFamily[] = {"Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Đặng", "Đỗ", "Ngô"};
const char* const kMiddle[] = {"Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc"};
const char* const kGiven[] = {"An", "Bình", "Cúc", "Dũng", "Hùng", "Lan", "Mai", "Sơn", "Yến"};
const char* const kProvinces[] = {"Đồng Nai", "Thừa Thiên Huế", "Hà Nội", "Bà Rịa – Vũng Tàu",
                                  "Đà Nẵng"};
const char* const kTypes[] = {"complaint", "denunciation", "petition", "feedback"};

// 600 sessions over 100 days: names, provinces, points, cases, types; some conferences and
// annotations (a new case number, an added participant, a note).
class GeneratedSearchTest : public SearchTest {
 protected:
  void SetUp() override {
    SearchTest::SetUp();
    std::mt19937 rng(7);
    auto pick = [&](const auto& arr) { return arr[rng() % std::size(arr)]; };
    auto name = [&] {
      return std::string(pick(kFamily)) + " " + pick(kMiddle) + " " + pick(kGiven);
    };
    for (uint32_t i = 0; i < 600; ++i) {
      Generated g;
      g.id = MakeId(i);
      // Some sessions share a start time (tie order: session id).
      g.start_us = kT0 + static_cast<int64_t>(rng() % 100) * kDay +
                   static_cast<int64_t>(rng() % 4) * 3'600'000'000;
      g.state = i % 13 == 0 ? SessionState::kRecovered : SessionState::kSealed;
      std::string province = pick(kProvinces);
      g.meta = {{"point", "xa-" + std::to_string(rng() % 40)},
                {"province", province},
                {"case", "KN-2024/" + std::to_string(rng() % 200)},
                {"type", pick(kTypes)},
                {"chair", name()},
                {"participant", name()},
                {"participant", name()}};
      if (i % 9 == 0) g.meta.push_back({"note", "Khiếu nại về đất đai ở " + province});
      if (i % 20 < 3) g.meta.push_back({"conference", "HN-" + std::to_string(i / 20)});
      std::vector<crypto::Metadata> ann;
      if (i % 17 == 0) ann.push_back({{"case", "TC-2025/" + std::to_string(i)}});
      if (i % 23 == 0) ann.push_back({{"participant", "Vũ Thị Thảo"}, {"note", "bổ sung"}});
      for (const auto& a : ann) g.meta.insert(g.meta.end(), a.begin(), a.end());
      Add(g, ann);
    }
  }
};

// A query of kind `round % 8` about a random generated session.
SearchQuery RandomQuery(std::mt19937& rng, int round, const std::vector<Generated>& all) {
  auto pick = [&](const auto& arr) { return arr[rng() % std::size(arr)]; };
  SearchQuery q;
  q.limit = round % 3 == 0 ? 0 : 1 + rng() % 30;
  const Generated& g = all[rng() % all.size()];
  auto value = [&](const std::string& key) {
    for (const auto& [k, v] : g.meta)
      if (k == key) return v;
    return std::string();
  };
  switch (round % 8) {
    case 0: q.text = FoldText(value("participant")); break;  // typed without diacritics
    case 1: q.point = value("point"); q.from_us = g.start_us - 10 * kDay; break;
    case 2: q.province = value("province"); q.type = value("type"); break;
    case 3: q.case_number = value("case"); break;
    case 4: q.chair = pick(kGiven); q.to_us = g.start_us; break;
    case 5: q.participant = std::string(pick(kFamily)) + " " + pick(kGiven); break;
    case 6: q.text = "DONG nai khieu nai"; q.states = {SessionState::kSealed}; break;
    case 7:
      q.from_us = g.start_us;
      q.to_us = g.start_us + 3 * kDay;
      q.text = pick(kMiddle);
      break;
  }
  return q;
}


TEST_F(GeneratedSearchTest, MatchesTheReferenceForRandomQueries) {
  std::mt19937 rng(11);
  int nonempty = 0;
  for (int round = 0; round < 400; ++round) {
    SearchQuery q = RandomQuery(rng, round, all_);
    auto want = Reference(q);
    nonempty += !want.empty();
    ASSERT_EQ(Ids(q), want) << "round " << round << " " << Describe(q);
  }
  EXPECT_GT(nonempty, 300);  // the queries do find things
}

// Posting lists are appended to with merge operands: answers stay the same once they are
// merged into stored lists by compaction, and when new sessions (arriving out of time order,
// as replicated ones do) add operands on top of compacted lists.
TEST_F(GeneratedSearchTest, AnswersSurviveCompactionAndLaterAppends) {
  std::mt19937 rng(5);
  auto check = [&](const char* when) {
    for (int round = 0; round < 160; ++round) {
      SearchQuery q = RandomQuery(rng, round, all_);
      ASSERT_EQ(Ids(q), Reference(q)) << when << ", round " << round << " " << Describe(q);
    }
  };
  ASSERT_TRUE(catalog_->Compact().ok());
  check("after compaction");
  for (uint32_t i = 600; i < 700; ++i) {
    Generated g = all_[rng() % all_.size()];  // same words, other times
    g.id = MakeId(i);
    g.start_us = kT0 + static_cast<int64_t>(rng() % 120) * kDay - 10 * kDay;
    Add(g);
  }
  check("after appends on compacted lists");
  ASSERT_TRUE(catalog_->Compact().ok());
  check("after a second compaction");
}

// A read-only catalog (`tcd search`) keeps its iterators between searches: a search after
// one that stopped anywhere (a limit reached mid-bucket, a prefix word's many lists, an error)
// answers the same, also with four threads searching at once.
TEST_F(GeneratedSearchTest, ReadOnlyCatalogAnswersManySearchesAlike) {
  ASSERT_TRUE(catalog_->Compact().ok());  // no write-ahead log left for the read-only open
  catalog_.reset();
  auto ro = Catalog::Open(dir_.string(), true);
  ASSERT_TRUE(ro.ok()) << ro.status().ToString();
  catalog_ = std::move(ro).value();
  std::mt19937 rng(13);
  std::vector<SearchQuery> queries;
  for (int round = 0; round < 240; ++round) {
    queries.push_back(RandomQuery(rng, round, all_));
    if (round % 5 == 0) queries.back().text = "ng*";  // many lists, one per word
    if (round % 7 == 0) queries.back().text = "1*";   // too many words: refused
  }
  std::vector<Result<std::vector<crypto::SessionId>>> want;
  for (const auto& q : queries) {
    auto hits = catalog_->Search(q);
    if (!hits.ok()) {
      want.push_back(hits.status());
      continue;
    }
    std::vector<crypto::SessionId> ids;
    for (const auto& h : *hits) ids.push_back(h.session.id);
    if (q.text != "ng*" && q.text != "1*") {
      EXPECT_EQ(ids, Reference(q)) << Describe(q);
    }
    want.push_back(std::move(ids));
  }
  auto search_all = [&](size_t from, std::vector<std::string>* wrong) {
    for (size_t k = 0; k < queries.size(); ++k) {
      const size_t i = (from + k) % queries.size();
      auto hits = catalog_->Search(queries[i]);
      if (hits.ok() != want[i].ok()) {
        wrong->push_back("query " + std::to_string(i) + ": " + hits.status().ToString());
        continue;
      }
      if (!hits.ok()) continue;
      std::vector<crypto::SessionId> ids;
      for (const auto& h : *hits) ids.push_back(h.session.id);
      if (ids != *want[i]) wrong->push_back("query " + std::to_string(i) + " " + Describe(queries[i]));
    }
  };
  std::vector<std::string> wrong;
  search_all(0, &wrong);  // again, with the kept iterators
  EXPECT_TRUE(wrong.empty()) << wrong.size() << " answers changed, first: " << wrong.front();
  std::vector<std::vector<std::string>> per_thread(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < per_thread.size(); ++t)
    threads.emplace_back(search_all, t * 60, &per_thread[t]);
  for (auto& t : threads) t.join();
  for (const auto& w : per_thread)
    EXPECT_TRUE(w.empty()) << w.size() << " answers changed in a thread, first: " << w.front();
}

TEST_F(GeneratedSearchTest, DiacriticFreeNamesFindVietnameseNames) {
  SearchQuery q;
  q.text = "dong nai";
  q.limit = 0;
  q.with_metadata = true;
  auto hits = catalog_->Search(q);
  ASSERT_TRUE(hits.ok());
  ASSERT_FALSE(hits->empty());
  for (const auto& h : *hits) {
    bool found = false;
    for (const auto& [k, v] : h.Meta()) found |= v.find("Đồng Nai") != std::string::npos;
    EXPECT_TRUE(found) << crypto::SessionIdToString(h.session.id);
  }
  EXPECT_EQ(hits->size(), Reference(q).size());
  // Newest first.
  for (size_t i = 1; i < hits->size(); ++i)
    EXPECT_GE((*hits)[i - 1].session.start_us, (*hits)[i].session.start_us);
}

TEST_F(GeneratedSearchTest, AnnotationsAreSearchableAndTheOriginalStaysFindable) {
  const Generated& g = all_[17];  // i % 17 == 0: its case was amended to TC-2025/17
  SearchQuery amended;
  amended.case_number = "tc-2025/17";
  EXPECT_EQ(Ids(amended), std::vector<crypto::SessionId>{g.id});
  SearchQuery original;
  original.case_number = g.meta[2].second;
  original.limit = 0;
  auto ids = Ids(original);
  EXPECT_NE(std::find(ids.begin(), ids.end(), g.id), ids.end());
  auto hits = catalog_->Search(amended);
  ASSERT_TRUE(hits.ok());
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].case_number(), "TC-2025/17");  // the latest value is shown
  EXPECT_TRUE((*hits)[0].meta_body.empty());  // not asked for
  amended.with_metadata = true;
  hits = catalog_->Search(amended);
  ASSERT_TRUE(hits.ok());
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].Latest("case"), "TC-2025/17");
  EXPECT_EQ((*hits)[0].All("case"), (std::vector<std::string>{g.meta[2].second, "TC-2025/17"}));
  SearchQuery added;  // a participant added by annotation, typed without diacritics
  added.participant = "vu thi thao";
  added.limit = 0;
  EXPECT_EQ(Ids(added), Reference(added));
  EXPECT_EQ(Ids(added).size(), 600u / 23 + 1);
}

// A hit's row values are the latest of each key, with or without the whole metadata, and
// whichever copy of the card (by time, by point, by province) the query reads.
TEST_F(GeneratedSearchTest, HitsShowTheLatestValues) {
  std::vector<SearchQuery> queries(2);
  queries[0].limit = 0;
  queries[1].limit = 0;
  queries[1].with_metadata = true;
  for (size_t i = 0; i < 40; ++i) {
    const Generated& g = all_[i * 13];
    SearchQuery by_point, by_province, by_pair;
    by_point.point = g.meta[0].second;
    by_province.province = by_pair.province = g.meta[1].second;
    by_pair.type = g.meta[3].second;
    by_province.with_metadata = i % 2;
    by_point.limit = by_province.limit = by_pair.limit = 0;
    queries.push_back(by_point);
    queries.push_back(by_province);
    queries.push_back(by_pair);
  }
  for (const SearchQuery& q : queries) {
    const bool with_metadata = q.with_metadata;
    auto hits = catalog_->Search(q);
    ASSERT_TRUE(hits.ok());
    ASSERT_EQ(hits->size(), Reference(q).size());
    for (const auto& h : *hits) {
      const Generated& g = all_[h.session.id[0] << 24 | h.session.id[1] << 16 |
                                h.session.id[2] << 8 | h.session.id[3]];
      auto latest = [&](const std::string& key) {
        std::string v;
        for (const auto& [k, val] : g.meta)
          if (k == key) v = val;
        return v;
      };
      EXPECT_EQ(h.point(), latest("point"));
      EXPECT_EQ(h.province(), latest("province"));
      EXPECT_EQ(h.case_number(), latest("case"));
      EXPECT_EQ(h.type(), latest("type"));
      EXPECT_EQ(h.chair(), latest("chair"));
      EXPECT_EQ(h.conference(), latest("conference"));
      EXPECT_EQ(h.Meta(), with_metadata ? g.meta : crypto::Metadata{});
    }
  }
}

TEST_F(GeneratedSearchTest, ConferenceFindsEverySessionOfIt) {
  SearchQuery q;
  q.conference = "hn-3";  // sessions 60, 61, 62
  q.limit = 0;
  auto ids = Ids(q);
  std::set<crypto::SessionId> got(ids.begin(), ids.end());
  EXPECT_EQ(got, (std::set<crypto::SessionId>{MakeId(60), MakeId(61), MakeId(62)}));
}

TEST_F(GeneratedSearchTest, PrefixWords) {
  SearchQuery q;
  q.chair = "nguy*";
  q.limit = 0;
  auto ids = Ids(q);
  SearchQuery full;
  full.chair = "nguyen";
  full.limit = 0;
  EXPECT_EQ(ids, Ids(full));
  SearchQuery wide;
  wide.text = "x*";  // xa-0 … xa-39 give words "xa" only: fine
  EXPECT_TRUE(catalog_->Search(wide).ok());
  SearchQuery too_wide;
  too_wide.text = "1*";  // more than 64 different numbers start with 1
  auto r = catalog_->Search(too_wide);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsInvalidArgument());
  EXPECT_NE(r.status().ToString().find("1*"), std::string::npos);
}

TEST_F(GeneratedSearchTest, ReindexGivesTheSameAnswers) {
  SearchQuery q;
  q.text = "nguyen";
  q.limit = 0;
  auto before = Ids(q);
  ASSERT_FALSE(before.empty());
  uint64_t last = 0;
  ASSERT_TRUE(catalog_->Reindex([&](uint64_t done, uint64_t total) {
    EXPECT_EQ(total, 600u);
    last = done;
  }).ok());
  EXPECT_EQ(last, 600u);
  EXPECT_EQ(Ids(q), before);
  // A read-only open (as `tcd search` does while the node runs) sees the same.
  catalog_.reset();
  auto ro = Catalog::Open(dir_.string(), true);
  ASSERT_TRUE(ro.ok());
  catalog_ = std::move(ro).value();
  EXPECT_EQ(Ids(q), before);
}

}  // namespace
}  // namespace tcd::node
