// The catalog's search index: maintenance in the append batches, rebuild, and queries
// (node/search.h, node/search_index.h, docs/FORMAT.md §Search index).
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <set>

#include "node/catalog.h"
#include "node/catalog_internal.h"
#include "node/search.h"
#include "node/search_index.h"
#include "node/search_lists.h"
#include "node/text_fold.h"

namespace tcd::node {
using namespace internal;
namespace si = search_index;
namespace {

constexpr const char* kIndexMetaKey = "search-index-version";
constexpr const char* kIndexVersion = kSearchIndexVersion;
constexpr size_t kMaxPrefixTerms = 64;
// A term stops being read when a bucket of it holds at least kResidualMin postings and
// kResidualRatio times the shortest list's: reading ~100 KB from the page cache into the block
// cache (~50 µs in a fresh `tcd search`) costs more than checking the ~16 candidates' documents.
constexpr size_t kResidualMin = 1024;
constexpr size_t kResidualRatio = 256;
using si::Cursor, si::TermCursor, si::UnionCursor, si::List, si::Gallop, si::Less,
    si::NextBucket, si::CardReader;

// Splits `text` into folded query words; a word typed with a trailing '*' is a prefix.
Status AddWords(char field, const std::string& text, const char* option, std::vector<si::QueryTerm>* out) {
  std::string::size_type pos = 0;
  bool any = false;
  while (pos < text.size()) {
    auto end = text.find_first_of(" \t", pos);
    if (end == std::string::npos) end = text.size();
    std::string token = text.substr(pos, end - pos);
    pos = end + 1;
    bool prefix = token.size() > 1 && token.back() == '*';
    if (prefix) token.pop_back();
    std::vector<std::string> words = FoldWords(token);
    for (size_t i = 0; i < words.size(); ++i) {
      out->push_back({field, words[i], prefix && i + 1 == words.size()});
      any = true;
    }
  }
  if (!any)
    return Status::InvalidArgument(std::string(option) + " '" + text +
                                   "' has no letters or digits to search for");
  return Status::OK();
}

Status AddWhole(char field, const std::string& value, const char* option,
                std::vector<si::QueryTerm>* out) {
  if (value.empty()) return Status::OK();
  std::string folded = FoldText(value);
  if (folded.empty())
    return Status::InvalidArgument(std::string(option) + " '" + value +
                                   "' has no letters or digits to search for");
  out->push_back({field, folded, false});
  return Status::OK();
}

// True when every word of `terms` of field `field` is a word of one single value of `key` in
// the MetaBody `meta_body`.
bool OneValueHasAll(ByteView meta_body, std::string_view key,
                    const std::vector<si::QueryTerm>& terms, char field) {
  std::vector<const si::QueryTerm*> wanted;
  for (const auto& t : terms)
    if (t.field == field) wanted.push_back(&t);
  if (wanted.empty()) return true;
  bool found = false;
  si::WalkMeta(meta_body, [&](std::string_view k, std::string_view v) {
    if (found || k != key) return;
    std::vector<std::string> words = FoldWords(v);
    found = std::all_of(wanted.begin(), wanted.end(), [&](const si::QueryTerm* t) {
      return std::any_of(words.begin(), words.end(), [&](const std::string& w) {
        return t->prefix ? w.starts_with(t->word) : w == t->word;
      });
    });
  });
  return found;
}

}  // namespace

bool si::PostFilter::NeedsMetadata() const {
  return !residual.empty() || std::any_of(terms.begin(), terms.end(), [](const si::QueryTerm& t) {
    return t.field == si::kChair || t.field == si::kParticipant;
  });
}

bool si::PostFilter::operator()(ByteView meta_body) const {
  return OneValueHasAll(meta_body, "chair", terms, si::kChair) &&
         OneValueHasAll(meta_body, "participant", terms, si::kParticipant) &&
         std::all_of(residual.begin(), residual.end(),
                     [&](const si::QueryTerm& t) { return si::DocHasTerm(meta_body, t); });
}

std::string LocationText(const SessionLocation& l) {
  std::string out;
  auto add = [&](const char* s) { out += (out.empty() ? "" : "+") + std::string(s); };
  if (l.local) add("local");
  if (l.province) add("province");
  if (l.central) add("central");
  return out.empty() ? "incomplete" : out;
}

crypto::Metadata SearchHit::Meta() const {
  crypto::Metadata meta;
  si::WalkMeta(meta_body, [&](std::string_view k, std::string_view v) { meta.emplace_back(k, v); });
  return meta;
}

std::string SearchHit::Latest(std::string_view key) const {
  std::string_view latest;
  si::WalkMeta(meta_body, [&](std::string_view k, std::string_view v) {
    if (k == key) latest = v;
  });
  return std::string(latest);
}

std::vector<std::string> SearchHit::All(std::string_view key) const {
  std::vector<std::string> out;
  si::WalkMeta(meta_body, [&](std::string_view k, std::string_view v) {
    if (k == key && std::find(out.begin(), out.end(), v) == out.end()) out.emplace_back(v);
  });
  return out;
}

Status Catalog::IndexForSearch(rocksdb::WriteBatch* batch, const SessionRecord& record,
                               const std::vector<ByteView>& entries) {
  if (!search_docs_ || !search_postings_) return Status::OK();
  const std::string key = si::Suffix(record.start_us, record.id);
  std::optional<si::Doc> doc;  // the session's document, once read or begun
  bool meta_changed = false;   // an open or annotation entry was indexed
  bool absent = false;         // no document yet (before the open entry is indexed)
  auto load = [&]() -> Status {
    if (doc || absent) return Status::OK();
    std::string v;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), search_docs_, key, &v);
    if (s.IsNotFound()) {
      absent = true;
      return Status::OK();
    }
    TCD_RETURN_IF_ERROR(FromRocks(s, "search index: read session document"));
    TCD_ASSIGN_OR_RETURN(si::Doc d, si::DecodeDoc(AsBytes(v)));
    doc = std::move(d);
    return Status::OK();
  };
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
      doc = si::Doc{};
    } else {
      TCD_RETURN_IF_ERROR(load());
      if (!doc) continue;  // no open entry indexed: nothing to amend
    }
    for (const auto& term : si::PostingTerms(*pairs, open))
      batch->Merge(search_postings_, si::PostingKey(term, key), key);
    doc->meta.insert(doc->meta.end(), pairs->begin(), pairs->end());
    meta_changed = true;
  }
  TCD_RETURN_IF_ERROR(load());
  if (!doc) return Status::OK();
  if (meta_changed)  // pairs with the values already there (merging is idempotent)
    for (const auto& term : si::PairTerms(doc->meta))
      batch->Merge(search_postings_, si::PostingKey(term, key), key);
  doc->session = EncodeSessionRecord(record);  // the summary shown in results, kept current
  Bytes d = si::EncodeDoc(*doc);
  batch->Put(search_docs_, key, ToSlice(d));
  if (search_cards_) {
    Bytes c = si::EncodeCard(doc->session, doc->meta);
    for (const auto& prefix : si::CardPrefixes(doc->meta))
      batch->Put(search_cards_, prefix + key, ToSlice(c));
  }
  return Status::OK();
}

Status Catalog::ReindexIfMissing() {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_, kIndexMetaKey, &v);
  if (!s.ok() && !s.IsNotFound())
    return FromRocks(s, "catalog: read " + std::string(kIndexMetaKey));
  search_ready_ = s.ok() && v == kIndexVersion;
  if (search_ready_ || read_only_) return Status::OK();
  return Reindex([](uint64_t done, uint64_t total) {
    if (done == 1) spdlog::info("catalog has no current search index: indexing {} sessions", total);
  });
}

Status Catalog::Reindex(const std::function<void(uint64_t, uint64_t)>& progress) {
  if (!search_docs_ || !search_postings_)
    return Status::InvalidArgument("catalog is read-only: reindex needs it writable");
  rocksdb::WriteOptions wo;
  wo.sync = true;
  TCD_RETURN_IF_ERROR(FromRocks(db_->Delete(wo, meta_, kIndexMetaKey), "reindex: mark stale"));
  const std::string all_ids(25, '\xff');  // above every 24-byte document key / field byte
  TCD_RETURN_IF_ERROR(FromRocks(db_->DeleteRange(wo, search_docs_, "", all_ids),
                                "reindex: clear documents"));
  TCD_RETURN_IF_ERROR(FromRocks(db_->DeleteRange(wo, search_postings_, "", all_ids),
                                "reindex: clear postings"));
  if (search_cards_)
    TCD_RETURN_IF_ERROR(FromRocks(db_->DeleteRange(wo, search_cards_, "", all_ids),
                                  "reindex: clear cards"));
  search_ready_ = false;
  TCD_ASSIGN_OR_RETURN(std::vector<crypto::SessionId> ids, ListSessionIds());
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
    auto record = GetSession(ids[i]);  // none: chain entries without a summary, which
    if (record.ok())                   // `tcd verify` reports; nothing to show in results
      TCD_RETURN_IF_ERROR(IndexForSearch(&batch, *record, views));
    else if (!record.status().IsNotFound())
      return record.status();
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

Status Catalog::Compact() {
  // Memtables first: a later read-only open (`tcd search`) then has no write-ahead log to replay.
  TCD_RETURN_IF_ERROR(FromRocks(db_->Flush(rocksdb::FlushOptions(), handles_), "catalog: flush"));
  rocksdb::CompactRangeOptions o;
  o.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  for (auto* h : handles_)
    TCD_RETURN_IF_ERROR(FromRocks(db_->CompactRange(o, h, nullptr, nullptr),
                                  "catalog: compact " + h->GetName()));
  return Status::OK();
}

Result<std::vector<SearchHit>> Catalog::Search(const SearchQuery& q) {
  if (!search_docs_ || !search_postings_ || !search_cards_ || !search_ready_)
    return Status::NotFound("this catalog has no current search index (it predates it, or a "
                            "rebuild was interrupted): run `tcd reindex --data DIR` with the "
                            "node stopped");
  std::vector<si::QueryTerm> terms;
  if (!q.text.empty()) TCD_RETURN_IF_ERROR(AddWords(si::kText, q.text, "--text", &terms));
  if (!q.chair.empty()) TCD_RETURN_IF_ERROR(AddWords(si::kChair, q.chair, "--chair", &terms));
  if (!q.participant.empty())
    TCD_RETURN_IF_ERROR(AddWords(si::kParticipant, q.participant, "--participant", &terms));
  TCD_RETURN_IF_ERROR(AddWhole(si::kPoint, q.point, "--point", &terms));
  TCD_RETURN_IF_ERROR(AddWhole(si::kProvince, q.province, "--province", &terms));
  TCD_RETURN_IF_ERROR(AddWhole(si::kCase, q.case_number, "--case", &terms));
  TCD_RETURN_IF_ERROR(AddWhole(si::kType, q.type, "--type", &terms));
  TCD_RETURN_IF_ERROR(AddWhole(si::kConference, q.conference, "--conference", &terms));
  if (terms.empty()) terms.push_back({si::kAll, "", false});
  // Cards from the copy clustered by the query's point, else its (province, type) pair, else
  // its province when it has one (every hit has that value), else the one in time order.
  std::string card_prefix(1, si::kAll);
  for (char f : {si::kPoint, si::kProvince}) {
    auto t = std::find_if(terms.begin(), terms.end(), [&](const si::QueryTerm& x) {
      return x.field == f && !x.prefix;
    });
    if (t != terms.end() && card_prefix.size() == 1) card_prefix = si::TermPrefix(f, t->word);
  }
  // Province and type together are one list.
  auto province = std::find_if(terms.begin(), terms.end(),
                               [](const si::QueryTerm& x) { return x.field == si::kProvince; });
  auto type = std::find_if(terms.begin(), terms.end(),
                           [](const si::QueryTerm& x) { return x.field == si::kType; });
  if (province != terms.end() && type != terms.end()) {
    si::QueryTerm pair{si::kProvinceType, si::PairTerm(province->word, type->word), false};
    terms.erase(std::remove_if(terms.begin(), terms.end(), [](const si::QueryTerm& x) {
                  return x.field == si::kProvince || x.field == si::kType;
                }), terms.end());
    if (card_prefix[0] != si::kPoint) card_prefix = si::TermPrefix(pair.field, pair.word);
    terms.push_back(std::move(pair));
  }

  std::unique_ptr<const rocksdb::Snapshot, std::function<void(const rocksdb::Snapshot*)>> snap(
      db_->GetSnapshot(), [this](const rocksdb::Snapshot* s) { db_->ReleaseSnapshot(s); });
  rocksdb::ReadOptions ro;  // point reads and one term's postings (prefix bloom filters)
  ro.snapshot = snap.get();
  ro.prefix_same_as_start = true;
  rocksdb::ReadOptions scan = ro;  // across terms (prefix words)
  scan.prefix_same_as_start = false;
  scan.total_order_seek = true;
  auto postings = [&] {  // an iterator over one term's lists
    return postings_pool_ ? postings_pool_->Take()
                          : si::IteratorPool::Ptr(db_->NewIterator(ro, search_postings_), {});
  };
  std::vector<std::unique_ptr<Cursor>> cursors;
  for (const auto& t : terms) {
    if (!t.prefix) {
      cursors.push_back(std::make_unique<TermCursor>(postings(), si::TermPrefix(t.field, t.word)));
      continue;
    }
    std::vector<std::unique_ptr<Cursor>> parts;
    std::string start(1, t.field);
    start += t.word;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(scan, search_postings_));
    for (it->Seek(start); it->Valid() && it->key().starts_with(start);) {
      std::string_view key(it->key().data(), it->key().size());
      std::string term(key.substr(1, key.find('\0') - 1));
      if (parts.size() == kMaxPrefixTerms)
        return Status::InvalidArgument("'" + t.word + "*' matches more than " +
                                       std::to_string(kMaxPrefixTerms) +
                                       " different words: type more of the word");
      parts.push_back(std::make_unique<TermCursor>(postings(), si::TermPrefix(t.field, term)));
      it->Seek(std::string(1, t.field) + term + '\x01');  // past every posting of `term`
    }
    TCD_RETURN_IF_ERROR(FromRocks(it->status(), "search: scan words"));
    cursors.push_back(std::make_unique<UnionCursor>(std::move(parts)));
  }

  // Leapfrog over buckets that every term has; in each, intersect the lists in memory, driven
  // by the shortest, from the newest posting not after --to to the last one not before --from.
  const crypto::SessionId zero{};
  const std::string first = q.to_us ? si::Suffix(*q.to_us - 1, zero) : std::string();
  std::optional<std::string> end;  // postings >= this are before --from
  if (q.from_us) end = si::Suffix(*q.from_us - 1, zero);
  std::string bucket = q.to_us ? first.substr(0, si::kBucketSize) : std::string(si::kBucketSize, '\0');
  std::vector<SearchHit> hits;
  std::string pending;  // suffixes of matches whose documents are still to be read
  std::unique_ptr<rocksdb::Iterator> inbox;  // created when a received session is met
  CardReader cards(db_.get(), search_cards_, ro, cards_pool_.get());
  auto want = [&] { return q.limit == 0 ? size_t{64} : q.limit - hits.size(); };
  auto full = [&] { return q.limit != 0 && hits.size() >= q.limit; };
  si::PostFilter filter{terms, {}};
  // The cursors whose lists are read. A term whose lists hold hundreds of times more postings
  // than the shortest one's (a word in nearly every session, with a rare one) stops being read:
  // loading a bucket of it cost more than checking the few candidates' documents for it.
  std::vector<size_t> active(cursors.size());
  for (size_t i = 0; i < active.size(); ++i) active[i] = i;
  std::vector<List> lists(cursors.size());
  std::vector<size_t> pos(cursors.size());
  bool done = false;
  while (!done && !full() && !bucket.empty()) {
    for (size_t j = 0, agree = 0; agree < active.size(); j = (j + 1) % active.size()) {
      const size_t i = active[j];
      TCD_ASSIGN_OR_RETURN(bool more, cursors[i]->Seek(bucket));
      if (!more) {
        done = true;
        break;
      }
      if (cursors[i]->bucket() == bucket) {
        ++agree;
      } else {
        bucket = cursors[i]->bucket();
        agree = 1;
      }
    }
    if (done || (end && bucket > std::string_view(*end).substr(0, si::kBucketSize))) break;
    for (size_t i : active) {
      TCD_ASSIGN_OR_RETURN(std::string_view l, cursors[i]->List());
      lists[i] = {l.data(), l.size() / si::kSuffixSize};
      pos[i] = first.empty() ? 0 : Gallop(lists[i], 0, first.data());
    }
    // Shortest first: it proposes candidates, the others confirm or jump them forward.
    std::vector<size_t> order = active;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return lists[a].n < lists[b].n; });
    for (size_t k = order.size(); k-- > 1;) {
      const size_t i = order[k];
      if (terms[i].prefix || lists[i].n < kResidualMin ||
          lists[i].n < kResidualRatio * std::max<size_t>(lists[order[0]].n, 1))
        continue;
      filter.residual.push_back(terms[i]);
      active.erase(std::find(active.begin(), active.end(), i));
      order.erase(order.begin() + k);
    }
    const List& lead = lists[order[0]];
    size_t& at = pos[order[0]];
    while (at < lead.n && !full()) {
      const char* candidate = lead.at(at);
      if (end && !Less(candidate, end->data())) {
        done = true;
        break;
      }
      const char* ahead = nullptr;  // a later posting some list jumped to: the next candidate
      for (size_t k = 1; k < order.size() && !ahead; ++k) {
        const List& l = lists[order[k]];
        size_t& p = pos[order[k]];
        p = Gallop(l, p, candidate);
        if (p == l.n) {
          at = lead.n;  // this list has nothing later in the bucket
          ahead = candidate;
        } else if (Less(candidate, l.at(p))) {
          ahead = l.at(p);
        }
      }
      if (!ahead) {
        pending.append(candidate, si::kSuffixSize);
        ++at;
        if (pending.size() / si::kSuffixSize >= want())
          TCD_RETURN_IF_ERROR(ReadHits(ro, &cards, &inbox, q, filter, card_prefix, &pending, &hits));
      } else if (at < lead.n) {
        at = Gallop(lead, at, ahead);
      }
    }
    bucket = NextBucket(bucket);
  }
  TCD_RETURN_IF_ERROR(ReadHits(ro, &cards, &inbox, q, filter, card_prefix, &pending, &hits));
  return hits;
}

Status Catalog::ReadHits(const rocksdb::ReadOptions& ro, CardReader* cards,
                         std::unique_ptr<rocksdb::Iterator>* inbox, const SearchQuery& q,
                         const si::PostFilter& filter, const std::string& card_prefix,
                         std::string* suffixes, std::vector<SearchHit>* hits) {
  const size_t n = suffixes->size() / si::kSuffixSize;
  if (n == 0) return Status::OK();
  std::vector<rocksdb::Slice> keys(n), id_keys(n), card_keys(n);  // suffixes end with the id
  std::string card_key_bytes;
  card_key_bytes.reserve(n * (card_prefix.size() + si::kSuffixSize));
  for (size_t k = 0; k < n; ++k) {
    keys[k] = rocksdb::Slice(suffixes->data() + k * si::kSuffixSize, si::kSuffixSize);
    id_keys[k] = rocksdb::Slice(keys[k].data() + 8, 16);
    card_key_bytes += card_prefix;
    card_key_bytes.append(keys[k].data(), keys[k].size());
  }
  for (size_t k = 0, size = card_prefix.size() + si::kSuffixSize; k < n; ++k)
    card_keys[k] = rocksdb::Slice(card_key_bytes.data() + k * size, size);
  // Whole documents only when the metadata is wanted or the filter needs it.
  const bool want_docs = q.with_metadata || filter.NeedsMetadata();
  std::vector<rocksdb::PinnableSlice> docs(want_docs ? n : 0), repls(n);
  std::vector<rocksdb::Status> doc_st(n), repl_st(n);
  TCD_RETURN_IF_ERROR(cards->Read(card_keys));
  if (want_docs)
    db_->MultiGet(ro, search_docs_, n, keys.data(), docs.data(), doc_st.data(),
                  /*sorted_input=*/true);
  if (repl_) db_->MultiGet(ro, repl_, n, id_keys.data(), repls.data(), repl_st.data());
  for (size_t k = 0; k < n && (q.limit == 0 || hits->size() < q.limit); ++k) {
    std::optional<std::string_view> found = cards->card(k);
    if (!found) continue;  // a posting without its card: never written so
    TCD_ASSIGN_OR_RETURN(si::Card card, si::DecodeCard(ByteView(
        reinterpret_cast<const uint8_t*>(found->data()), found->size())));
    SearchHit hit;
    if (want_docs) {
      TCD_RETURN_IF_ERROR(FromRocks(doc_st[k], "search: read session document"));
      TCD_ASSIGN_OR_RETURN(si::DocView doc, si::DecodeDocView(FromSlice(docs[k])));
      if (!filter(doc.meta_body)) continue;
      if (q.with_metadata) hit.meta_body.assign(doc.meta_body.begin(), doc.meta_body.end());
    }
    TCD_ASSIGN_OR_RETURN(hit.session, DecodeSessionRecord(card.session));
    if (!q.states.empty() &&
        std::find(q.states.begin(), q.states.end(), hit.session.state) == q.states.end())
      continue;
    hit.point = card.point;
    hit.province = card.province;
    hit.case_number = card.case_number;
    hit.type = card.type;
    hit.chair = card.chair;
    hit.conference = card.conference;
    ReplRecord r;
    if (repl_ && !repl_st[k].IsNotFound()) {
      TCD_RETURN_IF_ERROR(FromRocks(repl_st[k], "search: read replication record"));
      TCD_ASSIGN_OR_RETURN(r, DecodeReplRecord(FromSlice(repls[k])));
    }
    if (r.from_peer != crypto::PublicKey{} && inbox_ && !*inbox)
      inbox->reset(db_->NewIterator(ro, inbox_));
    TCD_ASSIGN_OR_RETURN(hit.location, Locate(hit.session, r, inbox->get()));
    hits->push_back(std::move(hit));
  }
  suffixes->clear();
  return Status::OK();
}

Result<SessionLocation> Catalog::Locate(const SessionRecord& s, const ReplRecord& r,
                                        rocksdb::Iterator* inbox) {
  SessionLocation l;
  const bool received = r.from_peer != crypto::PublicKey{};
  l.local = r.evicted_below == 0;
  if (received && inbox) {  // blobs still wanted from the sender: not all here yet
    std::string prefix(reinterpret_cast<const char*>(r.from_peer.data()), r.from_peer.size());
    prefix += IdKey(s.id);
    inbox->Seek(prefix);
    if (inbox->Valid() && inbox->key().starts_with(prefix)) l.local = false;
    TCD_RETURN_IF_ERROR(FromRocks(inbox->status(), "search: read inbox"));
  }
  const bool complete_up = s.next_seq > 0 && r.up_held >= s.next_seq;
  // The next tier of a recorder is its province; of a province, the central archive.
  if (complete_up) (received ? l.central : l.province) = true;
  if (s.next_seq > 0 && r.central_held >= s.next_seq) l.central = true;
  if (role_ == "central" && l.local) l.central = true;  // held here, completely
  return l;
}

}  // namespace tcd::node
