#include "node/search_lists.h"

#include <algorithm>

#include "node/catalog_internal.h"

namespace tcd::node::search_index {

void IteratorPool::Return::operator()(rocksdb::Iterator* it) const {
  if (pool && it->status().ok()) {
    std::lock_guard<std::mutex> lock(pool->mu_);
    if (pool->kept_.size() < kKeep) {
      pool->kept_.push_back(it);
      return;
    }
  }
  delete it;
}

IteratorPool::~IteratorPool() {
  for (rocksdb::Iterator* it : kept_) delete it;
}

IteratorPool::Ptr IteratorPool::Take() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!kept_.empty()) {
      rocksdb::Iterator* it = kept_.back();
      kept_.pop_back();
      return Ptr(it, Return{this});
    }
  }
  return Ptr(db_->NewIterator(ro_, cf_), Return{this});
}

Result<bool> TermCursor::Seek(const std::string& target) {
  if (have_ && bucket_ >= target) return true;
  if (have_) {  // the next bucket is usually the one wanted
    it_->Next();
    TCD_ASSIGN_OR_RETURN(bool more, Load());
    if (!more || bucket_ >= target) return more;
  }
  it_->Seek(prefix_ + target);
  return Load();
}

Result<List> TermCursor::Postings() {
  if (!read_) {
    list_.Reset(BucketBase(bucket_), it_->value().ToStringView());
    read_ = true;
  }
  return &list_;
}

Result<bool> TermCursor::Load() {
  have_ = it_->Valid() && it_->key().starts_with(prefix_) &&
          it_->key().size() == prefix_.size() + kBucketSize;
  if (!it_->Valid())
    TCD_RETURN_IF_ERROR(internal::FromRocks(it_->status(), "search: read postings"));
  if (have_) bucket_.assign(it_->key().data() + prefix_.size(), kBucketSize);
  read_ = false;
  return have_;
}

Status CardReader::Read(const std::vector<rocksdb::Slice>& keys) {
  const size_t n = keys.size();
  copies_.clear();
  at_.assign(n, {0, std::string::npos});
  size_t k = 0;
  if (!scattered_ && (n > 1 || it_)) {
    for (; k < n; ++k) {
      const rocksdb::Slice& want = keys[k];
      if (!it_) {
        it_ = pool_ ? pool_->Take() : IteratorPool::Ptr(db_->NewIterator(ro_, cards_), {});
        it_->Seek(want);
        ++seeks_;
      } else {
        int steps = 0;
        while (steps < kSteps && it_->Valid() && it_->key().compare(want) < 0) {
          it_->Next();
          ++steps;
        }
        if (!it_->Valid() || it_->key().compare(want) >= 0) {
          ++stepped_;
        } else if (stepped_ < 4 * seeks_) {  // mostly far apart: the rest by MultiGet
          scattered_ = true;
          break;
        } else {
          it_->Seek(want);
          ++seeks_;
        }
      }
      if (!it_->Valid()) {
        TCD_RETURN_IF_ERROR(internal::FromRocks(it_->status(), "search: read session cards"));
      } else if (it_->key() == want) {
        at_[k] = {copies_.size(), it_->value().size()};
        copies_.append(it_->value().data(), it_->value().size());
      }
    }
  }
  walked_ = k;
  got_.clear();
  got_.resize(n - k);
  got_st_.assign(n - k, rocksdb::Status());
  if (k < n)
    db_->MultiGet(ro_, cards_, n - k, keys.data() + k, got_.data(), got_st_.data(),
                  /*sorted_input=*/true);
  for (size_t i = 0; i < got_st_.size(); ++i)
    if (!got_st_[i].ok() && !got_st_[i].IsNotFound())
      return internal::FromRocks(got_st_[i], "search: read session cards");
  return Status::OK();
}

std::optional<std::string_view> CardReader::card(size_t k) const {
  if (k >= walked_) {
    if (!got_st_[k - walked_].ok()) return std::nullopt;
    return got_[k - walked_].ToStringView();
  }
  if (at_[k].second == std::string::npos) return std::nullopt;
  return std::string_view(copies_).substr(at_[k].first, at_[k].second);
}

Result<bool> UnionCursor::Seek(const std::string& target) {
  bucket_.clear();
  for (auto& p : parts_) {
    TCD_ASSIGN_OR_RETURN(bool more, p->Seek(target));
    if (more && (bucket_.empty() || p->bucket() < bucket_)) bucket_ = p->bucket();
  }
  return !bucket_.empty();
}

Result<List> UnionCursor::Postings() {
  std::vector<Posting> all;
  size_t bytes = 0;
  for (auto& p : parts_) {
    if (p->bucket() != bucket_) continue;
    TCD_ASSIGN_OR_RETURN(List l, p->Postings());
    bytes += l->encoded_size();
    const size_t mid = all.size();
    for (size_t i = 0; l->Has(i); ++i) all.push_back(l->at(i));
    TCD_RETURN_IF_ERROR(l->status());
    std::inplace_merge(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(mid), all.end());
  }
  all.erase(std::unique(all.begin(), all.end()), all.end());
  list_.Reset(std::move(all), bytes);
  return &list_;
}

size_t Gallop(PostingReader& list, size_t from, Posting target) {
  size_t lo = from, step = 1;
  while (list.Has(lo + step) && list.at(lo + step) < target) {
    lo += step;
    step *= 2;
  }
  // [lo, hi): decoded, and the first posting not below target is in it or at hi
  size_t hi = list.Has(lo + step) ? lo + step : list.decoded();
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (list.at(mid) < target) lo = mid + 1; else hi = mid;
  }
  return lo;
}

std::string NextBucket(std::string b) {
  for (size_t i = b.size(); i-- > 0;) {
    b[i] = static_cast<char>(static_cast<uint8_t>(b[i]) + 1);
    if (b[i] != '\0') return b;
  }
  return {};
}

}  // namespace tcd::node::search_index
