// Folding of text for search (docs/FORMAT.md §Search index): Vietnamese names typed with or
// without diacritics, in any case, match. A character is decomposed (Unicode NFKD), its
// combining marks are dropped and it is case-folded (utf8proc); đ and Đ, which Unicode does not
// decompose, become "d". Words are maximal runs of letters and digits; everything else
// separates them. Bytes that are not UTF-8 separate words too.
//   FoldWords("Nguyễn Văn An") == {"nguyen", "van", "an"}
//   FoldText("Đồng Nai") == "dong nai";  FoldText("KN-2024/17") == "kn 2024 17"
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tcd::node {

std::vector<std::string> FoldWords(std::string_view utf8);
// The same computed with utf8proc for every code point: FoldWords keeps the folding of the
// code points below U+2000 after their first use (tests compare the two).
std::vector<std::string> FoldWordsUncached(std::string_view utf8);
// The folded words joined by single spaces ("" when there are none).
std::string FoldText(std::string_view utf8);

// `utf8` as a table cell of exactly `columns` terminal columns: cut at a character boundary
// when wider, padded with spaces when narrower. Widths are utf8proc's (combining marks 0,
// CJK 2); a byte that is not UTF-8 counts as one column. "Phạm Xuân" is 9 columns, 12 bytes.
std::string Cell(std::string_view utf8, size_t columns);

}  // namespace tcd::node
