// Private to node/catalog_search.cc: reading posting lists (docs/FORMAT.md §Search index):
// cursors over one term's (or one prefix's) lists bucket by bucket, and the building blocks of
// the in-memory intersection.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/iterator.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "node/search_index.h"

namespace tcd::node::search_index {

// Iterators kept between the searches of a read-only catalog (`tcd search`, which runs one more
// search per conference among its results): such a catalog never changes, so an iterator made
// for one search serves the next, and making one costs about as much as a rare word's whole
// query. Thread-safe.
class IteratorPool {
 public:
  // Hands a taken iterator back to its pool, or deletes it: a null pool, a full one, or an
  // iterator that met an error.
  struct Return {
    IteratorPool* pool = nullptr;
    void operator()(rocksdb::Iterator* it) const;
  };
  using Ptr = std::unique_ptr<rocksdb::Iterator, Return>;
  // `ro`: how every iterator of the pool reads (no snapshot: the catalog is read-only).
  IteratorPool(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, const rocksdb::ReadOptions& ro)
      : db_(db), cf_(cf), ro_(ro) {}
  ~IteratorPool();
  Ptr Take();  // a kept iterator (positioned anywhere: seek first), else a new one

 private:
  static constexpr size_t kKeep = 16;  // enough for a query's terms and its cards
  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const cf_;
  const rocksdb::ReadOptions ro_;
  std::mutex mu_;
  std::vector<rocksdb::Iterator*> kept_;  // owned
};

// A posting list as a query reads it (decoded as far as it is read).
using List = PostingReader*;

// The posting lists of one term, or of every term starting with a prefix, bucket by bucket
// (newest first), able to jump forward.
class Cursor {
 public:
  virtual ~Cursor() = default;
  // Moves to the first bucket >= `target` (kBucketSize bytes): false when there is none.
  virtual Result<bool> Seek(const std::string& target) = 0;
  virtual const std::string& bucket() const = 0;
  // The current bucket's postings, valid until the next Seek.
  virtual Result<List> Postings() = 0;
};

// One term's lists: the keys `prefix | bucket` of an iterator over search_postings.
class TermCursor : public Cursor {
 public:
  TermCursor(IteratorPool::Ptr it, std::string prefix)
      : it_(std::move(it)), prefix_(std::move(prefix)) {}
  Result<bool> Seek(const std::string& target) override;
  const std::string& bucket() const override { return bucket_; }
  Result<List> Postings() override;

 private:
  Result<bool> Load();  // reads the iterator's bucket; false at the end of the term's lists
  IteratorPool::Ptr it_;
  const std::string prefix_;
  std::string bucket_;
  bool have_ = false;
  bool read_ = false;  // list_ reads the current bucket's value
  PostingReader list_;
};

// The union of several terms' lists (the words a prefix word matches).
class UnionCursor : public Cursor {
 public:
  explicit UnionCursor(std::vector<std::unique_ptr<Cursor>> parts) : parts_(std::move(parts)) {}
  Result<bool> Seek(const std::string& target) override;
  const std::string& bucket() const override { return bucket_; }
  Result<List> Postings() override;

 private:
  std::vector<std::unique_ptr<Cursor>> parts_;
  std::string bucket_;
  PostingReader list_;
};

// Reads the cards of a query's hits (search_cards), batch by batch in ascending key order.
// Hits clustered in the copy read (a point's, a province's or a pair's sessions, a common
// word's, a conference's) are read by stepping one iterator from card to card, about a tenth
// of a seek each; scattered hits, and a lone one, by one MultiGet, which costs less per key
// than a seek. A query whose hits prove scattered switches to MultiGet for the rest.
class CardReader {
 public:
  // `pool`: where the walk's iterator comes from (null: a new one, read with `ro`).
  CardReader(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cards, const rocksdb::ReadOptions& ro,
             IteratorPool* pool)
      : db_(db), cards_(cards), ro_(ro), pool_(pool) {}
  // Reads the cards stored under `keys` (ascending, and after any key of an earlier call).
  Status Read(const std::vector<rocksdb::Slice>& keys);
  // Key k's card from the last Read, or nullopt when there is none; valid until the next Read.
  std::optional<std::string_view> card(size_t k) const;

 private:
  static constexpr int kSteps = 16;  // steps towards the next card before seeking instead
  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const cards_;
  const rocksdb::ReadOptions ro_;
  IteratorPool* const pool_;
  IteratorPool::Ptr it_;  // taken by the first walk
  bool scattered_ = false;                 // MultiGet only from now on
  size_t stepped_ = 0, seeks_ = 0;         // cards reached by stepping, and by seeking
  size_t walked_ = 0;                      // keys of the last Read found by the walk
  std::string copies_;                     // their cards, concatenated
  std::vector<std::pair<size_t, size_t>> at_;  // offset, size in copies_ (size npos: none)
  std::vector<rocksdb::PinnableSlice> got_;    // the MultiGet of the others
  std::vector<rocksdb::Status> got_st_;
};

// The first index >= `from` of `list` whose posting is not below `target`, or the list's size
// (galloping: the postings wanted are usually near; it decodes no further than twice as far).
size_t Gallop(PostingReader& list, size_t from, Posting target);

// The next bucket after `b`, or "" after the last.
std::string NextBucket(std::string b);

}  // namespace tcd::node::search_index
