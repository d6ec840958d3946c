#include "node/search_index.h"

#include <rocksdb/env.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <set>

#include "node/text_fold.h"

namespace tcd::node::search_index {
namespace {

constexpr uint8_t kDocVersion = 2;
constexpr uint8_t kCardVersion = 2;

char WholeValueField(std::string_view key) {
  if (key == "point") return kPoint;
  if (key == "province") return kProvince;
  if (key == "case") return kCase;
  if (key == "type") return kType;
  if (key == "conference") return kConference;
  return 0;
}

}  // namespace

Bytes EncodeDoc(const Doc& d) {
  Bytes out;
  Writer w(&out);
  w.U8(kDocVersion);
  w.Bytes32(d.session);
  crypto::EncodeMeta(d.meta, &out);
  return out;
}

Result<DocView> DecodeDocView(ByteView b) {
  Reader rd(b);
  uint8_t version;
  uint32_t n;
  if (!rd.U8(&version) || version != kDocVersion)
    return Status::Corruption("search doc: unknown version");
  if (!rd.U32(&n) || b.size() - 5 < n) return Status::Corruption("search doc: truncated");
  DocView d{b.subspan(5, n), b.subspan(5 + n)};
  if (!WalkMeta(d.meta_body, [](std::string_view, std::string_view) {}))
    return Status::Corruption("search doc: malformed metadata");
  return d;
}

Result<Doc> DecodeDoc(ByteView b) {
  TCD_ASSIGN_OR_RETURN(DocView v, DecodeDocView(b));
  TCD_ASSIGN_OR_RETURN(crypto::Metadata meta, crypto::DecodeMetaBody(v.meta_body));
  return Doc{Bytes(v.session.begin(), v.session.end()), std::move(meta)};
}

Bytes EncodeCard(uint8_t place, ByteView session, const crypto::Metadata& meta) {
  std::string_view fields[6];  // point, province, case, type, chair, conference
  static const char* const kKeys[6] = {"point", "province", "case", "type", "chair", "conference"};
  for (const auto& [k, v] : meta)
    for (int i = 0; i < 6; ++i)
      if (k == kKeys[i]) fields[i] = v;
  Bytes out;
  Writer w(&out);
  w.U8(kCardVersion);
  w.U8(place);
  w.Bytes32(session);
  for (std::string_view f : fields) w.Str16(f.substr(0, 0xffff));
  return out;
}

std::vector<std::string> CardPrefixes(const crypto::Metadata& meta) {
  std::set<std::string> prefixes;
  for (const auto& [key, value] : meta) {
    const char f = WholeValueField(key);
    if (f != kPoint && f != kProvince) continue;
    std::string folded = FoldText(value);
    if (!folded.empty()) prefixes.insert(TermPrefix(f, folded));
  }
  for (auto& pair : PairTerms(meta)) prefixes.insert(std::move(pair));
  std::vector<std::string> out = {std::string(1, kAll)};
  out.insert(out.end(), prefixes.begin(), prefixes.end());
  return out;
}

Result<Card> DecodeCard(ByteView b) {
  Reader rd(b);
  uint8_t version;
  uint32_t n;
  Card c;
  if (!rd.U8(&version) || version != kCardVersion)
    return Status::Corruption("search card: unknown version");
  if (!rd.U8(&c.place)) return Status::Corruption("search card: truncated");
  if (c.place & ~kPlaceAll)
    return Status::Corruption("search card: unknown place bits " + std::to_string(c.place));
  if (!rd.U32(&n) || !rd.Raw(n, &c.session)) return Status::Corruption("search card: truncated");
  for (std::string_view* f : {&c.point, &c.province, &c.case_number, &c.type, &c.chair,
                              &c.conference}) {
    uint16_t size;
    ByteView v;
    if (!rd.U16(&size) || !rd.Raw(size, &v)) return Status::Corruption("search card: truncated");
    *f = AsChars(v);
  }
  if (!rd.done()) return Status::Corruption("search card: trailing bytes");
  return c;
}

uint64_t InvertedTime(int64_t start_us) {
  return ~(static_cast<uint64_t>(start_us) ^ (1ull << 63));
}

Posting DocKey(int64_t start_us, uint32_t number) {
  // From 1970 to the year 20,000 the inverted time's top 4 bits are 0111: they are left out.
  const uint64_t inv = InvertedTime(std::clamp<int64_t>(start_us, 0, (int64_t{1} << 59) - 1));
  return ((inv << 4) & ~uint64_t{0xffffffff}) | number;
}

std::string DocKeyBytes(Posting key) {
  std::string b(kDocKeySize, '\0');
  for (size_t i = 0; i < kDocKeySize; ++i) b[i] = static_cast<char>(key >> (56 - 8 * i));
  return b;
}

Posting DocKeyOf(std::string_view bytes) {
  Posting p = 0;
  for (size_t i = 0; i < kDocKeySize; ++i) p = p << 8 | static_cast<uint8_t>(bytes[i]);
  return p;
}

Posting BucketBase(std::string_view bucket) {
  uint32_t b = 0;
  for (size_t i = 0; i < kBucketSize; ++i) b = b << 8 | static_cast<uint8_t>(bucket[i]);
  return static_cast<Posting>(b & 0xfffff) << 44;
}

std::string BucketOf(Posting p) {
  const uint32_t b = 0x700000 | static_cast<uint32_t>(p >> 44);
  return {static_cast<char>(b >> 16), static_cast<char>(b >> 8), static_cast<char>(b)};
}

std::string TermPrefix(char field, std::string_view term) {
  std::string k(1, field);
  k.append(term);
  k.push_back('\0');
  return k;
}

std::string PostingKey(std::string_view term_prefix, Posting p) {
  std::string k(term_prefix);
  k.append(BucketOf(p));
  return k;
}

std::vector<std::string> PostingTerms(const crypto::Metadata& pairs, bool with_all) {
  std::set<std::string> prefixes;
  if (with_all) prefixes.insert(TermPrefix(kAll, ""));
  for (const auto& [key, value] : pairs) {
    std::vector<std::string> words = FoldWords(value);
    for (const auto& w : words) prefixes.insert(TermPrefix(kText, w));
    if (char f = WholeValueField(key); f && !words.empty())
      prefixes.insert(TermPrefix(f, FoldText(value)));
    char word_field = key == "chair" ? kChair : key == "participant" ? kParticipant : 0;
    if (word_field) {
      for (const auto& w : words) prefixes.insert(TermPrefix(word_field, w));
      const char pair_field = word_field == kChair ? kChairPair : kParticipantPair;
      for (const auto& t : WordPairTerms(std::move(words)))
        prefixes.insert(TermPrefix(pair_field, t));
    }
  }
  return {prefixes.begin(), prefixes.end()};
}

std::vector<std::string> WordPairTerms(std::vector<std::string> words) {
  std::sort(words.begin(), words.end());  // as unsigned bytes (char_traits<char>::lt)
  words.erase(std::unique(words.begin(), words.end()), words.end());
  if (words.size() > kMaxPairWords) return {""};
  std::vector<std::string> out;
  for (size_t i = 0; i < words.size(); ++i)
    for (size_t j = i + 1; j < words.size(); ++j)
      out.push_back(words[i] + ' ' + words[j]);  // a space is never inside a folded word
  return out;
}

std::string PairTerm(std::string_view folded_province, std::string_view folded_type) {
  std::string t(folded_province);
  t.push_back('|');  // folding never produces it
  t.append(folded_type);
  return t;
}

std::vector<std::string> PairTerms(const crypto::Metadata& meta) {
  std::set<std::string> provinces, types, out;
  for (const auto& [key, value] : meta) {
    const char f = WholeValueField(key);
    if (f != kProvince && f != kType) continue;
    std::string folded = FoldText(value);
    if (!folded.empty()) (f == kProvince ? provinces : types).insert(std::move(folded));
  }
  for (const auto& p : provinces)
    for (const auto& t : types) out.insert(TermPrefix(kProvinceType, PairTerm(p, t)));
  return {out.begin(), out.end()};
}

namespace {

void PutVarint(uint64_t v, std::string* out) {
  for (; v >= 0x80; v >>= 7) out->push_back(static_cast<char>(0x80 | (v & 0x7f)));
  out->push_back(static_cast<char>(v));
}

// The varint at value[*at], moving *at past it; false when it is cut short or longer than 64
// bits.
bool GetVarint(std::string_view value, size_t* at, uint64_t* v, const char** problem) {
  *v = 0;
  for (int shift = 0;; shift += 7) {
    if (*at == value.size()) {
      *problem = "cut short in the varint";
      return false;
    }
    const uint8_t b = static_cast<uint8_t>(value[(*at)++]);
    if (shift == 63 && b > 1) {
      *problem = "with a varint longer than 64 bits";
      return false;
    }
    *v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
}

}  // namespace

void EncodePostings(Posting base, const std::vector<Posting>& postings, std::string* out) {
  uint32_t slot = SlotOf(base), number = 0;
  for (Posting p : postings) {
    const auto n = static_cast<uint32_t>(p);
    const int64_t d = static_cast<int64_t>(n) - number;
    PutVarint(SlotOf(p) - slot, out);
    PutVarint((static_cast<uint64_t>(d) << 1) ^ static_cast<uint64_t>(d >> 63), out);  // zigzag
    slot = SlotOf(p);
    number = n;
  }
}

namespace {

// DecodePostings, checking every posting as it goes: the message of a malformed list.
Status DecodeChecked(Posting base, std::string_view value, std::vector<Posting>* out) {
  const uint32_t first_slot = SlotOf(base);
  uint32_t slot = first_slot;
  int64_t number = 0;
  for (size_t at = 0; at < value.size();) {
    const size_t start = at;
    uint64_t dslot, z;
    const char* problem = nullptr;
    if (!GetVarint(value, &at, &dslot, &problem) || !GetVarint(value, &at, &z, &problem))
      return Status::Corruption("search index: posting list " + std::string(problem) +
                                " of the posting at byte " + std::to_string(start));
    const int64_t d = static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1);
    if (dslot >= kSlotsPerBucket || slot - first_slot + dslot >= kSlotsPerBucket)
      return Status::Corruption("search index: posting at byte " + std::to_string(start) +
                                " lies outside the list's bucket");
    if (z >> 33 || number + d < 0 || number + d > UINT32_MAX)
      return Status::Corruption("search index: posting at byte " + std::to_string(start) +
                                " has a session number out of range");
    if (dslot == 0 && d <= 0 && start > 0)
      return Status::Corruption("search index: posting list out of order at byte " +
                                std::to_string(start));
    slot += static_cast<uint32_t>(dslot);
    number += d;
    out->push_back(static_cast<Posting>(slot) << 32 | static_cast<uint64_t>(number));
  }
  return Status::OK();
}

}  // namespace

bool PostingReader::DecodeTo(size_t i) {
  // Queries decode hundreds of thousands of postings: a pass without a branch per check (a
  // posting is at least 2 bytes), doubling what is decoded; DecodeChecked names the problem
  // of a malformed list.
  if (at_ >= size_) return false;
  const size_t had = decoded_.size();
  // At most one posting per 2 bytes left, and at least one: a stray last byte fails below.
  const size_t want =
      std::min(std::max({i + 1, 2 * had, size_t{64}}), had + std::max<size_t>(1, (size_ - at_) / 2));
  decoded_.resize(want);
  Posting* w = decoded_.data() + had;
  Posting* const end = decoded_.data() + want;
  bool bad = false;
  while (w != end && at_ < size_) {
    uint64_t dslot, z;
    if (at_ + 1 < size_ && (p_[at_] | p_[at_ + 1]) < 0x80) {  // the usual: a byte each
      dslot = p_[at_];
      z = p_[at_ + 1];
      at_ += 2;
    } else {
      const std::string_view value(reinterpret_cast<const char*>(p_), size_);
      const char* problem = nullptr;
      if (!GetVarint(value, &at_, &dslot, &problem) || !GetVarint(value, &at_, &z, &problem) ||
          z >> 33) {  // a number difference beyond ±2^32 (and no overflow below)
        bad = true;
        break;
      }
    }
    const int64_t d = static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1);
    bad |= (dslot >= kSlotsPerBucket) | ((dslot == 0) & (d <= 0) & (w != decoded_.data()));
    slot_ += static_cast<uint32_t>(dslot);
    number_ += d;
    bad |= (slot_ - SlotOf(base_) >= kSlotsPerBucket) | (number_ < 0) | (number_ > UINT32_MAX);
    *w++ = static_cast<Posting>(slot_) << 32 | static_cast<uint64_t>(number_);
  }
  decoded_.resize(static_cast<size_t>(w - decoded_.data()));
  if (bad) {  // keep the postings before the problem, and say what it is
    decoded_.clear();
    status_ = DecodeChecked(base_, std::string_view(reinterpret_cast<const char*>(p_), size_),
                            &decoded_);
    if (status_.ok()) status_ = Status::Corruption("search index: posting list does not decode");
    at_ = size_;  // nothing more
  }
  return i < decoded_.size();
}

void PostingReader::Reset(Posting base, std::string_view value) {
  base_ = base;
  p_ = reinterpret_cast<const uint8_t*>(value.data());
  size_ = value.size();
  at_ = 0;
  slot_ = SlotOf(base);
  number_ = 0;
  decoded_.clear();
  status_ = Status::OK();
}

void PostingReader::Reset(std::vector<Posting> postings, size_t encoded_size) {
  Reset(0, {});
  decoded_ = std::move(postings);
  size_ = at_ = encoded_size;
}

Status DecodePostings(Posting base, std::string_view value, std::vector<Posting>* out) {
  PostingReader r;
  r.Reset(base, value);
  size_t n = 0;
  while (r.Has(n)) ++n;
  out->insert(out->end(), r.decoded_.begin(), r.decoded_.begin() + static_cast<std::ptrdiff_t>(n));
  return r.status();
}

Status UnionPostings(Posting base, const std::vector<std::string_view>& lists, std::string* out) {
  std::vector<Posting> all;
  for (std::string_view l : lists) TCD_RETURN_IF_ERROR(DecodePostings(base, l, &all));
  if (lists.size() > 1) std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  out->clear();
  EncodePostings(base, all, out);
  return Status::OK();
}

namespace {

class TermTransform : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "tcd.search-term.v1"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    const char* zero = static_cast<const char*>(std::memchr(key.data() + 1, 0, key.size() - 1));
    return rocksdb::Slice(key.data(), static_cast<size_t>(zero - key.data()) + 1);
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return key.size() >= 2 && std::memchr(key.data() + 1, 0, key.size() - 1) != nullptr;
  }
};

class Merge : public rocksdb::MergeOperator {
 public:
  const char* Name() const override { return "tcd.search-postings.v2"; }
  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    std::vector<std::string_view> lists;
    lists.reserve(in.operand_list.size() + 1);
    if (in.existing_value) lists.push_back(in.existing_value->ToStringView());
    for (const auto& op : in.operand_list) lists.push_back(op.ToStringView());
    return Union(in.key, lists, &out->new_value, in.logger);
  }
  bool PartialMergeMulti(const rocksdb::Slice& key, const std::deque<rocksdb::Slice>& operands,
                         std::string* new_value, rocksdb::Logger* logger) const override {
    std::vector<std::string_view> lists;
    for (const auto& op : operands) lists.push_back(op.ToStringView());
    return Union(key, lists, new_value, logger);
  }

 private:
  // Never fails: a failed merge would stop the catalog's compactions and with them the
  // recorder. A malformed list (never written by this code) is logged and its postings up to
  // the problem are kept; a query reports nothing worse than missing the rest, and
  // `tcd reindex` rebuilds the index from the chain.
  static bool Union(const rocksdb::Slice& key, const std::vector<std::string_view>& lists,
                    std::string* out, rocksdb::Logger* logger) {
    if (key.size() < kBucketSize) {
      if (logger) rocksdb::Log(logger, "search index: posting list key of %zu bytes", key.size());
      out->clear();
      return true;
    }
    const Posting base = BucketBase(key.ToStringView().substr(key.size() - kBucketSize));
    Status st = UnionPostings(base, lists, out);
    if (st.ok()) return true;
    if (logger) rocksdb::Log(logger, "%s: keeping what decodes", st.ToString().c_str());
    std::vector<Posting> all;
    for (std::string_view l : lists) (void)DecodePostings(base, l, &all);
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
    out->clear();
    EncodePostings(base, all, out);
    return true;
  }
};

// The next session number: the largest u32 of the existing value and the operands.
class NumberMax : public rocksdb::AssociativeMergeOperator {
 public:
  const char* Name() const override { return "tcd.search-next-number.v1"; }
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing, const rocksdb::Slice& value,
             std::string* new_value, rocksdb::Logger* logger) const override {
    uint32_t best = 0;
    for (const rocksdb::Slice* v : {existing, &value}) {
      if (!v) continue;
      if (v->size() != 4) {
        if (logger) rocksdb::Log(logger, "search index: next number of %zu bytes", v->size());
        continue;
      }
      uint32_t n = 0;
      for (size_t i = 0; i < 4; ++i) n = n << 8 | static_cast<uint8_t>((*v)[i]);
      best = std::max(best, n);
    }
    new_value->assign({static_cast<char>(best >> 24), static_cast<char>(best >> 16),
                       static_cast<char>(best >> 8), static_cast<char>(best)});
    return true;
  }
};

}  // namespace

std::shared_ptr<rocksdb::MergeOperator> PostingsMerge() {
  static std::shared_ptr<rocksdb::MergeOperator> m = std::make_shared<Merge>();
  return m;
}

std::shared_ptr<rocksdb::MergeOperator> NumberMerge() {
  static std::shared_ptr<rocksdb::MergeOperator> m = std::make_shared<NumberMax>();
  return m;
}

std::shared_ptr<const rocksdb::SliceTransform> TermPrefixExtractor() {
  static std::shared_ptr<const rocksdb::SliceTransform> t = std::make_shared<TermTransform>();
  return t;
}

}  // namespace tcd::node::search_index
