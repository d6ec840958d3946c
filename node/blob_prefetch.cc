#include "node/blob_prefetch.h"

#include <algorithm>
#include <system_error>
#include <thread>

#include "crypto/chain.h"

namespace tcd::node {

BlobPrefetcher::BlobPrefetcher(BlobStore* blobs,
                               const std::vector<std::pair<uint64_t, ChainRecord>>& chain)
    : blobs_(blobs), window_(std::max(2u, std::thread::hardware_concurrency())) {
  for (const auto& [seq, rec] : chain) {
    auto e = crypto::DecodeEntry(rec.entry);
    if (!e.ok()) break;  // the walk stops there too
    if (e->kind == crypto::EntryKind::kInit || e->kind == crypto::EntryKind::kSegment)
      order_.emplace_back(e->cipher_hash, e->cipher_size);
  }
}

Result<bool> BlobPrefetcher::CheckNow(const Item& item) {
  TCD_ASSIGN_OR_RETURN(Bytes blob, blobs_->GetUnverified(item.first));
  return blob.size() == item.second && crypto::Blake2b256(blob) == item.first;
}

void BlobPrefetcher::Fill() {
  for (; launched_ < order_.size() && launched_ - next_ < window_; ++launched_) {
    const Item item = order_[launched_];
    try {
      inflight_.push_back(std::async(std::launch::async, [this, item] { return CheckNow(item); }));
    } catch (const std::system_error&) {
      // No thread to be had: this one is checked when asked for.
      inflight_.push_back(std::async(std::launch::deferred, [this, item] { return CheckNow(item); }));
    }
  }
}

Result<bool> BlobPrefetcher::Check(const crypto::Hash256& hash, uint64_t size) {
  if (next_ >= order_.size() || order_[next_] != Item{hash, size}) {
    next_ = launched_ = order_.size();  // the walk left the expected order: no more prefetching
    return CheckNow({hash, size});
  }
  Fill();
  std::future<Result<bool>> f = std::move(inflight_.front());
  inflight_.pop_front();
  ++next_;
  Fill();
  return f.get();
}

}  // namespace tcd::node
