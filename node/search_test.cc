// Search: Catalog::Search against a brute-force reference on a generated catalog
// of Vietnamese names, case types, conferences and annotations.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <set>

#include "node/catalog.h"
#include "node/search.h"
#include "node/text_fold.h"

namespace tcd::node {
namespace {

constexpr int64_t kDay = 86400ll * 1000000;
constexpr int64_t kT0 = 1'700'000'000ll * 1000000;  // 2023-11-14

struct Generated {
  crypto::SessionId id{};
  int64_t start_us = 0;
  SessionState state = SessionState::kSealed;
  crypto::Metadata meta;  // open pairs then annotation pairs
};

crypto::SessionId MakeId(uint32_t n) {
  crypto::SessionId id{};
  for (int i = 0; i < 4; ++i) id[i] = static_cast<uint8_t>(n >> (24 - 8 * i));
  id[15] = 0x5a;
  return id;
}

class SearchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tcd-search-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto c = Catalog::Open(dir_.string(), false, true);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    catalog_ = std::move(c).value();
    catalog_->set_sync(false);  // search is under test, not durability: keep it quick
  }
  void TearDown() override {
    catalog_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Appends an open entry (and annotations, one entry each) for a session.
  void Add(const Generated& g, const std::vector<crypto::Metadata>& annotations = {}) {
    crypto::OpenBody body;
    crypto::Metadata open_meta(g.meta.begin(), g.meta.end());
    size_t annotated = 0;
    for (const auto& a : annotations) annotated += a.size();
    open_meta.resize(g.meta.size() - annotated);
    body.meta = open_meta;
    SessionRecord r;
    r.id = g.id;
    r.state = g.state;
    r.start_us = g.start_us;
    r.end_us = g.start_us + 60'000'000;
    r.media_duration_us = 60'000'000;
    uint64_t seq = 0;
    auto append = [&](crypto::EntryKind kind, Bytes b) {
      crypto::ChainEntry e;
      e.kind = kind;
      e.session = g.id;
      e.seq = seq;
      e.start_us = g.start_us + static_cast<int64_t>(seq) * 1000;
      e.body = std::move(b);
      r.next_seq = seq + 1;
      ASSERT_TRUE(catalog_->Append(r, seq, {crypto::EncodeEntry(e), {}}, std::nullopt).ok());
      ++seq;
    };
    append(crypto::EntryKind::kOpen, crypto::EncodeOpenBody(body));
    for (const auto& a : annotations) {
      Bytes b;
      crypto::EncodeMeta(a, &b);
      append(crypto::EntryKind::kAnnotation, std::move(b));
    }
    all_.push_back(g);
  }

  // The reference: what a person would expect, computed naively.
  std::vector<crypto::SessionId> Reference(const SearchQuery& q) {
    auto words = [](const std::string& s) {
      auto w = FoldWords(s);
      return std::set<std::string>(w.begin(), w.end());
    };
    auto has_value = [](const Generated& g, const std::string& key, const std::string& v) {
      return std::any_of(g.meta.begin(), g.meta.end(), [&](const auto& p) {
        return p.first == key && FoldText(p.second) == FoldText(v);
      });
    };
    auto one_value_has_words = [&](const Generated& g, const std::string& key,
                                   const std::string& text) {
      auto want = words(text);
      return std::any_of(g.meta.begin(), g.meta.end(), [&](const auto& p) {
        if (p.first != key) return false;
        auto have = words(p.second);
        return std::includes(have.begin(), have.end(), want.begin(), want.end());
      });
    };
    std::vector<const Generated*> match;
    for (const auto& g : all_) {
      if (q.from_us && g.start_us < *q.from_us) continue;
      if (q.to_us && g.start_us >= *q.to_us) continue;
      if (!q.states.empty() &&
          std::find(q.states.begin(), q.states.end(), g.state) == q.states.end())
        continue;
      if (!q.text.empty()) {
        std::set<std::string> all;
        for (const auto& p : g.meta)
          for (const auto& w : FoldWords(p.second)) all.insert(w);
        auto want = words(q.text);
        if (!std::includes(all.begin(), all.end(), want.begin(), want.end())) continue;
      }
      if (!q.point.empty() && !has_value(g, "point", q.point)) continue;
      if (!q.province.empty() && !has_value(g, "province", q.province)) continue;
      if (!q.case_number.empty() && !has_value(g, "case", q.case_number)) continue;
      if (!q.type.empty() && !has_value(g, "type", q.type)) continue;
      if (!q.conference.empty() && !has_value(g, "conference", q.conference)) continue;
      if (!q.chair.empty() && !one_value_has_words(g, "chair", q.chair)) continue;
      if (!q.participant.empty() && !one_value_has_words(g, "participant", q.participant))
        continue;
      match.push_back(&g);
    }
    std::sort(match.begin(), match.end(), [](const Generated* a, const Generated* b) {
      return a->start_us != b->start_us ? a->start_us > b->start_us : a->id < b->id;
    });
    std::vector<crypto::SessionId> out;
    for (const auto* g : match)
      if (q.limit == 0 || out.size() < q.limit) out.push_back(g->id);
    return out;
  }

  std::vector<crypto::SessionId> Ids(const SearchQuery& q) {
    auto hits = catalog_->Search(q);
    EXPECT_TRUE(hits.ok()) << hits.status().ToString();
    std::vector<crypto::SessionId> out;
    if (hits.ok())
      for (const auto& h : *hits) out.push_back(h.session.id);
    return out;
  }

  std::filesystem::path dir_;
  std::unique_ptr<Catalog> catalog_;
  std::vector<Generated> all_;
};

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

std::string Describe(const SearchQuery& q) {
  return "text='" + q.text + "' point='" + q.point + "' case='" + q.case_number + "' chair='" +
         q.chair + "' participant='" + q.participant + "' limit=" + std::to_string(q.limit);
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
  EXPECT_EQ((*hits)[0].case_number, "TC-2025/17");  // the latest value is shown
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
      EXPECT_EQ(h.point, latest("point"));
      EXPECT_EQ(h.province, latest("province"));
      EXPECT_EQ(h.case_number, latest("case"));
      EXPECT_EQ(h.type, latest("type"));
      EXPECT_EQ(h.chair, latest("chair"));
      EXPECT_EQ(h.conference, latest("conference"));
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

TEST_F(SearchTest, DateRangeEdgesAreHalfOpen) {
  const int64_t from = kT0 + 10 * kDay, to = kT0 + 20 * kDay;
  int n = 0;
  for (int64_t t : {from - 1, from, from + 1, to - 1, to, to + 1}) {
    Generated g;
    g.id = MakeId(n++);
    g.start_us = t;
    g.meta = {{"point", "p"}};
    Add(g);
  }
  SearchQuery q;
  q.from_us = from;
  q.to_us = to;
  EXPECT_EQ(Ids(q), (std::vector<crypto::SessionId>{MakeId(3), MakeId(2), MakeId(1)}));
  q.point = "P";
  EXPECT_EQ(Ids(q), (std::vector<crypto::SessionId>{MakeId(3), MakeId(2), MakeId(1)}));
  q.from_us.reset();
  EXPECT_EQ(Ids(q).size(), 4u);
  q.to_us.reset();
  q.from_us = to;
  EXPECT_EQ(Ids(q), (std::vector<crypto::SessionId>{MakeId(5), MakeId(4)}));
}

// Postings are stored in lists of 2^40 µs of session starts: a range that starts, ends or
// lies on a list's edge answers as any other.
TEST_F(SearchTest, ListEdgesAreInvisible) {
  constexpr int64_t kList = int64_t{1} << 40;
  const int64_t edge = (kT0 / kList + 1) * kList;  // the first start of a list
  int n = 0;
  std::vector<int64_t> times;
  for (int64_t base : {edge - kList, edge, edge + kList})
    for (int64_t d : {-2, -1, 0, 1, 2}) times.push_back(base + d);
  for (int64_t t : times) {
    Generated g;
    g.id = MakeId(n++);
    g.start_us = t;
    g.meta = {{"point", n % 2 ? "p" : "q"}, {"note", "x"}};
    Add(g);
  }
  SearchQuery any, at_p;
  any.text = at_p.text = "x";
  any.limit = at_p.limit = 0;
  at_p.point = "p";
  for (int64_t from : times)
    for (int64_t to : times) {
      if (to < from) continue;
      for (SearchQuery q : {any, at_p}) {
        q.from_us = from;
        q.to_us = to;
        EXPECT_EQ(Ids(q), Reference(q)) << "from " << from - edge << " to " << to - edge;
        q.from_us.reset();
        q.limit = 2;
        EXPECT_EQ(Ids(q), Reference(q)) << "to " << to - edge << " limit 2";
      }
    }
}

// A word in nearly every session (over 1,024 in a list, 256 times the rarest word's) is
// checked on the candidates' documents instead of being read: the answers are the same,
// annotations included.
TEST_F(SearchTest, WordsInNearlyEverySessionAnswerAsAnyOther) {
  constexpr int64_t kList = int64_t{1} << 40;
  const int64_t edge = (kT0 / kList + 1) * kList;  // all in one list
  for (int i = 0; i < 1500; ++i) {
    Generated g;
    g.id = MakeId(i);
    g.start_us = edge + int64_t{i} * 60'000'000;
    g.meta = {{"point", "xa-" + std::to_string(i % 3)},
              {"province", i % 10 ? "Gia Lai" : "Đồng Nai"},
              {"type", i % 8 ? "complaint" : "petition"},
              {"note", i % 50 == 8 ? "Khu phố 2" : "Tổ dân phố " + std::to_string(i % 9)}};
    // The rare word: 8 (a petition without "to" or "dan"), 400 (Đồng Nai, a petition), 807 (a
    // complaint amended to a petition too) and 1207 (by an annotation).
    if (i == 8 || i == 400 || i == 807) g.meta.emplace_back("address", "số 355 đường Lê Thánh Tông");
    std::vector<crypto::Metadata> annotations;
    if (i == 1207 || i == 807) {  // 1207 gains the word, 807 becomes a petition too
      annotations.push_back(i == 1207 ? crypto::Metadata{{"note", "355"}}
                                      : crypto::Metadata{{"type", "petition"}});
      g.meta.insert(g.meta.end(), annotations[0].begin(), annotations[0].end());
    }
    Add(g, annotations);
  }
  std::vector<SearchQuery> queries(6);
  queries[0].text = "355 to";
  queries[1].text = "355 to";
  queries[1].type = "petition";
  queries[2].text = "355 dan pho";
  queries[2].province = "gia lai";
  queries[2].type = "complaint";
  queries[3].text = "to 355 thanh";
  queries[3].point = "xa-1";
  queries[4].text = "pho 355";
  queries[4].type = "complaint";
  queries[5].text = "355 to";
  queries[5].to_us = edge + 900 * int64_t{60'000'000};
  int found = 0;
  for (SearchQuery q : queries)
    for (size_t limit : {0, 2}) {
      q.limit = limit;
      const auto want = Reference(q);
      found += !want.empty();
      EXPECT_EQ(Ids(q), want) << Describe(q) << " limit " << limit;
    }
  EXPECT_EQ(found, 12);
  ASSERT_TRUE(catalog_->Compact().ok());
  for (SearchQuery q : queries) {
    q.limit = 0;
    EXPECT_EQ(Ids(q), Reference(q)) << "after compaction: " << Describe(q);
  }
}

// Where the recording is: a session recorded here is local; at the central archive (its role
// recorded in the catalog by the node, read by a read-only `tcd search`) it is also central.
TEST_F(SearchTest, AtTheCentralArchiveAHeldSessionIsAtCentral) {
  Generated g;
  g.id = MakeId(1);
  g.start_us = kT0;
  g.meta = {{"note", "x"}};
  Add(g);
  SearchQuery q;
  q.text = "x";
  auto where = [&](Catalog* c) {
    auto hits = c->Search(q);
    EXPECT_TRUE(hits.ok()) << hits.status().ToString();
    return hits.ok() && hits->size() == 1 ? LocationText((*hits)[0].location) : "?";
  };
  EXPECT_EQ(where(catalog_.get()), "local");
  ASSERT_TRUE(catalog_->SetRole("central").ok());
  EXPECT_EQ(where(catalog_.get()), "local+central");
  catalog_.reset();
  auto ro = Catalog::Open(dir_.string(), /*read_only=*/true);
  ASSERT_TRUE(ro.ok()) << ro.status().ToString();
  EXPECT_EQ((*ro)->role(), "central");
  EXPECT_EQ(where(ro->get()), "local+central");
  ro->reset();
  auto rw = Catalog::Open(dir_.string(), false);
  ASSERT_TRUE(rw.ok()) << rw.status().ToString();
  catalog_ = std::move(rw).value();
  ASSERT_TRUE(catalog_->SetRole("province").ok());
  EXPECT_EQ(where(catalog_.get()), "local");
}

TEST_F(SearchTest, ResultsShowTheCurrentSummary) {
  Generated g;
  g.id = MakeId(9);
  g.start_us = kT0;
  g.state = SessionState::kRecording;
  g.meta = {{"chair", "Lý Thị Mai"}};
  Add(g);
  SearchQuery q;
  q.chair = "ly thi mai";
  q.states = {SessionState::kRecording};
  EXPECT_EQ(Ids(q), std::vector<crypto::SessionId>{g.id});
  auto r = catalog_->GetSession(g.id);
  ASSERT_TRUE(r.ok());
  r->state = SessionState::kUnsealed;  // as recovery marks it
  r->media_duration_us = 123'000'000;
  ASSERT_TRUE(catalog_->PutSession(*r).ok());
  EXPECT_TRUE(Ids(q).empty());
  q.states = {SessionState::kUnsealed};
  auto hits = catalog_->Search(q);
  ASSERT_TRUE(hits.ok());
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].session.media_duration_us, 123'000'000);
  EXPECT_EQ((*hits)[0].chair, "Lý Thị Mai");
}

// Every copy of a card (by time, by each point and province value the session ever had) shows
// the latest values and the current summary.
TEST_F(SearchTest, EveryCardCopyStaysCurrent) {
  Generated g;
  g.id = MakeId(4);
  g.start_us = kT0;
  g.meta = {{"point", "xa-1"}, {"province", "Hà Nội"}, {"type", "complaint"},
            {"point", "xa-2"}};  // amended
  Add(g, {{{"point", "xa-2"}}});
  auto r = catalog_->GetSession(g.id);
  ASSERT_TRUE(r.ok());
  r->state = SessionState::kUnsealed;
  ASSERT_TRUE(catalog_->PutSession(*r).ok());
  SearchQuery by_time, by_old, by_new, by_province, by_pair;
  by_old.point = "XA-1";
  by_new.point = "xa-2";
  by_province.province = by_pair.province = "ha noi";
  by_pair.type = "complaint";
  for (const SearchQuery& q : {by_time, by_old, by_new, by_province, by_pair}) {
    auto hits = catalog_->Search(q);
    ASSERT_TRUE(hits.ok());
    ASSERT_EQ(hits->size(), 1u) << q.point << q.province;
    EXPECT_EQ((*hits)[0].point, "xa-2");
    EXPECT_EQ((*hits)[0].province, "Hà Nội");
    EXPECT_EQ((*hits)[0].session.state, SessionState::kUnsealed);
  }
}

// --province with --type is one list of (province, type) pairs: it holds every combination
// of the values a session has, so an annotation that amends either still matches both.
TEST_F(SearchTest, ProvinceAndTypeMatchAnyOfTheirValues) {
  Generated g;
  g.id = MakeId(5);
  g.start_us = kT0;
  g.meta = {{"province", "Đồng Nai"}, {"type", "complaint"}, {"type", "petition"},
            {"province", "Bình Phước"}};
  Add(g, {{{"type", "petition"}}, {{"province", "Bình Phước"}}});
  for (const char* province : {"dong nai", "BINH PHUOC"})
    for (const char* type : {"complaint", "petition"}) {
      SearchQuery q;
      q.province = province;
      q.type = type;
      EXPECT_EQ(Ids(q), std::vector<crypto::SessionId>{g.id}) << province << " " << type;
      EXPECT_EQ(Ids(q), Reference(q));
    }
  SearchQuery none;
  none.province = "dong nai";
  none.type = "feedback";
  EXPECT_TRUE(Ids(none).empty());
}

TEST_F(SearchTest, EmptyWordsAreRefusedNamingTheOption) {
  SearchQuery q;
  q.chair = " -- ";
  auto r = catalog_->Search(q);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("--chair"), std::string::npos);
}

TEST_F(SearchTest, OldCatalogIsIndexedWhenOpenedForWriting) {
  Generated g;
  g.id = MakeId(1);
  g.start_us = kT0;
  g.meta = {{"chair", "Hồ Thị Lý"}};
  Add(g);
  catalog_.reset();
  {  // Make it a catalog from before the index: no search families, no marker.
    rocksdb::DBOptions o;
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(o, dir_.string(), &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, dir_.string(), cfs, &handles, &db).ok());
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == "meta") {
        ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), handles[i], "search-index-version").ok());
      }
      if (names[i].starts_with("search_")) {
        ASSERT_TRUE(db->DropColumnFamily(handles[i]).ok());
      }
    }
    for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    delete db;
  }
  {  // Read-only, it says what to do.
    auto ro = Catalog::Open(dir_.string(), true);
    ASSERT_TRUE(ro.ok());
    auto r = (*ro)->Search(SearchQuery{});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().ToString().find("tcd reindex"), std::string::npos);
  }
  auto c = Catalog::Open(dir_.string(), false);  // writable: builds the index
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  catalog_ = std::move(c).value();
  SearchQuery q;
  q.chair = "ho thi ly";
  EXPECT_EQ(Ids(q), std::vector<crypto::SessionId>{MakeId(1)});
}

}  // namespace
}  // namespace tcd::node
