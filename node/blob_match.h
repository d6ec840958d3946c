// Private to node/store.cc (and its test): how recovery matches the catalog's blob references
// with the blob files, without holding either whole (an archive has tens of millions).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "base/status.h"
#include "crypto/hash.h"

namespace tcd::node {

struct BlobMatch {
  size_t orphan_count = 0;                // files no reference names
  std::vector<crypto::Hash256> orphans;   // the first `keep_orphans` of them, ascending
  size_t missing_count = 0;               // references with no file, not in `wanted`
  std::vector<crypto::Hash256> missing;   // the first `keep_missing`, ascending
};

// `for_each_ref` calls its argument with every reference, ascending (stopping at its first
// error); `list_shard(b)` gives the files whose hash starts with byte b, ascending. `wanted`:
// references expected absent (blobs still to be fetched), sorted. The references are merged
// with one shard's files at a time, in order.
Result<BlobMatch> MatchBlobs(
    const std::function<Status(const std::function<Status(const crypto::Hash256&)>&)>& for_each_ref,
    const std::function<Result<std::vector<crypto::Hash256>>(uint8_t)>& list_shard,
    const std::vector<crypto::Hash256>& wanted, size_t keep_orphans, size_t keep_missing);

}  // namespace tcd::node
