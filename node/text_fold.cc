#include "node/text_fold.h"

#include <utf8proc.h>

#include <algorithm>

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

// Calls word_char(cp) for every folded code point that belongs to a word and sep() between
// words.
template <typename WordChar, typename Sep>
void Fold(std::string_view text, WordChar word_char, Sep sep) {
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  utf8proc_ssize_t left = static_cast<utf8proc_ssize_t>(text.size());
  const utf8proc_option_t opts = static_cast<utf8proc_option_t>(
      UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK);
  while (left > 0) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t used = utf8proc_iterate(p, left, &cp);
    if (used <= 0) {  // not UTF-8: a separator, skip one byte
      sep();
      ++p;
      --left;
      continue;
    }
    p += used;
    left -= used;
    utf8proc_int32_t parts[16];
    int last_boundclass = 0;
    utf8proc_ssize_t n = utf8proc_decompose_char(cp, parts, 16, opts, &last_boundclass);
    if (n < 0 || n > 16) {
      sep();
      continue;
    }
    for (utf8proc_ssize_t i = 0; i < n; ++i) {
      utf8proc_int32_t c = parts[i];
      if (c == kDStroke || c == kDStrokeCapital) c = 'd';
      if (IsWordChar(c))
        word_char(c);
      else if (utf8proc_category(c) != UTF8PROC_CATEGORY_MN)  // a leftover mark joins
        sep();
    }
  }
  sep();
}

}  // namespace

std::vector<std::string> FoldWords(std::string_view utf8) {
  std::vector<std::string> words;
  std::string word;
  Fold(utf8, [&](utf8proc_int32_t c) { AppendUtf8(c, &word); },
       [&] {
         if (!word.empty()) words.push_back(std::move(word));
         word.clear();
       });
  return words;
}

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
