// Private to node/catalog*.cc: the search index's records and keys (docs/FORMAT.md §Search
// index).
//   search_ids       session_id[16] → doc key[8]: the key a session's document, cards and
//                    postings are under (DocKey); and kNextNumberKey → u32 BE, the next session
//                    number (written with Merge: the largest operand wins, NumberMerge()).
//   search_docs      doc key[8] → u8 version=2 | u32 n | SessionRecord encoding[n] | MetaBody
//                    (the open entry's pairs, then every annotation's pairs, in chain order).
//   search_cards     u8 'a' | doc key, and u8 field | folded value | 0x00 | doc key for every
//                    point ('p'), province ('v') and (province, type) pair ('w', the same
//                    term as its postings) the session has → u8 version=1 |
//                    u32 n | SessionRecord encoding[n] | the latest value of point, province,
//                    case, type, chair, conference (each u16 length | UTF-8; "" when absent):
//                    what a row of results shows. The copies keyed by point and by province put
//                    a page of one point's (province's) results in a few adjacent blocks.
//   search_postings  u8 field | term (folded UTF-8) | 0x00 | bucket[3] → posting list: the doc
//                    keys of the term's sessions in `bucket`, ascending, as varint deltas
//                    (EncodePostings). Written with Merge (an operand is a list), combined by
//                    PostingsMerge().
// A doc key is the session's slot (bits 59..28 of its inverted start time: 2^28 µs, about 4.5
// minutes; slots sort newest first) and then its number in this catalog, given when its open
// entry is first indexed (in start-time order by a rebuild). A bucket (bits 63..40 of the
// inverted start time: 2^40 µs, about 12.7 days) holds 4,096 slots; sessions of near slots
// have near numbers, so a busy word's posting costs about 2 bytes. Within a slot, results are
// put in time order from their cards. A term never contains 0x00, so one term's lists are a
// contiguous key range in the order results are shown, and a query intersects lists in memory.
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
constexpr char kChairPair = 'H';        // two words of one "chair" value (WordPairTerms)
constexpr char kParticipantPair = 'R';  // two words of one "participant" value
// A chair or participant value with more distinct words than this has the pair term "" (one
// list of the sessions with such a value) instead of its pairs; while that list exists a query
// reads the words' lists, not the pairs'.
constexpr size_t kMaxPairWords = 12;

constexpr size_t kDocKeySize = 8;  // slot (4) + session number (4)
constexpr size_t kBucketSize = 3;  // a posting list's key: the first 3 bytes of its doc keys
constexpr char kNextNumberKey[] = "next";  // search_ids: the next session number

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

// Where the session is, as its card says (Card::place): bits kept current by every write that
// changes what they are derived from (the session's entries, its repl record, its inbox rows).
inline constexpr uint8_t kPlaceHere = 0x01;     // its blobs are here: none evicted, none wanted
inline constexpr uint8_t kPlaceUpHeld = 0x02;   // the next tier holds all its entries (up_held)
inline constexpr uint8_t kPlaceCentral = 0x04;  // the central tier holds them (central_held)
inline constexpr uint8_t kPlaceReceived = 0x08;  // received from a peer (not recorded here)
inline constexpr uint8_t kPlaceAll = 0x0f;

// The values a row of results shows (the latest of each key: annotations amend).
struct Card {
  uint8_t place = 0;  // kPlace* bits
  ByteView session;   // EncodeSessionRecord of the session's current summary
  std::string_view point, province, case_number, type, chair, conference;
};
Bytes EncodeCard(uint8_t place, ByteView session, const crypto::Metadata& meta);
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

// A doc key as a number (its 8 bytes big-endian): postings, compared as numbers, sort like
// the keys. Its top 32 bits are its slot.
using Posting = uint64_t;
constexpr uint32_t kSlotsPerBucket = 4096;  // 2^40 µs of starts in 2^28 µs slots
// ~(start_us XOR 2^63): start times as unsigned numbers that sort newest first.
uint64_t InvertedTime(int64_t start_us);
// Bits 59..28 of the inverted start time (clamped to 1970 … year 20,000, where bits 63..60
// are 0111), then the number.
Posting DocKey(int64_t start_us, uint32_t number);
std::string DocKeyBytes(Posting key);  // the 8 bytes
Posting DocKeyOf(std::string_view bytes);  // REQUIRES: bytes.size() == kDocKeySize
// The first posting a bucket (kBucketSize bytes: bits 63..40 of the inverted start time) can
// hold: its 20 low bits, then zeros.
Posting BucketBase(std::string_view bucket);
std::string BucketOf(Posting p);  // the bucket that holds p (kBucketSize bytes)
inline uint32_t SlotOf(Posting p) { return static_cast<uint32_t>(p >> 32); }
// field | term | 0x00
std::string TermPrefix(char field, std::string_view term);
// The key of the posting list of term `term_prefix` that holds `p`.
std::string PostingKey(std::string_view term_prefix, Posting p);

// A posting list's value: for every posting, two LEB128 varints (7 bits a byte, low bits
// first, 0x80 on every byte but the last): its slot minus the one before it, and its number
// minus the one before it, zigzag-coded (n ≥ 0 → 2n, n < 0 → −2n − 1). Before the first
// posting: the bucket's first slot and number 0. `postings`: ascending, all in the bucket of
// `base` (BucketBase).
void EncodePostings(Posting base, const std::vector<Posting>& postings, std::string* out);
// Appends the postings of `value` to *out. Corruption naming the byte offset of the posting
// when a varint is cut short or too long, a posting is not after the one before it, falls
// outside the bucket or has a number outside 0 … 2^32 − 1.
Status DecodePostings(Posting base, std::string_view value, std::vector<Posting>* out);

// A posting list decoded as far as it is read: a query mostly reads a busy word's newest
// postings only. The value it reads must outlive it.
class PostingReader {
 public:
  void Reset(Posting base, std::string_view value);
  // Already decoded; `encoded_size`: what orders it among other lists (encoded_size()).
  void Reset(std::vector<Posting> postings, size_t encoded_size);
  // Whether the list has a posting at index i (decoding up to it): false after its last one
  // and when its value does not decode (status() says why; the postings before stay).
  bool Has(size_t i) { return i < decoded_.size() || DecodeTo(i); }
  Posting at(size_t i) const { return decoded_[i]; }  // REQUIRES: Has(i)
  size_t decoded() const { return decoded_.size(); }
  size_t encoded_size() const { return size_; }
  const Status& status() const { return status_; }

 private:
  friend Status DecodePostings(Posting, std::string_view, std::vector<Posting>*);
  bool DecodeTo(size_t i);
  Posting base_ = 0;
  const uint8_t* p_ = nullptr;
  size_t size_ = 0, at_ = 0;
  uint32_t slot_ = 0;
  int64_t number_ = 0;
  std::vector<Posting> decoded_;
  Status status_;
};

// The term prefixes of every posting of `pairs` (kAll's included when `with_all`), sorted.
std::vector<std::string> PostingTerms(const crypto::Metadata& pairs, bool with_all);
// The kProvinceType term prefixes of a session's whole metadata `meta`: one per combination of
// its province and type values (the most common pair of filters, answered by one list).
std::vector<std::string> PairTerms(const crypto::Metadata& meta);
std::string PairTerm(std::string_view folded_province, std::string_view folded_type);
// The pair terms of one value's folded words: "a b" (a space between) for every two distinct
// words a < b (bytewise), so that a name's words in any order are found together in one list;
// none for fewer than two; {""} for more than kMaxPairWords.
std::vector<std::string> WordPairTerms(std::vector<std::string> words);

// The sorted union of encoded posting lists of the bucket of `base`, encoded. Corruption when
// one does not decode (DecodePostings).
Status UnionPostings(Posting base, const std::vector<std::string_view>& lists, std::string* out);

// search_postings' merge operator (name "tcd.search-postings.v2"): the union of the existing
// list and the operands (the bucket is the key's last kBucketSize bytes). It never fails (that
// would stop the catalog's compactions): a malformed list's postings up to the problem are
// kept and the problem is logged.
std::shared_ptr<rocksdb::MergeOperator> PostingsMerge();
// search_ids' merge operator (name "tcd.search-next-number.v1"): the largest of the existing
// value and the operands, each a u32 big-endian (anything else is logged and ignored).
std::shared_ptr<rocksdb::MergeOperator> NumberMerge();

// A word of a query and the field whose postings hold it.
struct QueryTerm {
  char field;
  std::string word;  // folded; for whole-value fields the folded value
  bool prefix = false;
};

// What postings cannot decide: all the words of --chair (--participant) in one single chair
// (participant) value of the session's metadata.
struct PostFilter {
  const std::vector<QueryTerm>& terms;
  bool NeedsMetadata() const;  // false: every document passes (no --chair nor --participant)
  bool operator()(ByteView meta_body) const;  // REQUIRES: a well-formed MetaBody
};

// RocksDB prefix extractor of search_postings: a key's `field | term | 0x00` (name
// "tcd.search-term.v1"; keys without a 0x00 after the field are outside its domain).
std::shared_ptr<const rocksdb::SliceTransform> TermPrefixExtractor();

}  // namespace tcd::node::search_index
