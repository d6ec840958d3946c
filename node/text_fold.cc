#include "node/text_fold.h"

#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <mutex>
#include <optional>

namespace tcd::node {
namespace {

constexpr utf8proc_int32_t kDStroke = 0x0111, kDStrokeCapital = 0x0110;

bool IsWordChar(utf8proc_int32_t cp) {
  switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
      return true;
    default:
      return false;
  }
}

void AppendUtf8(utf8proc_int32_t cp, std::string* out) {
  utf8proc_uint8_t buf[4];
  utf8proc_ssize_t n = utf8proc_encode_char(cp, buf);
  out->append(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
}

// What one code point folds to, appended to *out: the UTF-8 of the word characters it becomes,
// with '\0' wherever it separates words ('\0' is never a word character). A code point folds
// the same whatever surrounds it.
void FoldCodePoint(utf8proc_int32_t cp, std::string* out) {
  const utf8proc_option_t opts = static_cast<utf8proc_option_t>(
      UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK);
  utf8proc_int32_t parts[16];
  int last_boundclass = 0;
  utf8proc_ssize_t n = utf8proc_decompose_char(cp, parts, 16, opts, &last_boundclass);
  if (n < 0 || n > 16) {
    out->push_back('\0');
    return;
  }
  for (utf8proc_ssize_t i = 0; i < n; ++i) {
    utf8proc_int32_t c = parts[i];
    if (c == kDStroke || c == kDStrokeCapital) c = 'd';
    if (IsWordChar(c))
      AppendUtf8(c, out);
    else if (utf8proc_category(c) != UTF8PROC_CATEGORY_MN)  // a leftover mark joins
      out->push_back('\0');
  }
}

// FoldCodePoint of the code points below U+2000 (ASCII, Latin-1 and the Latin extensions, the
// combining marks, and U+1E00–U+1EFF where Vietnamese's precomposed letters are), computed with
// utf8proc once per block of 256 on first use and kept: folding is what indexing every chain
// entry and checking candidates' documents spend their time on.
class FoldMemo {
 public:
  static constexpr utf8proc_int32_t kLimit = 0x2000;
  // The folding of `cp` (< kLimit), or nullopt when it is too long to keep.
  std::optional<std::string_view> Get(utf8proc_int32_t cp) {
    std::call_once(filled_[cp >> 8], [&] { Fill(cp >> 8); });
    const Entry& e = entries_[cp];
    if (e.size == kTooLong) return std::nullopt;
    return std::string_view(e.bytes, e.size);
  }

 private:
  static constexpr uint8_t kTooLong = 0xff;
  struct Entry {
    uint8_t size;
    char bytes[15];
  };
  void Fill(utf8proc_int32_t block) {
    std::string folded;
    for (utf8proc_int32_t cp = block << 8; cp < (block + 1) << 8; ++cp) {
      folded.clear();
      FoldCodePoint(cp, &folded);
      Entry& e = entries_[cp];
      e.size = folded.size() <= sizeof e.bytes ? static_cast<uint8_t>(folded.size()) : kTooLong;
      if (e.size != kTooLong) std::memcpy(e.bytes, folded.data(), folded.size());
    }
  }
  std::array<Entry, kLimit> entries_;
  std::array<std::once_flag, kLimit / 256> filled_;
};

FoldMemo& Memo() {
  static FoldMemo* memo = new FoldMemo;  // never destroyed: usable until the process exits
  return *memo;
}

// Calls word(bytes) with the UTF-8 of folded word characters, and sep() between words.
template <typename Word, typename Sep>
void Fold(std::string_view text, bool use_memo, Word word, Sep sep) {
  FoldMemo& memo = Memo();
  std::string slow;  // FoldCodePoint of a code point the memo does not keep
  auto emit = [&](std::string_view folded) {
    for (size_t at = 0; at < folded.size();) {
      const size_t zero = folded.find('\0', at);
      if (zero == at) {
        sep();
        ++at;
        continue;
      }
      const size_t stop = zero == std::string_view::npos ? folded.size() : zero;
      word(folded.substr(at, stop - at));
      at = stop;
    }
  };
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  utf8proc_ssize_t left = static_cast<utf8proc_ssize_t>(text.size());
  while (left > 0) {
    utf8proc_int32_t cp = *p;
    utf8proc_ssize_t used = 1;
    if (cp >= 0x80) used = utf8proc_iterate(p, left, &cp);
    if (used <= 0) {  // not UTF-8: a separator, skip one byte
      sep();
      ++p;
      --left;
      continue;
    }
    p += used;
    left -= used;
    std::optional<std::string_view> folded;
    if (use_memo && cp < FoldMemo::kLimit) folded = memo.Get(cp);
    if (!folded) {
      slow.clear();
      FoldCodePoint(cp, &slow);
      folded = slow;
    }
    emit(*folded);
  }
  sep();
}

std::vector<std::string> FoldWords(std::string_view utf8, bool use_memo) {
  std::vector<std::string> words;
  std::string word;
  Fold(utf8, use_memo, [&](std::string_view chars) { word.append(chars); },
       [&] {
         if (!word.empty()) words.push_back(std::move(word));
         word.clear();
       });
  return words;
}

}  // namespace

std::vector<std::string> FoldWords(std::string_view utf8) { return FoldWords(utf8, true); }

std::vector<std::string> FoldWordsUncached(std::string_view utf8) { return FoldWords(utf8, false); }

std::string FoldText(std::string_view utf8) {
  std::string out;
  for (const auto& w : FoldWords(utf8)) {
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

std::string Cell(std::string_view utf8, size_t columns) {
  std::string out;
  size_t used = 0, pos = 0;
  while (pos < utf8.size()) {
    utf8proc_int32_t cp;
    auto p = reinterpret_cast<const utf8proc_uint8_t*>(utf8.data() + pos);
    utf8proc_ssize_t n = utf8proc_iterate(p, static_cast<utf8proc_ssize_t>(utf8.size() - pos), &cp);
    size_t bytes = n > 0 ? static_cast<size_t>(n) : 1;
    size_t width = n > 0 ? static_cast<size_t>(std::max(0, utf8proc_charwidth(cp))) : 1;
    if (used + width > columns) break;
    out.append(utf8.substr(pos, bytes));
    used += width;
    pos += bytes;
  }
  out.append(columns - used, ' ');
  return out;
}

}  // namespace tcd::node
