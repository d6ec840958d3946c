// Private to the search_test program (node/search*_test.cc, node/catalog_scan_test.cc): a
// catalog in a temporary directory, sessions appended from generated metadata, the brute-force
// reference that Catalog::Search is compared with, and raw access to the database for damage.
#pragma once

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "node/catalog.h"
#include "node/search.h"
#include "node/text_fold.h"

namespace tcd::node::search_testing {

constexpr int64_t kDay = 86400ll * 1000000;
constexpr int64_t kT0 = 1'700'000'000ll * 1000000;  // 2023-11-14

struct Generated {
  crypto::SessionId id{};
  int64_t start_us = 0;
  SessionState state = SessionState::kSealed;
  crypto::Metadata meta;  // open pairs then annotation pairs
};

inline crypto::SessionId MakeId(uint32_t n) {
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

  // Closes the catalog and lets `fn` change its RocksDB database as damage, or an older version,
  // would have left it (the column families by name); the catalog stays closed.
  using Families = std::map<std::string, rocksdb::ColumnFamilyHandle*>;
  void RawEdit(const std::function<void(rocksdb::DB*, Families&)>& fn) {
    // Everything into table files: opened without the catalog's merge operators, RocksDB
    // cannot replay the log's merges.
    ASSERT_TRUE(catalog_->Compact().ok());
    catalog_.reset();
    rocksdb::DBOptions o;
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(o, dir_.string(), &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    o.wal_recovery_mode = rocksdb::WALRecoveryMode::kAbsoluteConsistency;
    auto st = rocksdb::DB::Open(o, dir_.string(), cfs, &handles, &db);
    ASSERT_TRUE(st.ok()) << st.ToString();
    Families by_name;
    for (size_t i = 0; i < names.size(); ++i) by_name[names[i]] = handles[i];
    fn(db, by_name);
    for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    delete db;
  }
  // RawEdit, then opens the catalog again (writable).
  void Raw(const std::function<void(rocksdb::DB*, Families&)>& fn) {
    RawEdit(fn);
    auto c = Catalog::Open(dir_.string(), false);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    catalog_ = std::move(c).value();
  }
  static std::string Key(const crypto::SessionId& id) {
    return std::string(reinterpret_cast<const char*>(id.data()), id.size());
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

inline std::string Describe(const SearchQuery& q) {
  return "text='" + q.text + "' point='" + q.point + "' case='" + q.case_number + "' chair='" +
         q.chair + "' participant='" + q.participant + "' limit=" + std::to_string(q.limit);
}

}  // namespace tcd::node::search_testing
