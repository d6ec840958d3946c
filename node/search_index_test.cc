// Search building blocks: folding and table cells (node/text_fold.h), posting lists and their
// merge operator (node/search_index.h).
#include <gtest/gtest.h>
#include <rocksdb/merge_operator.h>

#include <string>
#include <vector>

#include "node/search_index.h"
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

}  // namespace
}  // namespace tcd::node
