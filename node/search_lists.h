// Private to node/catalog_search.cc: reading posting lists (docs/FORMAT.md §Search index):
// cursors over one term's (or one prefix's) lists bucket by bucket, and the building blocks of
// the in-memory intersection.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/iterator.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "node/search_index.h"

namespace tcd::node::search_index {

// The posting lists of one term, or of every term starting with a prefix, bucket by bucket
// (newest first), able to jump forward.
class Cursor {
 public:
  virtual ~Cursor() = default;
  // Moves to the first bucket >= `target` (kBucketSize bytes): false when there is none.
  virtual Result<bool> Seek(const std::string& target) = 0;
  virtual const std::string& bucket() const = 0;
  // The current bucket's postings (ascending suffixes), valid until the next Seek.
  virtual Result<std::string_view> List() = 0;
};

// One term's lists: the keys `prefix | bucket` of an iterator over search_postings.
class TermCursor : public Cursor {
 public:
  TermCursor(rocksdb::Iterator* it, std::string prefix) : it_(it), prefix_(std::move(prefix)) {}
  Result<bool> Seek(const std::string& target) override;
  const std::string& bucket() const override { return bucket_; }
  Result<std::string_view> List() override;

 private:
  Result<bool> Load();  // reads the iterator's bucket; false at the end of the term's lists
  std::unique_ptr<rocksdb::Iterator> it_;
  const std::string prefix_;
  std::string bucket_;
  bool have_ = false;
};

// The union of several terms' lists (the words a prefix word matches).
class UnionCursor : public Cursor {
 public:
  explicit UnionCursor(std::vector<std::unique_ptr<Cursor>> parts) : parts_(std::move(parts)) {}
  Result<bool> Seek(const std::string& target) override;
  const std::string& bucket() const override { return bucket_; }
  Result<std::string_view> List() override;

 private:
  std::vector<std::unique_ptr<Cursor>> parts_;
  std::string bucket_;
  std::string list_;
};

// Reads the cards of a query's hits (search_cards), batch by batch in ascending key order.
// Hits clustered in the copy read (a point's, a province's or a pair's sessions, a common
// word's, a conference's) are read by stepping one iterator from card to card, about a tenth
// of a seek each; scattered hits, and a lone one, by one MultiGet, which costs less per key
// than a seek. A query whose hits prove scattered switches to MultiGet for the rest.
class CardReader {
 public:
  CardReader(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cards, const rocksdb::ReadOptions& ro)
      : db_(db), cards_(cards), ro_(ro) {}
  // Reads the cards stored under `keys` (ascending, and after any key of an earlier call).
  Status Read(const std::vector<rocksdb::Slice>& keys);
  // Key k's card from the last Read, or nullopt when there is none; valid until the next Read.
  std::optional<std::string_view> card(size_t k) const;

 private:
  static constexpr int kSteps = 16;  // steps towards the next card before seeking instead
  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const cards_;
  const rocksdb::ReadOptions ro_;
  std::unique_ptr<rocksdb::Iterator> it_;  // created by the first walk
  bool scattered_ = false;                 // MultiGet only from now on
  size_t stepped_ = 0, seeks_ = 0;         // cards reached by stepping, and by seeking
  size_t walked_ = 0;                      // keys of the last Read found by the walk
  std::string copies_;                     // their cards, concatenated
  std::vector<std::pair<size_t, size_t>> at_;  // offset, size in copies_ (size npos: none)
  std::vector<rocksdb::PinnableSlice> got_;    // the MultiGet of the others
  std::vector<rocksdb::Status> got_st_;
};

// Postings compared as unsigned bytes, 8 at a time (this is where intersections spend their
// time; std::string_view's compare calls memcmp).
inline uint64_t Word(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return __builtin_bswap64(w);
}
inline bool Less(const char* a, const char* b) {
  for (int i = 0; i < 24; i += 8) {
    uint64_t x = Word(a + i), y = Word(b + i);
    if (x != y) return x < y;
  }
  return false;
}
static_assert(kSuffixSize == 24);

// A posting list as an array of postings.
struct List {
  const char* data = nullptr;
  size_t n = 0;
  const char* at(size_t i) const { return data + i * kSuffixSize; }
};

// The first index >= `from` of `list` whose posting is not below `target`, or list.n
// (galloping: the postings wanted are usually near).
size_t Gallop(const List& list, size_t from, const char* target);

// The next bucket after `b`, or "" after the last.
std::string NextBucket(std::string b);

}  // namespace tcd::node::search_index
