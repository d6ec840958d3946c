// BlobPrefetcher: reads and hashes the blobs of a chain ahead of the verifier's walk, on every
// core, so that verifying runs at the speed of all the machine's cores rather than one
// (docs/BENCHMARKS.md, verify). At most one blob per core (at least two) is in flight, so
// memory stays a few segments. A blob asked for out of the chain's order is checked on the spot.
//
// Thread-safety: one caller at a time (the verifier's walk); the hashing threads are internal.
#pragma once

#include <cstdint>
#include <deque>
#include <future>
#include <utility>
#include <vector>

#include "crypto/hash.h"
#include "node/blob_store.h"
#include "node/catalog.h"

namespace tcd::node {

class BlobPrefetcher {
 public:
  // `blobs` must outlive the prefetcher; the media entries of `chain` give the order.
  BlobPrefetcher(BlobStore* blobs, const std::vector<std::pair<uint64_t, ChainRecord>>& chain);
  ~BlobPrefetcher() = default;  // the futures wait for the hashing in flight

  // As node::BlobChecker: true when the blob holds `size` bytes hashing to `hash`, false when
  // it holds others, NotFound when absent, another error when unreadable.
  Result<bool> Check(const crypto::Hash256& hash, uint64_t size);

 private:
  using Item = std::pair<crypto::Hash256, uint64_t>;
  Result<bool> CheckNow(const Item& item);
  void Fill();

  BlobStore* const blobs_;
  std::vector<Item> order_;  // media entries' (cipher_hash, cipher_size), chain order
  size_t next_ = 0;          // index in order_ of the Check expected next
  size_t launched_ = 0;      // order_[next_, launched_) are in flight, in inflight_
  size_t window_;
  std::deque<std::future<Result<bool>>> inflight_;
};

}  // namespace tcd::node
