// Search over a node's sessions (docs/FORMAT.md §Search index): what archivists ask for and
// what they get back. The index lives in the catalog's RocksDB (column families search_docs
// and search_postings), written in the same synced batch as the chain entries it derives from,
// so it is never behind the catalog; Catalog::Reindex rebuilds it from the chain.
//
// Text is compared folded (node/text_fold.h): "nguyen van an" matches "Nguyễn Văn An",
// "dong nai" matches "Đồng Nai". A query's words must each equal a word of the field (or, for
// `text`, of any metadata value or annotation); a word ending in '*' matches as a prefix.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/chain.h"
#include "node/catalog.h"

namespace tcd::node {

// The search index's layout version, kept in the catalog's meta family ("search-index-version");
// a catalog with another (or none) is reindexed on a writable open.
inline constexpr char kSearchIndexVersion[] = "10";

struct SearchQuery {
  std::string text;         // words in any metadata value, original or annotated
  std::string point;        // metadata "point" (whole value, folded)
  std::string province;     // metadata "province" (whole value, folded)
  std::string case_number;  // metadata "case" (whole value, folded)
  std::string type;         // metadata "type": complaint | denunciation | petition | feedback
  std::string chair;        // words of metadata "chair"
  std::string participant;  // words of one metadata "participant"
  std::string conference;   // metadata "conference" (whole value, folded)
  std::optional<int64_t> from_us;  // session start >= from_us (UTC µs)
  std::optional<int64_t> to_us;    // session start <  to_us
  std::vector<SessionState> states;  // any of these; empty = all
  size_t limit = 50;                 // at most this many hits (0 = no limit)
  bool with_metadata = false;        // also fill SearchHit::meta_body (every pair)
};

// Where a complete copy of the session is held, as far as this node knows.
struct SessionLocation {
  bool local = false;     // every entry here, blobs included (not evicted, none still arriving)
  bool province = false;  // the next tier acknowledged holding all of it (recorder only)
  bool central = false;   // the central tier acknowledged holding all of it, or this node is
                          // the central archive (Catalog::role) and holds all of it
};
std::string LocationText(const SessionLocation& l);  // "local", "local+central", "province", …

struct SearchHit {
  SessionRecord session;
  SessionLocation location;
  // The latest value of each of these metadata keys ("" when absent; annotations amend).
  std::string_view point() const { return Value(0); }
  std::string_view province() const { return Value(1); }
  std::string_view case_number() const { return Value(2); }
  std::string_view type() const { return Value(3); }
  std::string_view chair() const { return Value(4); }
  std::string_view conference() const { return Value(5); }
  // Sets the six values above, in that order (one allocation for them all: a page of 50
  // results is built in tens of microseconds, and a string each cost about a sixth of it).
  void SetValues(const std::array<std::string_view, 6>& values);
  // With SearchQuery::with_metadata only (otherwise empty): MetaBody (docs/FORMAT.md §Chain)
  // of the open entry's pairs, then every annotation's pairs in chain order; checked when read.
  Bytes meta_body;
  crypto::Metadata Meta() const;  // every pair of meta_body
  // The latest value of `key` in meta_body, or "" when absent.
  std::string Latest(std::string_view key) const;
  std::vector<std::string> All(std::string_view key) const;  // distinct values, in order

 private:
  std::string_view Value(size_t i) const {
    const uint32_t begin = i == 0 ? 0 : ends_[i - 1];
    return std::string_view(values_).substr(begin, ends_[i] - begin);
  }
  std::string values_;               // the six values, one after the other
  std::array<uint32_t, 6> ends_{};  // where each ends in values_
};

}  // namespace tcd::node
