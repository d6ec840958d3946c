// Private to node/catalog*.cc: the search index's records and keys (docs/FORMAT.md §Search
// index).
//   search_docs      u64 BE ~(start_us ^ 2^63) | session_id[16] → u8 version=2 |
//                    u32 n | SessionRecord encoding[n] | MetaBody (the open entry's pairs,
//                    then every annotation's pairs, in chain order). Keyed like a posting's
//                    suffix, so the documents of a result page are neighbours on disk.
//   search_cards     u8 'a' | suffix, and u8 field | folded value | 0x00 | suffix for every
//                    point ('p'), province ('v') and (province, type) pair ('w', the same
//                    term as its postings) the session has → u8 version=1 |
//                    u32 n | SessionRecord encoding[n] | the latest value of point, province,
//                    case, type, chair, conference (each u16 length | UTF-8; "" when absent):
//                    what a row of results shows. The copies keyed by point and by province put
//                    a page of one point's (province's) results in a few adjacent blocks.
//   search_postings  u8 field | term (folded UTF-8) | 0x00 | bucket[3] → posting list: the
//                    suffixes (kSuffixSize bytes each) of the term's sessions whose suffix
//                    begins with `bucket`, ascending, no duplicates. Written with Merge (an
//                    operand is one or more suffixes), combined by PostingsMerge().
// A suffix's time sorts newest first, so a bucket (its first 3 bytes: 2^40 µs, about 12.7 days
// of session starts) is too; a term never contains 0x00, so one term's lists are a contiguous
// key range in the order results are shown, and a query intersects lists in memory.
#pragma once

#include <rocksdb/merge_operator.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/write_batch.h>

#include <memory>

#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/chain.h"

namespace tcd::node::search_index {

// Posting fields (on disk: never change).
constexpr char kAll = 'a';          // every session, term ""
constexpr char kText = 't';         // each word of every metadata value
constexpr char kPoint = 'p';        // whole folded value of "point"
constexpr char kProvince = 'v';     // "province"
constexpr char kCase = 'c';         // "case"
constexpr char kType = 'y';         // "type"
constexpr char kConference = 'f';   // "conference"
constexpr char kChair = 'h';        // each word of "chair"
constexpr char kParticipant = 'r';  // each word of every "participant"
constexpr char kProvinceType = 'w';  // folded province | '|' | folded type, every combination

constexpr size_t kSuffixSize = 24;  // time (8) + session id (16)
constexpr size_t kBucketSize = 3;   // a posting list's key: the first 3 bytes of its suffixes

struct Doc {
  Bytes session;  // EncodeSessionRecord of the session's current summary
  crypto::Metadata meta;
};
Bytes EncodeDoc(const Doc& d);
Result<Doc> DecodeDoc(ByteView b);
// The same, without copying or decoding: both parts view `b` (the metadata's encoding is
// checked).
struct DocView {
  ByteView session;
  ByteView meta_body;
};
Result<DocView> DecodeDocView(ByteView b);

// The values a row of results shows (the latest of each key: annotations amend).
struct Card {
  ByteView session;  // EncodeSessionRecord of the session's current summary
  std::string_view point, province, case_number, type, chair, conference;
};
Bytes EncodeCard(ByteView session, const crypto::Metadata& meta);
// The prefixes of the keys the card of a session with `meta` is stored under (before its
// suffix): "a", then "p" | value | 0x00 and "v" | value | 0x00 for each folded point and
// province value, and the PairTerms.
std::vector<std::string> CardPrefixes(const crypto::Metadata& meta);
Result<Card> DecodeCard(ByteView b);  // views `b`

// Calls fn(key, value) for every pair of a MetaBody, in order, without copying; false when it
// is malformed (truncated, or bytes after the last pair).
template <typename F>
bool WalkMeta(ByteView body, F&& fn) {
  Reader r(body);
  uint32_t n;
  if (!r.U32(&n)) return false;
  for (uint32_t i = 0; i < n; ++i) {
    uint16_t key_size;
    uint32_t value_size;
    ByteView key, value;
    if (!r.U16(&key_size) || !r.Raw(key_size, &key) || !r.U32(&value_size) ||
        !r.Raw(value_size, &value))
      return false;
    fn(AsChars(key), AsChars(value));
  }
  return r.done();
}

std::string Suffix(int64_t start_us, const crypto::SessionId& id);
// field | term | 0x00
std::string TermPrefix(char field, std::string_view term);
// The key of the posting list of term `term_prefix` that holds `suffix`.
std::string PostingKey(std::string_view term_prefix, std::string_view suffix);

// The term prefixes of every posting of `pairs` (kAll's included when `with_all`), sorted.
std::vector<std::string> PostingTerms(const crypto::Metadata& pairs, bool with_all);
// The kProvinceType term prefixes of a session's whole metadata `meta`: one per combination of
// its province and type values (the most common pair of filters, answered by one list).
std::vector<std::string> PairTerms(const crypto::Metadata& meta);
std::string PairTerm(std::string_view folded_province, std::string_view folded_type);

// The sorted union of posting lists, each ascending (not necessarily the same size).
// Corruption when a list is not a whole number of suffixes or not strictly ascending.
Status UnionPostings(const std::vector<std::string_view>& lists, std::string* out);

// search_postings' merge operator (name "tcd.search-postings.v1"): the union of the existing
// list and the operands. It never fails (that would stop the catalog's compactions): the whole
// postings of a malformed list are sorted in and the problem is logged.
std::shared_ptr<rocksdb::MergeOperator> PostingsMerge();

// A word of a query and the field whose postings hold it.
struct QueryTerm {
  char field;
  std::string word;  // folded; for whole-value fields the folded value
  bool prefix = false;
};

// Whether a session whose MetaBody (the open entry's pairs, then every annotation's) is
// `meta_body` has term `t` among its postings (PostingTerms and PairTerms of its metadata, a
// prefix term any word starting with it): what its posting list would say, without reading it.
// REQUIRES: a well-formed MetaBody.
bool DocHasTerm(ByteView meta_body, const QueryTerm& t);

// What postings cannot decide: all the words of --chair (--participant) in one single chair
// (participant) value of the session's metadata. And the terms whose lists a query stopped
// reading because they hold nearly every session it looks at (Catalog::Search): a document
// passes when it has each of them (DocHasTerm).
struct PostFilter {
  const std::vector<QueryTerm>& terms;
  std::vector<QueryTerm> residual;
  // false: every document passes (no --chair, --participant, nor a residual term)
  bool NeedsMetadata() const;
  bool operator()(ByteView meta_body) const;  // REQUIRES: a well-formed MetaBody
};

// RocksDB prefix extractor of search_postings: a key's `field | term | 0x00` (name
// "tcd.search-term.v1"; keys without a 0x00 after the field are outside its domain).
std::shared_ptr<const rocksdb::SliceTransform> TermPrefixExtractor();

}  // namespace tcd::node::search_index
