#include "node/search_lists.h"

#include <algorithm>

#include "node/catalog_internal.h"

namespace tcd::node::search_index {

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

Result<std::string_view> TermCursor::List() {
  std::string_view v = it_->value().ToStringView();
  if (v.size() % kSuffixSize != 0)
    return Status::Corruption("search index: posting list of '" +
                              prefix_.substr(1, prefix_.size() - 2) + "' is " +
                              std::to_string(v.size()) +
                              " bytes, not whole postings: run `tcd reindex`");
  return v;
}

Result<bool> TermCursor::Load() {
  have_ = it_->Valid() && it_->key().starts_with(prefix_) &&
          it_->key().size() == prefix_.size() + kBucketSize;
  if (!it_->Valid())
    TCD_RETURN_IF_ERROR(internal::FromRocks(it_->status(), "search: read postings"));
  if (have_) bucket_.assign(it_->key().data() + prefix_.size(), kBucketSize);
  return have_;
}

Result<bool> UnionCursor::Seek(const std::string& target) {
  bucket_.clear();
  for (auto& p : parts_) {
    TCD_ASSIGN_OR_RETURN(bool more, p->Seek(target));
    if (more && (bucket_.empty() || p->bucket() < bucket_)) bucket_ = p->bucket();
  }
  return !bucket_.empty();
}

Result<std::string_view> UnionCursor::List() {
  std::vector<std::string_view> lists;
  for (auto& p : parts_) {
    if (p->bucket() != bucket_) continue;
    TCD_ASSIGN_OR_RETURN(std::string_view l, p->List());
    lists.push_back(l);
  }
  TCD_RETURN_IF_ERROR(UnionPostings(lists, &list_));
  return std::string_view(list_);
}

size_t Gallop(const List& list, size_t from, const char* target) {
  size_t lo = from, step = 1;
  while (lo + step < list.n && Less(list.at(lo + step), target)) {
    lo += step;
    step *= 2;
  }
  size_t hi = std::min(list.n, lo + step);
  while (lo < hi) {  // first index in [lo, hi) not below target
    size_t mid = lo + (hi - lo) / 2;
    if (Less(list.at(mid), target)) lo = mid + 1; else hi = mid;
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
