// Search building blocks: folding and table cells (node/text_fold.h), posting lists and their
// merge operator (node/search_index.h), reading cards (node/search_lists.h).
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/merge_operator.h>

#include <unistd.h>
#include <utf8proc.h>

#include <cstdio>
#include <filesystem>
#include <random>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include "node/search_index.h"
#include "node/search_lists.h"
#include "node/text_fold.h"

namespace tcd::node {
namespace {

TEST(TextFoldTest, FoldsVietnameseDiacriticsCaseAndDStroke) {
  EXPECT_EQ(FoldText("Nguyễn Văn An"), "nguyen van an");
  EXPECT_EQ(FoldText("Đồng Nai"), "dong nai");
  EXPECT_EQ(FoldText("ĐẶNG ĐỨC ĐÔNG"), "dang duc dong");
  EXPECT_EQ(FoldText("Thừa Thiên Huế"), "thua thien hue");
  EXPECT_EQ(FoldText("Bà Rịa – Vũng Tàu"), "ba ria vung tau");
  EXPECT_EQ(FoldText("Phường Ươm Tơ, Quận Ứng Hòa"), "phuong uom to quan ung hoa");
  EXPECT_EQ(FoldText("KN-2024/17"), "kn 2024 17");
  // Decomposed input (NFD, as some keyboards produce it) folds the same as precomposed.
  EXPECT_EQ(FoldText("Nguye\xcc\x82\xcc\x83n"), "nguyen");
  EXPECT_EQ(FoldWords("  a\xff" "b  "), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(FoldText("--- / ---"), "");
  EXPECT_EQ(FoldText("Ｎｇｕｙｅｎ"), "nguyen");  // full-width compatibility forms
}

// FoldWords keeps what the code points below U+2000 fold to: every code point, alone and
// between letters, and random Vietnamese text fold exactly as utf8proc folds them.
TEST(TextFoldTest, KeptFoldingsEqualUtf8procForEveryCodePoint) {
  size_t differ = 0;
  std::string first;
  for (int32_t cp = 0; cp < 0x110000; ++cp) {
    if (cp >= 0xd800 && cp < 0xe000) continue;  // surrogates are not UTF-8
    utf8proc_uint8_t buf[4];
    const auto n = utf8proc_encode_char(cp, buf);
    const std::string c(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
    for (const std::string& s : {c, "a" + c + "b", "1" + c + " " + c + "\xff"}) {
      if (FoldWords(s) == FoldWordsUncached(s)) continue;
      if (differ++ == 0) first = "U+" + std::to_string(cp);
    }
  }
  EXPECT_EQ(differ, 0u) << "first: " << first;
  std::mt19937 rng(3);
  const std::vector<std::string> pieces = {"Nguyễn", "ĐẶNG", "đ", "Ươm", "ỹ", "e\xcc\x81", "-",
                                           " ", "Ｎ", "ß", "İ", "½", "\xc3", "KN-2024/17", "ǅ"};
  for (int i = 0; i < 2000; ++i) {
    std::string s;
    for (int k = 0; k < 8; ++k) s += pieces[rng() % pieces.size()];
    ASSERT_EQ(FoldWords(s), FoldWordsUncached(s)) << s;
  }
}

TEST(TextFoldTest, CellsCountColumnsNotBytes) {
  EXPECT_EQ(Cell("Phạm Xuân", 12), "Phạm Xuân   ");       // 9 columns, 12 bytes
  EXPECT_EQ(Cell("Nguyễn Văn Ánh", 8), "Nguyễn V");        // cut at a character
  EXPECT_EQ(Cell("Nguye\xcc\x82\xcc\x83n", 7), "Nguye\xcc\x82\xcc\x83n ");  // marks: 0 columns
  EXPECT_EQ(Cell("阮", 1), " ");                             // 2 columns: does not fit
  EXPECT_EQ(Cell("a\xff", 3), "a\xff ");                    // a stray byte: 1 column
  EXPECT_EQ(Cell("", 2), "  ");
}

std::string Posting(uint8_t time, uint8_t id) {
  std::string p(search_index::kSuffixSize, '\0');
  p[7] = static_cast<char>(time);
  p[23] = static_cast<char>(id);
  return p;
}

TEST(PostingListTest, UnionIsSortedWithoutDuplicates) {
  const std::string a = Posting(1, 0) + Posting(3, 0) + Posting(5, 0);
  const std::string b = Posting(2, 0) + Posting(3, 0);
  const std::string c = Posting(5, 0);
  const std::string d = Posting(0, 9);
  std::string out;
  ASSERT_TRUE(search_index::UnionPostings({a, b, c, d}, &out).ok());
  EXPECT_EQ(out, Posting(0, 9) + Posting(1, 0) + Posting(2, 0) + Posting(3, 0) + Posting(5, 0));
  ASSERT_TRUE(search_index::UnionPostings({}, &out).ok());
  EXPECT_EQ(out, "");
  ASSERT_TRUE(search_index::UnionPostings({b}, &out).ok());
  EXPECT_EQ(out, b);
}

TEST(PostingListTest, MalformedListsAreNamed) {
  std::string out;
  Status torn = search_index::UnionPostings({Posting(1, 0) + "abc"}, &out);
  ASSERT_TRUE(torn.IsCorruption());
  EXPECT_NE(torn.ToString().find("27 bytes"), std::string::npos) << torn.ToString();
  Status order = search_index::UnionPostings({Posting(2, 0) + Posting(1, 0)}, &out);
  ASSERT_TRUE(order.IsCorruption());
  EXPECT_NE(order.ToString().find("out of order at posting 1"), std::string::npos);
  Status twice = search_index::UnionPostings({Posting(2, 0) + Posting(2, 0)}, &out);
  EXPECT_TRUE(twice.IsCorruption());
}

// The merge operator never fails (a failure would stop the catalog's compactions): a
// malformed list's whole postings are sorted in.
TEST(PostingListTest, MergeOperatorRepairsInsteadOfFailing) {
  auto merge = search_index::PostingsMerge();
  const std::string stored = Posting(3, 0) + Posting(1, 0) + "xy";  // out of order, torn
  const std::string op = Posting(2, 0);
  rocksdb::Slice existing(stored);
  std::vector<rocksdb::Slice> ops = {op};
  std::string out;
  rocksdb::Slice existing_operand;
  rocksdb::MergeOperator::MergeOperationInput in("k", &existing, ops, nullptr);
  rocksdb::MergeOperator::MergeOperationOutput res(out, existing_operand);
  ASSERT_TRUE(merge->FullMergeV2(in, &res));
  EXPECT_EQ(out, Posting(1, 0) + Posting(2, 0) + Posting(3, 0));
}

// A term's presence checked on a document agrees with the postings the index writes for it:
// every term of PostingTerms and PairTerms, and none other, for metadata with amended
// provinces and types, words in several keys, and values without letters.
TEST(DocHasTermTest, AgreesWithThePostingsWritten) {
  std::mt19937 rng(11);
  const std::vector<std::string> keys = {"point", "province", "case", "type", "conference",
                                         "chair", "participant", "note", "address"};
  const std::vector<std::string> values = {
      "Nguyễn Văn An", "Đồng Nai", "complaint", "petition", "Tổ 5, ấp Tân Phú", "KN-2024/17",
      "Gia Lai", "---", "Lý Thị Mai", "xa-tan-phu-0123", "Trần Anh", "an toàn giao thông"};
  for (int round = 0; round < 300; ++round) {
    crypto::Metadata meta;
    const int n = 1 + static_cast<int>(rng() % 8);
    for (int i = 0; i < n; ++i)
      meta.emplace_back(keys[rng() % keys.size()], values[rng() % values.size()]);
    search_index::Doc doc;
    doc.meta = meta;
    const Bytes encoded = search_index::EncodeDoc(doc);
    auto view = search_index::DecodeDocView(encoded);
    ASSERT_TRUE(view.ok()) << view.status().ToString();
    std::set<std::string> written;
    for (const auto& t : search_index::PostingTerms(meta, true)) written.insert(t);
    for (const auto& t : search_index::PairTerms(meta)) written.insert(t);
    // Candidates: what was written, and the same words under every other field.
    std::set<std::string> candidates = written;
    const std::string fields = "atpvcyfhrw";
    for (const auto& t : written)
      for (char f : fields) candidates.insert(std::string(1, f) + t.substr(1));
    for (const auto& prefix : candidates) {
      const size_t nul = prefix.find('\0');
      ASSERT_NE(nul, std::string::npos);
      search_index::QueryTerm term{prefix[0], prefix.substr(1, nul - 1), false};
      EXPECT_EQ(search_index::DocHasTerm(view->meta_body, term), written.count(prefix) == 1)
          << "round " << round << ": field " << term.field << " term '" << term.word << "'";
    }
  }
}

// The card reader walks clustered keys, seeks past gaps, switches to MultiGet once keys prove
// scattered, and finds exactly the keys stored, whatever the mix, across consecutive batches.
TEST(CardReaderTest, FindsExactlyTheStoredCardsClusteredOrScattered) {
  const std::string dir = ::testing::TempDir() + "/card_reader_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  rocksdb::Options o;
  o.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(o, dir, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  auto key = [](int i) {
    char b[16];
    std::snprintf(b, sizeof b, "k%06d", i);
    return std::string(b);
  };
  for (int i = 0; i < 4000; i += 2)  // odd keys are absent
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), key(i), "card " + std::to_string(i)).ok());
  ASSERT_TRUE(db->Flush(rocksdb::FlushOptions()).ok());

  struct Case {
    const char* name;
    std::vector<std::vector<int>> batches;
  };
  std::vector<int> dense, sparse, mixed, lone = {1234};
  for (int i = 0; i < 200; ++i) dense.push_back(100 + i);         // found, absent alternately
  for (int i = 0; i < 40; ++i) sparse.push_back(10 + 70 * i + i % 2);
  for (int i = 0; i < 300; ++i) mixed.push_back(i < 150 ? 500 + i : 700 + 9 * i);
  const std::vector<Case> cases = {
      {"dense", {dense}},
      {"sparse", {sparse}},
      {"dense, then a far gap, then dense", {mixed}},
      {"one key", {lone}},
      {"dense in two batches", {std::vector<int>(dense.begin(), dense.begin() + 50),
                                std::vector<int>(dense.begin() + 50, dense.end())}},
      {"sparse in many batches", {{5}, {300, 301, 302}, {2000}, {2100, 2500, 2998, 2999}}},
  };
  for (const auto& c : cases) {
    rocksdb::ReadOptions ro;
    search_index::CardReader reader(db.get(), db->DefaultColumnFamily(), ro, nullptr);
    for (const auto& batch : c.batches) {
      std::vector<std::string> names;
      for (int i : batch) names.push_back(key(i));
      std::vector<rocksdb::Slice> keys(names.begin(), names.end());
      ASSERT_TRUE(reader.Read(keys).ok()) << c.name;
      for (size_t k = 0; k < batch.size(); ++k) {
        auto card = reader.card(k);
        if (batch[k] % 2 == 0) {
          ASSERT_TRUE(card.has_value()) << c.name << ": key " << names[k];
          EXPECT_EQ(*card, "card " + std::to_string(batch[k])) << c.name;
        } else {
          EXPECT_FALSE(card.has_value()) << c.name << ": key " << names[k] << " is absent";
        }
      }
    }
  }
  db.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tcd::node
