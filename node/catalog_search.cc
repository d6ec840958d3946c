#include "node/catalog.h"
#include "node/search.h"
namespace tcd::node {
Result<std::vector<SearchHit>> Catalog::Search(const SearchQuery&) {
  return Status::NotFound("search: not built yet");
}
Status Catalog::Reindex(const std::function<void(uint64_t, uint64_t)>&) { return Status::OK(); }
}  // namespace tcd::node
