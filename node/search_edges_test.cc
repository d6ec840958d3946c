// Search: the rules around the index's structure (date-range and list edges, words in
// nearly every session), what results show (location, latest values, every card copy), and
// the refusals and upgrades a user meets.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "node/search_index.h"
#include "node/search_test_fixture.h"

namespace tcd::node {
namespace {

using namespace search_testing;

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

// A word in nearly every session, with a rare one: the rare word's few postings are looked up
// in the busy word's long lists; the answers are those of any other words, annotations
// included.
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
  EXPECT_EQ((*hits)[0].chair(), "Lý Thị Mai");
}

// A name of two words or more is read from the lists of its word pairs (a pair's sessions have
// both words in one value). The words of one name are found in any order; words of two
// different names are not, also when a long pair list is left out of the intersection and only
// the one-value check on the document tells them apart; a value with too many words to be
// paired is still found.
TEST_F(SearchTest, NameWordsAreFoundTogetherInOneValueInAnyOrder) {
  uint32_t n = 0;
  auto add = [&](std::vector<std::string> participants, std::string chair) {
    Generated g;
    g.id = MakeId(n);
    g.start_us = kT0 + n++ * 60'000'000ll;  // one a minute: one bucket
    for (auto& p : participants) g.meta.emplace_back("participant", std::move(p));
    g.meta.emplace_back("chair", std::move(chair));
    Add(g);
    return g.id;
  };
  for (int i = 0; i < 300; ++i) add({"Nguyễn Văn Bình"}, "Trần Thị Mai");  // "nguyen van": long
  const auto an = add({"Nguyễn Văn An"}, "Lê Văn Hùng");
  const auto an_caps = add({"NGUYỄN  VĂN  AN", "Phạm Thị Lan"}, "Lê Văn Hùng");
  add({"Nguyễn Thị An", "Trần Văn An"}, "Lê Văn Hùng");  // an+nguyen, an+van: not one value
  add({"Nguyễn Văn Bình", "Lê Thị An"}, "Văn Hùng");      // nguyen+van, an: not one value
  auto check = [&](const std::string& participant, const std::string& chair) {
    SearchQuery q;
    q.participant = participant;
    q.chair = chair;
    q.limit = 0;
    auto got = Ids(q);
    EXPECT_EQ(got, Reference(q)) << Describe(q);
    return got;
  };
  const std::vector<crypto::SessionId> both = {an_caps, an};  // newest first
  EXPECT_EQ(check("nguyen van an", ""), both);
  EXPECT_EQ(check("An Nguyễn Văn", ""), both);
  EXPECT_EQ(check("van an", "").size(), 3u);  // "Trần Văn An" too
  SearchQuery prefix;  // (the reference knows no prefixes)
  prefix.participant = "nguyen van a*";
  EXPECT_EQ(Ids(prefix), both);
  EXPECT_EQ(check("nguyen an", "").size(), 3u);  // "Nguyễn Thị An" has both
  EXPECT_EQ(check("nguyen van binh", "").size(), 301u);
  EXPECT_EQ(check("", "hung le").size(), 3u);
  EXPECT_EQ(check("", "van le hung").size(), 3u);
  EXPECT_EQ(check("nguyen van an", "thi mai").size(), 0u);
  // A value of 13 distinct words has no pairs: names are read by their words' lists from then on.
  const auto long_value =
      add({"Nguyễn Văn An, Trần Thị Bình, Lê Văn Cường, Phạm Thị Dung và Hoàng Văn Em"}, "Văn");
  EXPECT_EQ(check("nguyen van an", ""), (std::vector<crypto::SessionId>{long_value, an_caps, an}));
  EXPECT_EQ(check("binh dung", "").size(), 1u);
  EXPECT_EQ(check("nguyen van binh", "").size(), 302u);  // the long value has all three
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
    EXPECT_EQ((*hits)[0].point(), "xa-2");
    EXPECT_EQ((*hits)[0].province(), "Hà Nội");
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

// Sessions are numbered as they are first indexed, and a slot's postings (2^28 µs of starts)
// are in number order: results are still newest first, also when a limit falls inside a slot,
// and numbering goes on after a reopen (a number given again would overwrite a session).
TEST_F(SearchTest, OneSlotsSessionsAreInTimeOrderWhateverTheirNumbers) {
  constexpr int64_t kSlot = int64_t{1} << 28;
  const int64_t slot = (kT0 / kSlot + 1) * kSlot;  // the first start of a slot
  std::mt19937 rng(3);
  uint32_t n = 0;
  auto add = [&](int count) {
    for (int i = 0; i < count; ++i) {
      Generated g;
      g.id = MakeId(n++);
      // Mostly in the one slot, in random order (ties included), some in the slots around.
      g.start_us = slot + static_cast<int64_t>(rng() % 40) * (kSlot / 32) - kSlot / 8;
      g.meta = {{"point", n % 3 ? "p" : "q"}, {"note", "x"}};
      Add(g);
    }
  };
  auto check = [&](const char* when) {
    SearchQuery q;
    q.text = "x";
    for (size_t limit : {0, 1, 2, 5, 17, 40}) {
      q.limit = limit;
      for (bool at_p : {false, true}) {
        q.point = at_p ? "p" : "";
        ASSERT_EQ(Ids(q), Reference(q)) << when << ", limit " << limit << " point " << at_p;
        q.from_us = slot + kSlot / 3;  // inside the slot
        q.to_us = slot + kSlot / 2;
        ASSERT_EQ(Ids(q), Reference(q)) << when << ", a range inside the slot";
        q.from_us.reset();
        q.to_us.reset();
      }
    }
  };
  add(30);
  check("first sessions");
  catalog_.reset();
  auto c = Catalog::Open(dir_.string(), false);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  catalog_ = std::move(c).value();
  add(30);
  check("after a reopen");
  ASSERT_TRUE(catalog_->Compact().ok());
  catalog_.reset();
  c = Catalog::Open(dir_.string(), false);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  catalog_ = std::move(c).value();
  add(30);
  check("after compaction and a reopen");
}

TEST_F(SearchTest, OldCatalogIsIndexedWhenOpenedForWriting) {
  Generated g;
  g.id = MakeId(1);
  g.start_us = kT0;
  g.meta = {{"chair", "Hồ Thị Lý"}};
  Add(g);
  // Make it a catalog from before the index: no search families, no marker.
  RawEdit([](rocksdb::DB* db, Families& cf) {
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), cf["meta"], "search-index-version").ok());
    for (auto& [name, handle] : cf) {
      if (name.starts_with("search_")) {
        ASSERT_TRUE(db->DropColumnFamily(handle).ok());
      }
    }
  });
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

// `tcd search` opens the catalog read-only while the node runs, and replays the write-ahead log
// into memory first: about 19 ms per MB on a 2-core machine. A node that has written far more than
// the log's cap keeps at most about the cap in it, so a search starts in a fraction of a second.
// Past the cap the next write asks for a flush, which runs in the background; a busy machine can
// let the log run ahead of it (CI saw 26.7 MB), so a log found over the bound is given time to
// shrink. A node writing one session every few minutes never meets that lag.
TEST_F(SearchTest, ALiveCatalogsWriteAheadLogStaysSmallForTcdSearch) {
  constexpr uint64_t kCap = 16 << 20;  // Catalog::Open's max_total_wal_size
  constexpr uint64_t kBound = kCap + kCap / 4;
  auto wal_bytes = [&] {  // RocksDB deletes old logs meanwhile: a file gone is no bytes
    uint64_t n = 0;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(dir_, ec), end; !ec && it != end;
         it.increment(ec)) {
      if (it->path().extension() != ".log") continue;
      std::error_code size_ec;
      const uint64_t size = std::filesystem::file_size(it->path(), size_ec);
      if (!size_ec) n += size;
    }
    return n;
  };
  auto settled_wal_bytes = [&] {  // what is left once the flushes asked for have run
    uint64_t now = wal_bytes();
    for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
         now > kBound && std::chrono::steady_clock::now() < deadline; now = wal_bytes()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return now;
  };
  // Each session's note is in its chain entry and in its search document: the log gets at
  // least twice what `written` counts, 4 times the cap in all, checked every ~2 MB. With the old
  // 64 MiB cap no flush is asked for until the end, and the first check past 20 MiB fails.
  uint64_t written = 0;
  for (uint32_t i = 0; written < 2 * kCap; ++i) {
    Generated g;
    g.id = MakeId(i);
    g.start_us = kT0 + i * 60'000'000ll;
    std::string note = "phien " + std::to_string(i) + " ";
    while (note.size() < 16000) note += "khieu nai ve dat dai ";
    g.meta = {{"point", "xa-" + std::to_string(i % 50)}, {"note", note}};
    written += note.size();
    Add(g);
    if (i % 64 == 63) {
      uint64_t wal = settled_wal_bytes();
      ASSERT_LE(wal, kBound) << "write-ahead log of " << wal << " bytes after " << written
                             << " bytes of metadata, 30 s after the last write";
    }
  }
  EXPECT_LE(settled_wal_bytes(), kBound);
  // What was written is all there for a read-only open, log included.
  catalog_.reset();
  auto ro = Catalog::Open(dir_.string(), true);
  ASSERT_TRUE(ro.ok()) << ro.status().ToString();
  SearchQuery q;
  q.limit = 0;
  auto all = (*ro)->Search(q);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->size(), all_.size());
}

}  // namespace
}  // namespace tcd::node
