// Search building blocks: folding and table cells (node/text_fold.h), posting lists and their
// merge operator (node/search_index.h), reading cards (node/search_lists.h).
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/merge_operator.h>

#include <unistd.h>
#include <utf8proc.h>

#include <algorithm>
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

namespace si = search_index;

// A bucket and postings in it: slot `slot` (0-4095 within the bucket), session number `number`.
const std::string kBucket("\x7f\x01\x02", 3);
si::Posting P(uint32_t slot, uint32_t number) {
  return si::BucketBase(kBucket) | static_cast<si::Posting>(slot) << 32 | number;
}
std::string Encoded(const std::vector<si::Posting>& postings) {
  std::string out;
  si::EncodePostings(si::BucketBase(kBucket), postings, &out);
  return out;
}

// A name's words pair in any order; a value of one word has no pair, one of more than 12
// distinct words the single term "" (docs/FORMAT.md §Search index, fields H and R).
TEST(PostingTermsTest, ChairAndParticipantValuesGiveEveryPairOfTheirWordsOnce) {
  EXPECT_EQ(si::WordPairTerms({"nguyen", "van", "an", "van"}),
            (std::vector<std::string>{"an nguyen", "an van", "nguyen van"}));
  EXPECT_TRUE(si::WordPairTerms({"an"}).empty());
  EXPECT_TRUE(si::WordPairTerms({"an", "an"}).empty());
  std::vector<std::string> twelve, thirteen;
  for (char c = 'a'; c < 'a' + 13; ++c) (c < 'a' + 12 ? twelve : thirteen).push_back({c});
  EXPECT_EQ(si::WordPairTerms(twelve).size(), 66u);
  thirteen.insert(thirteen.end(), twelve.begin(), twelve.end());
  EXPECT_EQ(si::WordPairTerms(thirteen), std::vector<std::string>{""});
  const std::vector<std::string> terms = si::PostingTerms(
      {{"participant", "Nguyễn Văn An"}, {"participant", "Lê Thị Bình"}, {"chair", "Hồ Lý"},
       {"note", "Văn bản"}},
      false);
  auto has = [&](char field, const std::string& term) {
    return std::find(terms.begin(), terms.end(), si::TermPrefix(field, term)) != terms.end();
  };
  EXPECT_TRUE(has(si::kParticipantPair, "an nguyen"));
  EXPECT_TRUE(has(si::kParticipantPair, "binh le"));
  EXPECT_FALSE(has(si::kParticipantPair, "an le"));  // two names
  EXPECT_TRUE(has(si::kChairPair, "ho ly"));
  EXPECT_FALSE(has(si::kParticipantPair, "ban van"));  // a note is no name
  EXPECT_EQ(std::count_if(terms.begin(), terms.end(), [](const std::string& t) {
              return t[0] == si::kParticipantPair || t[0] == si::kChairPair;
            }), 7);
}

TEST(PostingListTest, KeysSortNewestFirstAndBucketsHoldTheirSlots) {
  const int64_t t = 1'700'000'000'000'000;  // µs
  EXPECT_LT(si::DocKey(t, 9), si::DocKey(t - (int64_t{1} << 29), 0));  // newer sorts first
  EXPECT_LT(si::DocKey(t, 1), si::DocKey(t, 2));  // one slot: by number
  EXPECT_LT(si::DocKey(32'503'680'000'000'000, 0), si::DocKey(t, 0));  // the year 3000
  EXPECT_EQ(si::DocKey(-5, 3), si::DocKey(0, 3));  // before 1970: 1970's slot
  EXPECT_EQ(si::DocKeyOf(si::DocKeyBytes(si::DocKey(t, 7))), si::DocKey(t, 7));
  const si::Posting p = si::DocKey(t, 123);
  EXPECT_EQ(static_cast<uint32_t>(p), 123u);
  // The slot is bits 59..28 of the inverted start time (2^28 µs), the bucket its bits 63..40.
  const uint64_t inv = si::InvertedTime(t);
  EXPECT_EQ(si::SlotOf(p), static_cast<uint32_t>(inv >> 28));
  EXPECT_EQ(si::BucketOf(p), std::string({static_cast<char>(inv >> 56),
                                          static_cast<char>(inv >> 48),
                                          static_cast<char>(inv >> 40)}));
  EXPECT_EQ(si::BucketBase(si::BucketOf(p)), p & ~((si::Posting{1} << 44) - 1));
}

TEST(PostingListTest, EncodingRoundTripsAndNearNumbersCostAByte) {
  std::mt19937_64 rng(5);
  for (int round = 0; round < 200; ++round) {
    std::set<si::Posting> set;
    const size_t n = rng() % 300;
    if (round % 3 == 0) set.insert(P(0, 0));        // the bucket's first posting
    if (round % 5 == 0) set.insert(P(4095, UINT32_MAX));  // and its last
    while (set.size() < n) set.insert(P(rng() % 4096, round % 2 ? rng() % 1000 : rng()));
    const std::vector<si::Posting> postings(set.begin(), set.end());
    std::vector<si::Posting> back;
    ASSERT_TRUE(si::DecodePostings(si::BucketBase(kBucket), Encoded(postings), &back).ok());
    EXPECT_EQ(back, postings);
  }
  std::vector<si::Posting> near;  // a busy word: near slots, near numbers
  for (uint32_t i = 0; i < 100; ++i) near.push_back(P(3 + i / 2, 1000 + 2 * i - i % 3));
  EXPECT_EQ(Encoded(near).size(), 3u + 99u * 2);  // the first: 1 + 2 bytes; then 1 + 1 each
}

TEST(PostingListTest, UnionIsSortedWithoutDuplicates) {
  const std::string a = Encoded({P(1, 0), P(3, 0), P(5, 0)});
  const std::string b = Encoded({P(2, 0), P(3, 0)});
  const std::string c = Encoded({P(5, 0)});
  const std::string d = Encoded({P(0, 9)});
  const si::Posting base = si::BucketBase(kBucket);
  std::string out;
  ASSERT_TRUE(si::UnionPostings(base, {a, b, c, d}, &out).ok());
  EXPECT_EQ(out, Encoded({P(0, 9), P(1, 0), P(2, 0), P(3, 0), P(5, 0)}));
  ASSERT_TRUE(si::UnionPostings(base, {}, &out).ok());
  EXPECT_EQ(out, "");
  ASSERT_TRUE(si::UnionPostings(base, {b}, &out).ok());
  EXPECT_EQ(out, b);
}

TEST(PostingListTest, MalformedListsAreNamed) {
  const si::Posting base = si::BucketBase(kBucket);
  std::vector<si::Posting> out;
  auto problem = [&](const std::string& v) {
    out.clear();
    Status st = si::DecodePostings(base, v, &out);
    EXPECT_TRUE(st.IsCorruption());
    return st.ToString();
  };
  const std::string two = Encoded({P(1, 0), P(2, 0)});  // 2 + 2 bytes
  ASSERT_EQ(two, std::string("\x01\x00\x01\x00", 4));
  auto has = [](const std::string& what, const std::string& part) {
    return what.find(part) != std::string::npos;
  };
  auto bytes = [](std::initializer_list<uint8_t> b) { return std::string(b.begin(), b.end()); };
  EXPECT_TRUE(
      has(problem(two + bytes({1, 0x81})), "cut short in the varint of the posting at byte 4"));
  EXPECT_TRUE(has(problem(two + bytes({0, 0})), "out of order at byte 4"));  // the same again
  EXPECT_TRUE(has(problem(Encoded({P(1, 5), P(1, 7)}) + bytes({0, 3})),  // number 7 − 2
                  "out of order at byte 4"));
  EXPECT_TRUE(has(problem(two + bytes({0x80, 0x20, 0})), "outside the list's bucket"));  // 4098
  EXPECT_TRUE(has(problem(two + bytes({1, 1})), "session number out of range"));  // 0 − 1
  EXPECT_TRUE(has(problem(two + std::string(9, '\xff') + "\x02"), "longer than 64 bits"));
  EXPECT_TRUE(has(problem(two + bytes({1})), "cut short in the varint of the posting at byte 4"));
  // Read lazily, a list keeps the postings before its problem and says what it is.
  std::vector<si::Posting> many;
  for (uint32_t i = 0; i < 100; ++i) many.push_back(P(1, i));
  const std::string torn = Encoded(many) + bytes({0, 0});
  si::PostingReader reader;
  reader.Reset(base, torn);
  EXPECT_TRUE(reader.Has(0));
  EXPECT_TRUE(reader.status().ok());
  EXPECT_FALSE(reader.Has(100));
  EXPECT_EQ(reader.decoded(), 100u);
  EXPECT_EQ(reader.at(99), P(1, 99));
  EXPECT_TRUE(has(reader.status().ToString(),
                  "out of order at byte " + std::to_string(torn.size() - 2)));
  out.clear();
  EXPECT_TRUE(si::DecodePostings(base, two + bytes({1, 1}), &out).IsCorruption());
  EXPECT_EQ(out.size(), 2u);  // what decoded before the problem
}

// The merge operator never fails (a failure would stop the catalog's compactions): a
// malformed list's postings up to the problem are kept.
TEST(PostingListTest, MergeOperatorKeepsWhatDecodesInsteadOfFailing) {
  auto merge = si::PostingsMerge();
  const std::string stored = Encoded({P(1, 0), P(3, 0)}) + "\x81";  // torn
  const std::string op = Encoded({P(2, 0)});
  const std::string key_bytes = si::TermPrefix(si::kText, "an") + kBucket;
  const rocksdb::Slice key(key_bytes);  // the input keeps a reference
  rocksdb::Slice existing(stored);
  std::vector<rocksdb::Slice> ops = {op};
  std::string out;
  rocksdb::Slice existing_operand;
  rocksdb::MergeOperator::MergeOperationInput in(key, &existing, ops, nullptr);
  rocksdb::MergeOperator::MergeOperationOutput res(out, existing_operand);
  ASSERT_TRUE(merge->FullMergeV2(in, &res));
  EXPECT_EQ(out, Encoded({P(1, 0), P(2, 0), P(3, 0)}));
}

TEST(PostingListTest, NextNumberMergeKeepsTheLargest) {
  auto merge = si::NumberMerge();
  std::string out;
  rocksdb::Slice existing(std::string_view("\0\0\x01\x00", 4));
  std::vector<rocksdb::Slice> ops = {rocksdb::Slice(std::string_view("\0\0\x02\x00", 4)),
                                     rocksdb::Slice("bad"),
                                     rocksdb::Slice(std::string_view("\0\0\x00\x05", 4))};
  rocksdb::Slice existing_operand;
  const rocksdb::Slice key(si::kNextNumberKey);  // the input keeps a reference
  rocksdb::MergeOperator::MergeOperationInput in(key, &existing, ops, nullptr);
  rocksdb::MergeOperator::MergeOperationOutput res(out, existing_operand);
  ASSERT_TRUE(merge->FullMergeV2(in, &res));
  EXPECT_EQ(out, std::string_view("\0\0\x02\x00", 4));
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
