// Byte strings and the canonical big-endian encoding used by every on-disk and on-wire format
// (docs/FORMAT.md): fixed-width integers are big-endian, variable fields are length-prefixed.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tcd {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

inline ByteView AsBytes(std::string_view s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
inline std::string_view AsChars(ByteView b) {
  return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}

std::string ToHex(ByteView b);
// True when `b` is well-formed UTF-8 (utf8proc's definition: no surrogates, no overlongs).
bool IsValidUtf8(ByteView b);
// Lower- or upper-case hex of even length; nullopt otherwise.
std::optional<Bytes> FromHex(std::string_view hex);

// Appends canonical encodings to a Bytes buffer.
class Writer {
 public:
  explicit Writer(Bytes* out) : out_(out) {}
  void U8(uint8_t v) { out_->push_back(v); }
  void U16(uint16_t v) { Int(v, 2); }
  void U32(uint32_t v) { Int(v, 4); }
  void U64(uint64_t v) { Int(v, 8); }
  void I64(int64_t v) { Int(static_cast<uint64_t>(v), 8); }
  void Raw(ByteView b) {
    // resize + memcpy rather than insert(end, …): g++ 12 at -O3 reports false
    // -Warray-bounds/-Wstringop-overflow for a range insert it has inlined.
    const size_t at = out_->size();
    out_->resize(at + b.size());
    if (!b.empty()) std::memcpy(out_->data() + at, b.data(), b.size());
  }
  void Raw(std::string_view s) { Raw(AsBytes(s)); }
  // u16 length then bytes. REQUIRES: size < 65536.
  void Str16(std::string_view s) { U16(static_cast<uint16_t>(s.size())); Raw(s); }
  // u32 length then bytes.
  void Bytes32(ByteView b) { U32(static_cast<uint32_t>(b.size())); Raw(b); }

 private:
  void Int(uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) out_->push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  Bytes* out_;
};

// Reads canonical encodings; every read fails (returns false) instead of reading past the end.
class Reader {
 public:
  explicit Reader(ByteView in) : in_(in) {}
  bool U8(uint8_t* v);
  bool U16(uint16_t* v);
  bool U32(uint32_t* v);
  bool U64(uint64_t* v);
  bool I64(int64_t* v);
  bool Raw(size_t n, ByteView* out);
  template <size_t N>
  bool Fixed(std::array<uint8_t, N>* out) {
    ByteView v;
    if (!Raw(N, &v)) return false;
    std::copy(v.begin(), v.end(), out->begin());
    return true;
  }
  bool Str16(std::string* out);
  bool Bytes32(Bytes* out);
  size_t remaining() const { return in_.size() - pos_; }
  size_t position() const { return pos_; }
  bool done() const { return pos_ == in_.size(); }

 private:
  bool Int(int n, uint64_t* v);
  ByteView in_;
  size_t pos_ = 0;
};

}  // namespace tcd
