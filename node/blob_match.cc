#include "node/blob_match.h"

#include <algorithm>

namespace tcd::node {

Result<BlobMatch> MatchBlobs(
    const std::function<Status(const std::function<Status(const crypto::Hash256&)>&)>& for_each_ref,
    const std::function<Result<std::vector<crypto::Hash256>>(uint8_t)>& list_shard,
    const std::vector<crypto::Hash256>& wanted, size_t keep_orphans, size_t keep_missing) {
  BlobMatch m;
  auto orphan = [&](const crypto::Hash256& h) {
    if (++m.orphan_count <= keep_orphans) m.orphans.push_back(h);
  };
  std::vector<crypto::Hash256> shard;  // the files of shard `next_shard - 1`
  size_t at = 0;                       // the first of them not yet matched
  int next_shard = 0;
  // The rest of the current shard is orphans; then the next shard is read.
  auto next = [&]() -> Status {
    for (; at < shard.size(); ++at) orphan(shard[at]);
    TCD_ASSIGN_OR_RETURN(shard, list_shard(static_cast<uint8_t>(next_shard++)));
    at = 0;
    return Status::OK();
  };
  TCD_RETURN_IF_ERROR(for_each_ref([&](const crypto::Hash256& h) -> Status {
    while (next_shard <= h[0]) TCD_RETURN_IF_ERROR(next());
    for (; at < shard.size() && shard[at] < h; ++at) orphan(shard[at]);
    if (at < shard.size() && shard[at] == h) {
      ++at;
    } else if (!std::binary_search(wanted.begin(), wanted.end(), h) &&
               ++m.missing_count <= keep_missing) {
      m.missing.push_back(h);
    }
    return Status::OK();
  }));
  while (next_shard < 256) TCD_RETURN_IF_ERROR(next());  // the shards after the last reference's
  for (; at < shard.size(); ++at) orphan(shard[at]);
  return m;
}

}  // namespace tcd::node
