#include "base/bytes.h"

#include <utf8proc.h>

namespace tcd {

std::string ToHex(ByteView b) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(b.size() * 2);
  for (uint8_t c : b) {
    s.push_back(kDigits[c >> 4]);
    s.push_back(kDigits[c & 15]);
  }
  return s;
}

bool IsValidUtf8(ByteView b) {
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(b.data());
  auto left = static_cast<utf8proc_ssize_t>(b.size());
  while (left > 0) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t n = utf8proc_iterate(p, left, &cp);
    if (n <= 0) return false;
    p += n;
    left -= n;
  }
  return true;
}

static int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<Bytes> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  Bytes out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = HexValue(hex[2 * i]), lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

bool Reader::Int(int n, uint64_t* v) {
  if (remaining() < static_cast<size_t>(n)) return false;
  uint64_t r = 0;
  for (int i = 0; i < n; ++i) r = r << 8 | in_[pos_ + i];
  pos_ += n;
  *v = r;
  return true;
}

bool Reader::U8(uint8_t* v) {
  uint64_t r;
  if (!Int(1, &r)) return false;
  *v = static_cast<uint8_t>(r);
  return true;
}
bool Reader::U16(uint16_t* v) {
  uint64_t r;
  if (!Int(2, &r)) return false;
  *v = static_cast<uint16_t>(r);
  return true;
}
bool Reader::U32(uint32_t* v) {
  uint64_t r;
  if (!Int(4, &r)) return false;
  *v = static_cast<uint32_t>(r);
  return true;
}
bool Reader::U64(uint64_t* v) { return Int(8, v); }
bool Reader::I64(int64_t* v) {
  uint64_t r;
  if (!Int(8, &r)) return false;
  *v = static_cast<int64_t>(r);
  return true;
}
bool Reader::Raw(size_t n, ByteView* out) {
  if (remaining() < n) return false;
  *out = in_.subspan(pos_, n);
  pos_ += n;
  return true;
}
bool Reader::Str16(std::string* out) {
  uint16_t n;
  ByteView v;
  if (!U16(&n) || !Raw(n, &v)) return false;
  out->assign(AsChars(v));
  return true;
}
bool Reader::Bytes32(Bytes* out) {
  uint32_t n;
  ByteView v;
  if (!U32(&n) || !Raw(n, &v)) return false;
  out->assign(v.begin(), v.end());
  return true;
}

}  // namespace tcd
