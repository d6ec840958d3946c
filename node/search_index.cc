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
constexpr uint8_t kCardVersion = 1;

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

Bytes EncodeCard(ByteView session, const crypto::Metadata& meta) {
  std::string_view fields[6];  // point, province, case, type, chair, conference
  static const char* const kKeys[6] = {"point", "province", "case", "type", "chair", "conference"};
  for (const auto& [k, v] : meta)
    for (int i = 0; i < 6; ++i)
      if (k == kKeys[i]) fields[i] = v;
  Bytes out;
  Writer w(&out);
  w.U8(kCardVersion);
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

std::string Suffix(int64_t start_us, const crypto::SessionId& id) {
  Bytes s;
  Writer(&s).U64(~(static_cast<uint64_t>(start_us) ^ (1ull << 63)));
  s.insert(s.end(), id.begin(), id.end());
  return std::string(AsChars(s));
}

std::string TermPrefix(char field, std::string_view term) {
  std::string k(1, field);
  k.append(term);
  k.push_back('\0');
  return k;
}

std::string PostingKey(std::string_view term_prefix, std::string_view suffix) {
  std::string k(term_prefix);
  k.append(suffix.substr(0, kBucketSize));
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
    if (word_field)
      for (const auto& w : words) prefixes.insert(TermPrefix(word_field, w));
  }
  return {prefixes.begin(), prefixes.end()};
}

bool DocHasTerm(ByteView meta_body, const QueryTerm& t) {
  if (t.field == kAll) return t.word.empty();  // every session has the one term ""
  auto has_word = [&](std::string_view value) {
    for (const auto& w : FoldWords(value))
      if (t.prefix ? std::string_view(w).starts_with(t.word) : w == t.word) return true;
    return false;
  };
  std::string_view want_province, want_type;  // of a pair term
  if (t.field == kProvinceType) {
    const size_t bar = t.word.find('|');
    if (bar == std::string::npos) return false;
    want_province = std::string_view(t.word).substr(0, bar);
    want_type = std::string_view(t.word).substr(bar + 1);
  }
  bool found = false, province = false, type = false;
  WalkMeta(meta_body, [&](std::string_view key, std::string_view value) {
    if (found) return;
    const char whole = WholeValueField(key);
    switch (t.field) {
      case kText: found = has_word(value); break;
      case kChair: found = key == "chair" && has_word(value); break;
      case kParticipant: found = key == "participant" && has_word(value); break;
      case kProvinceType:
        if (whole == kProvince && !province) province = FoldText(value) == want_province;
        if (whole == kType && !type) type = FoldText(value) == want_type;
        found = province && type;
        break;
      default:  // a whole-value field; a value without letters or digits is not indexed
        found = whole == t.field && FoldText(value) == t.word && !t.word.empty();
    }
  });
  return found;
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

Status UnionPostings(const std::vector<std::string_view>& lists, std::string* out) {
  // The longest list (usually the stored one) is merged linearly with the others' postings,
  // which are few (the operands of recent appends), sorted first.
  size_t base = 0, others_size = 0;
  for (size_t i = 0; i < lists.size(); ++i) {
    std::string_view l = lists[i];
    if (l.size() % kSuffixSize != 0)
      return Status::Corruption("search index: posting list of " + std::to_string(l.size()) +
                                " bytes is not a whole number of " +
                                std::to_string(kSuffixSize) + "-byte postings");
    for (size_t at = kSuffixSize; at < l.size(); at += kSuffixSize)
      if (l.substr(at - kSuffixSize, kSuffixSize) >= l.substr(at, kSuffixSize))
        return Status::Corruption("search index: posting list out of order at posting " +
                                  std::to_string(at / kSuffixSize));
    if (l.size() > lists[base].size()) base = i;
    others_size += l.size();
  }
  std::vector<std::string_view> others;
  if (!lists.empty()) others_size -= lists[base].size();
  others.reserve(others_size / kSuffixSize);
  for (size_t i = 0; i < lists.size(); ++i)
    for (size_t at = 0; i != base && at < lists[i].size(); at += kSuffixSize)
      others.push_back(lists[i].substr(at, kSuffixSize));
  std::sort(others.begin(), others.end());
  others.erase(std::unique(others.begin(), others.end()), others.end());
  out->clear();
  if (lists.empty()) return Status::OK();
  std::string_view b = lists[base];
  out->reserve(b.size() + others.size() * kSuffixSize);
  size_t at = 0;
  for (std::string_view o : others) {
    for (; at < b.size() && b.substr(at, kSuffixSize) < o; at += kSuffixSize)
      out->append(b.substr(at, kSuffixSize));
    if (at < b.size() && b.substr(at, kSuffixSize) == o) at += kSuffixSize;  // in both
    out->append(o);
  }
  out->append(b.substr(at));
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
  const char* Name() const override { return "tcd.search-postings.v1"; }
  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    std::vector<std::string_view> lists;
    lists.reserve(in.operand_list.size() + 1);
    if (in.existing_value) lists.push_back(in.existing_value->ToStringView());
    for (const auto& op : in.operand_list) lists.push_back(op.ToStringView());
    return Union(lists, &out->new_value, in.logger);
  }
  bool PartialMergeMulti(const rocksdb::Slice&, const std::deque<rocksdb::Slice>& operands,
                         std::string* new_value, rocksdb::Logger* logger) const override {
    std::vector<std::string_view> lists;
    for (const auto& op : operands) lists.push_back(op.ToStringView());
    return Union(lists, new_value, logger);
  }

 private:
  // Never fails: a failed merge would stop the catalog's compactions and with them the
  // recorder. A malformed list (never written by this code) is logged and its whole postings
  // sorted in; the query that reads it reports nothing worse than extra candidates, and
  // `tcd reindex` rebuilds the index from the chain.
  static bool Union(const std::vector<std::string_view>& lists, std::string* out,
                    rocksdb::Logger* logger) {
    Status st = UnionPostings(lists, out);
    if (st.ok()) return true;
    if (logger) rocksdb::Log(logger, "%s: sorting its postings in", st.ToString().c_str());
    std::vector<std::string_view> all;
    for (std::string_view l : lists)
      for (size_t at = 0; at + kSuffixSize <= l.size(); at += kSuffixSize)
        all.push_back(l.substr(at, kSuffixSize));
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
    out->clear();
    for (std::string_view p : all) out->append(p);
    return true;
  }
};

}  // namespace

std::shared_ptr<rocksdb::MergeOperator> PostingsMerge() {
  static std::shared_ptr<rocksdb::MergeOperator> m = std::make_shared<Merge>();
  return m;
}

std::shared_ptr<const rocksdb::SliceTransform> TermPrefixExtractor() {
  static std::shared_ptr<const rocksdb::SliceTransform> t = std::make_shared<TermTransform>();
  return t;
}

}  // namespace tcd::node::search_index
