// Private to node/catalog*.cc: the search index's records and keys (docs/FORMAT.md §Search
// index).
//   search_docs      u64 BE ~(start_us ^ 2^63) | session_id[16] → u8 version=2 |
//                    u32 n | SessionRecord encoding[n] | MetaBody (the open entry's pairs,
//                    then every annotation's pairs, in chain order). Keyed like a posting's
//                    suffix, so the documents of a result page are neighbours on disk.
//   search_postings  u8 field | term (folded UTF-8) | 0x00 | u64 BE ~(start_us ^ 2^63) |
//                    session_id[16] → empty
// The time part sorts newest first; a term never contains 0x00, so one term's postings are a
// contiguous key range in the order results are shown.
#pragma once

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

constexpr size_t kSuffixSize = 24;  // time (8) + session id (16)

struct Doc {
  Bytes session;  // EncodeSessionRecord of the session's current summary
  crypto::Metadata meta;
};
Bytes EncodeDoc(const Doc& d);
Result<Doc> DecodeDoc(ByteView b);

std::string Suffix(int64_t start_us, const crypto::SessionId& id);
crypto::SessionId SuffixSession(std::string_view suffix);  // REQUIRES: kSuffixSize bytes
// field | term | 0x00
std::string TermPrefix(char field, std::string_view term);

// Every posting key of `pairs` for the session (kAll included when `with_all`).
std::vector<std::string> PostingKeys(const crypto::Metadata& pairs, int64_t start_us,
                                     const crypto::SessionId& id, bool with_all);

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
  bool operator()(const crypto::Metadata& meta) const;
};

// RocksDB prefix extractor of search_postings: a key's `field | term | 0x00` (name
// "tcd.search-term.v1"; keys without a 0x00 after the field are outside its domain).
std::shared_ptr<const rocksdb::SliceTransform> TermPrefixExtractor();

}  // namespace tcd::node::search_index
