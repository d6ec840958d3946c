#include "node/search_index.h"

#include <cstring>
#include <set>

#include "node/text_fold.h"

namespace tcd::node::search_index {
namespace {

constexpr uint8_t kDocVersion = 2;

char WholeValueField(const std::string& key) {
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

Result<Doc> DecodeDoc(ByteView b) {
  Reader rd(b);
  Doc d;
  uint8_t version;
  if (!rd.U8(&version) || version != kDocVersion)
    return Status::Corruption("search doc: unknown version");
  if (!rd.Bytes32(&d.session)) return Status::Corruption("search doc: truncated");
  TCD_ASSIGN_OR_RETURN(d.meta, crypto::DecodeMetaBody(b.subspan(5 + d.session.size())));
  return d;
}

std::string Suffix(int64_t start_us, const crypto::SessionId& id) {
  Bytes s;
  Writer(&s).U64(~(static_cast<uint64_t>(start_us) ^ (1ull << 63)));
  s.insert(s.end(), id.begin(), id.end());
  return std::string(AsChars(s));
}

crypto::SessionId SuffixSession(std::string_view suffix) {
  crypto::SessionId id;
  std::copy(suffix.begin() + 8, suffix.begin() + 24, id.begin());
  return id;
}

std::string TermPrefix(char field, std::string_view term) {
  std::string k(1, field);
  k.append(term);
  k.push_back('\0');
  return k;
}

std::vector<std::string> PostingKeys(const crypto::Metadata& pairs, int64_t start_us,
                                     const crypto::SessionId& id, bool with_all) {
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
  const std::string suffix = Suffix(start_us, id);
  std::vector<std::string> keys;
  keys.reserve(prefixes.size());
  for (const auto& p : prefixes) keys.push_back(p + suffix);
  return keys;
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

}  // namespace

std::shared_ptr<const rocksdb::SliceTransform> TermPrefixExtractor() {
  static std::shared_ptr<const rocksdb::SliceTransform> t = std::make_shared<TermTransform>();
  return t;
}

}  // namespace tcd::node::search_index
