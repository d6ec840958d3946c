// The catalog's search index: its records written in the append batches, and its rebuild
// (node/search_index.h, docs/FORMAT.md §Search index); queries are in node/catalog_search.cc.
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "node/catalog.h"
#include "node/catalog_internal.h"
#include "node/search.h"
#include "node/search_index.h"

namespace tcd::node {
using namespace internal;
namespace si = search_index;
namespace {

constexpr const char* kIndexMetaKey = "search-index-version";
constexpr const char* kIndexVersion = kSearchIndexVersion;

}  // namespace

Status Catalog::IndexForSearch(rocksdb::WriteBatch* batch, const SessionRecord& record,
                               const std::vector<ByteView>& entries, const ReplRecord* repl,
                               bool batch_wants) {
  if (!search_docs_ || !search_postings_ || !search_ids_) return Status::OK();
  const std::string id_key = IdKey(record.id);
  std::optional<si::Posting> key;  // the session's doc key, once read or given
  bool key_read = false;
  std::optional<si::Doc> doc;  // the session's document, once read or begun
  bool meta_changed = false;   // an open or annotation entry was indexed
  bool absent = false;         // no document yet (before the open entry is indexed)
  auto read_key = [&]() -> Status {
    if (key_read) return Status::OK();
    key_read = true;
    std::string v;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), search_ids_, id_key, &v);
    if (s.IsNotFound()) return Status::OK();
    TCD_RETURN_IF_ERROR(FromRocks(s, "search index: read session's document key"));
    if (v.size() != si::kDocKeySize)
      return Status::Corruption("search index: session " + crypto::SessionIdToString(record.id) +
                                ": document key of " + std::to_string(v.size()) +
                                " bytes: run `tcd reindex`");
    key = si::DocKeyOf(v);
    return Status::OK();
  };
  auto load = [&]() -> Status {
    if (doc || absent) return Status::OK();
    TCD_RETURN_IF_ERROR(read_key());
    std::string v;
    rocksdb::Status s = key ? db_->Get(rocksdb::ReadOptions(), search_docs_,
                                       si::DocKeyBytes(*key), &v)
                            : rocksdb::Status::NotFound();
    if (s.IsNotFound()) {
      absent = true;
      return Status::OK();
    }
    TCD_RETURN_IF_ERROR(FromRocks(s, "search index: read session document"));
    TCD_ASSIGN_OR_RETURN(si::Doc d, si::DecodeDoc(AsBytes(v)));
    doc = std::move(d);
    return Status::OK();
  };
  std::string posting;  // the merge operand of the session's postings (one posting)
  for (ByteView enc : entries) {
    auto e = crypto::DecodeEntry(enc);
    if (!e.ok()) {
      spdlog::warn("search index: session {}: entry not indexed: {}",
                   crypto::SessionIdToString(record.id), e.status().ToString());
      continue;
    }
    const bool open = e->kind == crypto::EntryKind::kOpen;
    if (!open && e->kind != crypto::EntryKind::kAnnotation) continue;
    Result<crypto::Metadata> pairs = Status::OK();
    if (open) {
      auto body = crypto::DecodeOpenBody(e->body);
      pairs = body.ok() ? Result<crypto::Metadata>(std::move(body->meta))
                        : Result<crypto::Metadata>(body.status());
    } else {
      pairs = crypto::DecodeMetaBody(e->body);
    }
    if (!pairs.ok()) {
      spdlog::warn("search index: session {} seq {}: metadata not indexed: {}",
                   crypto::SessionIdToString(record.id), e->seq, pairs.status().ToString());
      continue;
    }
    if (open) {
      TCD_RETURN_IF_ERROR(read_key());
      if (!key) {  // the session's first indexing: its number
        uint32_t number = next_number_.load();  // never past UINT32_MAX: no number twice
        while (number != UINT32_MAX && !next_number_.compare_exchange_weak(number, number + 1)) {
        }
        if (number == UINT32_MAX) {
          spdlog::error("search index: session numbers exhausted: session {} not indexed; run "
                        "`tcd reindex`", crypto::SessionIdToString(record.id));
          return Status::OK();
        }
        key = si::DocKey(record.start_us, number);
        batch->Put(search_ids_, id_key, si::DocKeyBytes(*key));
        const uint32_t next = number + 1;
        const char be[4] = {static_cast<char>(next >> 24), static_cast<char>(next >> 16),
                            static_cast<char>(next >> 8), static_cast<char>(next)};
        batch->Merge(search_ids_, si::kNextNumberKey, rocksdb::Slice(be, 4));
      }
      doc = si::Doc{};
    } else {
      TCD_RETURN_IF_ERROR(load());
      if (!doc) continue;  // no open entry indexed: nothing to amend
    }
    if (posting.empty()) si::EncodePostings(si::BucketBase(si::BucketOf(*key)), {*key}, &posting);
    for (const auto& term : si::PostingTerms(*pairs, open)) {
      batch->Merge(search_postings_, si::PostingKey(term, *key), posting);
      if (term == si::TermPrefix(si::kChairPair, "") ||
          term == si::TermPrefix(si::kParticipantPair, ""))
        spdlog::warn("search index: session {} has a {} value of more than {} distinct words: "
                     "searches by {} now read single words' lists (slower, same results)",
                     crypto::SessionIdToString(record.id),
                     term[0] == si::kChairPair ? "chair" : "participant", si::kMaxPairWords,
                     term[0] == si::kChairPair ? "--chair" : "--participant");
    }
    doc->meta.insert(doc->meta.end(), pairs->begin(), pairs->end());
    meta_changed = true;
  }
  TCD_RETURN_IF_ERROR(load());
  if (!doc) return Status::OK();
  if (posting.empty()) si::EncodePostings(si::BucketBase(si::BucketOf(*key)), {*key}, &posting);
  if (meta_changed)  // pairs with the values already there (merging is idempotent)
    for (const auto& term : si::PairTerms(doc->meta))
      batch->Merge(search_postings_, si::PostingKey(term, *key), posting);
  doc->session = EncodeSessionRecord(record);  // the summary shown in results, kept current
  const std::string doc_key = si::DocKeyBytes(*key);
  Bytes d = si::EncodeDoc(*doc);
  batch->Put(search_docs_, doc_key, ToSlice(d));
  if (search_cards_) {
    const uint8_t place =
        PlaceOf(record, repl ? *repl : ReplOrDefault(record.id), batch_wants);
    PutCards(batch, doc_key, place, doc->session, doc->meta);
  }
  return Status::OK();
}

Status Catalog::ReindexIfMissing() {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_, kIndexMetaKey, &v);
  if (!s.ok() && !s.IsNotFound())
    return FromRocks(s, "catalog: read " + std::string(kIndexMetaKey));
  search_ready_ = s.ok() && v == kIndexVersion;
  if (search_ready_ && !read_only_ && search_ids_) {
    std::string next;
    rocksdb::Status g = db_->Get(rocksdb::ReadOptions(), search_ids_, si::kNextNumberKey, &next);
    if (!g.ok() && !g.IsNotFound()) return FromRocks(g, "catalog: read the next session number");
    if (g.ok() && next.size() != 4) {  // damaged: number afresh
      spdlog::warn("catalog: the search index's next session number is {} bytes, not 4: "
                   "rebuilding the index", next.size());
      search_ready_ = false;
    } else if (g.ok()) {
      next_number_ = static_cast<uint32_t>(static_cast<uint8_t>(next[0])) << 24 |
                     static_cast<uint32_t>(static_cast<uint8_t>(next[1])) << 16 |
                     static_cast<uint32_t>(static_cast<uint8_t>(next[2])) << 8 |
                     static_cast<uint8_t>(next[3]);
    }
  }
  if (search_ready_ || read_only_) return Status::OK();
  reindexed_on_open_ = true;
  return Reindex([](uint64_t done, uint64_t total) {
    if (done == 1) spdlog::info("catalog has no current search index: indexing {} sessions", total);
    if (done % 100000 == 0) spdlog::info("indexed {} of {} sessions", done, total);
  });
}

Status Catalog::Reindex(const std::function<void(uint64_t, uint64_t)>& progress) {
  if (!search_docs_ || !search_postings_ || !search_ids_)
    return Status::InvalidArgument("catalog is read-only: reindex needs it writable");
  rocksdb::WriteOptions wo;
  wo.sync = true;
  TCD_RETURN_IF_ERROR(FromRocks(db_->Delete(wo, meta_, kIndexMetaKey), "reindex: mark stale"));
  const std::string all_ids(25, '\xff');  // above every key of the four families
  TCD_RETURN_IF_ERROR(FromRocks(db_->DeleteRange(wo, search_docs_, "", all_ids),
                                "reindex: clear documents"));
  TCD_RETURN_IF_ERROR(FromRocks(db_->DeleteRange(wo, search_postings_, "", all_ids),
                                "reindex: clear postings"));
  if (search_cards_)
    TCD_RETURN_IF_ERROR(FromRocks(db_->DeleteRange(wo, search_cards_, "", all_ids),
                                  "reindex: clear cards"));
  TCD_RETURN_IF_ERROR(FromRocks(db_->DeleteRange(wo, search_ids_, "", all_ids),
                                "reindex: clear session numbers"));
  search_ready_ = false;
  next_number_ = 0;
  // Sessions are numbered oldest first, so that the sessions of one time slot have near
  // numbers and their postings small deltas (search_index.h).
  TCD_ASSIGN_OR_RETURN(std::vector<crypto::SessionId> all, ListSessionIds());
  std::vector<std::pair<int64_t, crypto::SessionId>> by_start;
  by_start.reserve(all.size());
  for (const auto& id : all) {
    auto record = GetSession(id);  // none: chain entries without a summary, which
    if (record.ok())               // `tcd verify` reports; nothing to show in results
      by_start.emplace_back(record->start_us, id);
    else if (!record.status().IsNotFound())
      return record.status();
  }
  std::sort(by_start.begin(), by_start.end());
  std::vector<crypto::SessionId> ids;
  ids.reserve(by_start.size());
  for (const auto& [start, id] : by_start) ids.push_back(id);
  rocksdb::WriteOptions bulk;  // made durable by the synced marker write at the end
  rocksdb::WriteBatch batch;
  for (size_t i = 0; i < ids.size(); ++i) {
    std::vector<Bytes> encodings;
    std::string prefix = IdKey(ids[i]);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), chain_));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      auto r = DecodeChainRecord(FromSlice(it->value()));
      if (!r.ok()) continue;  // verify reports it; the index skips it
      auto e = crypto::DecodeEntry(r->entry);
      if (e.ok() && (e->kind == crypto::EntryKind::kOpen ||
                     e->kind == crypto::EntryKind::kAnnotation))
        encodings.push_back(std::move(r->entry));
    }
    TCD_RETURN_IF_ERROR(FromRocks(it->status(), "reindex: read chain"));
    std::vector<ByteView> views(encodings.begin(), encodings.end());
    TCD_ASSIGN_OR_RETURN(SessionRecord record, GetSession(ids[i]));
    TCD_RETURN_IF_ERROR(IndexForSearch(&batch, record, views));
    if (batch.Count() > 20000 || i + 1 == ids.size()) {
      TCD_RETURN_IF_ERROR(FromRocks(db_->Write(bulk, &batch), "reindex: write"));
      batch.Clear();
    }
    if (progress) progress(i + 1, ids.size());
  }
  TCD_RETURN_IF_ERROR(
      FromRocks(db_->Put(wo, meta_, kIndexMetaKey, kIndexVersion), "reindex: mark complete"));
  search_ready_ = true;
  return Status::OK();
}

}  // namespace tcd::node
