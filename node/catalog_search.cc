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
#include "node/text_fold.h"

namespace tcd::node {
using namespace internal;
namespace si = search_index;
namespace {

constexpr const char* kIndexMetaKey = "search-index-version";
constexpr const char* kIndexVersion = "2";
constexpr size_t kMaxPrefixTerms = 64;

// The postings of one term, or of every term starting with a prefix, as a sorted stream of
// suffixes (time, session) that can jump forward.
class Cursor {
 public:
  virtual ~Cursor() = default;
  // The smallest suffix >= target, or nullopt when there is none.
  virtual std::optional<std::string> Seek(const std::string& target) = 0;
};

class TermCursor : public Cursor {
 public:
  TermCursor(rocksdb::Iterator* it, std::string prefix) : it_(it), prefix_(std::move(prefix)) {}
  std::optional<std::string> Seek(const std::string& target) override {
    if (have_ && current_ >= target) return current_;
    // Matches are usually close: step a few keys before paying for a seek from the top.
    for (int step = 0; have_ && step < kSteps; ++step) {
      it_->Next();
      if (!Load()) return std::nullopt;
      if (current_ >= target) return current_;
    }
    it_->Seek(prefix_ + target);
    if (!Load()) return std::nullopt;
    return current_;
  }

 private:
  static constexpr int kSteps = 4;
  // Reads the iterator's key into current_; false at the end of the term's postings.
  bool Load() {
    have_ = it_->Valid() && it_->key().starts_with(prefix_) &&
            it_->key().size() == prefix_.size() + si::kSuffixSize;
    if (have_) current_.assign(it_->key().data() + prefix_.size(), si::kSuffixSize);
    return have_;
  }
  std::unique_ptr<rocksdb::Iterator> it_;
  const std::string prefix_;
  std::string current_;
  bool have_ = false;
};

class UnionCursor : public Cursor {
 public:
  explicit UnionCursor(std::vector<std::unique_ptr<Cursor>> parts) : parts_(std::move(parts)) {}
  std::optional<std::string> Seek(const std::string& target) override {
    std::optional<std::string> best;
    for (auto& p : parts_) {
      auto s = p->Seek(target);
      if (s && (!best || *s < *best)) best = std::move(s);
    }
    return best;
  }

 private:
  std::vector<std::unique_ptr<Cursor>> parts_;
};

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

// True when every word of `words` is a word of one single value of `key` in `meta`.
bool OneValueHasAll(const crypto::Metadata& meta, const std::string& key,
                    const std::vector<si::QueryTerm>& terms, char field) {
  std::vector<const si::QueryTerm*> wanted;
  for (const auto& t : terms)
    if (t.field == field) wanted.push_back(&t);
  if (wanted.empty()) return true;
  for (const auto& [k, v] : meta) {
    if (k != key) continue;
    std::vector<std::string> words = FoldWords(v);
    bool all = std::all_of(wanted.begin(), wanted.end(), [&](const si::QueryTerm* t) {
      return std::any_of(words.begin(), words.end(), [&](const std::string& w) {
        return t->prefix ? w.starts_with(t->word) : w == t->word;
      });
    });
    if (all) return true;
  }
  return false;
}

}  // namespace

bool si::PostFilter::operator()(const crypto::Metadata& meta) const {
  return OneValueHasAll(meta, "chair", terms, si::kChair) &&
         OneValueHasAll(meta, "participant", terms, si::kParticipant);
}

std::string LocationText(const SessionLocation& l) {
  std::string out;
  auto add = [&](const char* s) { out += (out.empty() ? "" : "+") + std::string(s); };
  if (l.local) add("local");
  if (l.province) add("province");
  if (l.central) add("central");
  return out.empty() ? "incomplete" : out;
}

std::string SearchHit::Latest(const std::string& key) const {
  std::string v;
  for (const auto& [k, val] : meta)
    if (k == key) v = val;
  return v;
}

std::vector<std::string> SearchHit::All(const std::string& key) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : meta)
    if (k == key && std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  return out;
}

Status Catalog::IndexForSearch(rocksdb::WriteBatch* batch, const SessionRecord& record,
                               const std::vector<ByteView>& entries) {
  if (!search_docs_ || !search_postings_) return Status::OK();
  const std::string key = si::Suffix(record.start_us, record.id);
  std::optional<si::Doc> doc;  // the session's document, once read or begun
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
    for (const auto& k : si::PostingKeys(*pairs, record.start_us, record.id, open))
      batch->Put(search_postings_, k, rocksdb::Slice());
    doc->meta.insert(doc->meta.end(), pairs->begin(), pairs->end());
  }
  TCD_RETURN_IF_ERROR(load());
  if (!doc) return Status::OK();
  doc->session = EncodeSessionRecord(record);  // the summary shown in results, kept current
  Bytes d = si::EncodeDoc(*doc);
  batch->Put(search_docs_, key, ToSlice(d));
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
  rocksdb::CompactRangeOptions o;
  o.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  for (auto* h : handles_)
    TCD_RETURN_IF_ERROR(FromRocks(db_->CompactRange(o, h, nullptr, nullptr),
                                  "catalog: compact " + h->GetName()));
  return Status::OK();
}

Result<std::vector<SearchHit>> Catalog::Search(const SearchQuery& q) {
  if (!search_docs_ || !search_postings_ || !search_ready_)
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

  std::unique_ptr<const rocksdb::Snapshot, std::function<void(const rocksdb::Snapshot*)>> snap(
      db_->GetSnapshot(), [this](const rocksdb::Snapshot* s) { db_->ReleaseSnapshot(s); });
  rocksdb::ReadOptions ro;  // point reads and one term's postings (prefix bloom filters)
  ro.snapshot = snap.get();
  ro.prefix_same_as_start = true;
  rocksdb::ReadOptions scan = ro;  // across terms (prefix words)
  scan.prefix_same_as_start = false;
  scan.total_order_seek = true;
  std::vector<std::unique_ptr<Cursor>> cursors;
  for (const auto& t : terms) {
    if (!t.prefix) {
      cursors.push_back(std::make_unique<TermCursor>(db_->NewIterator(ro, search_postings_),
                                                     si::TermPrefix(t.field, t.word)));
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
      parts.push_back(std::make_unique<TermCursor>(db_->NewIterator(ro, search_postings_),
                                                   si::TermPrefix(t.field, term)));
      it->Seek(std::string(1, t.field) + term + '\x01');  // past every posting of `term`
    }
    TCD_RETURN_IF_ERROR(FromRocks(it->status(), "search: scan words"));
    cursors.push_back(std::make_unique<UnionCursor>(std::move(parts)));
  }

  const crypto::SessionId zero{};
  std::string target = q.to_us ? si::Suffix(*q.to_us - 1, zero) : std::string();
  std::optional<std::string> end;
  if (q.from_us) end = si::Suffix(*q.from_us - 1, zero);
  std::vector<SearchHit> hits;
  std::vector<std::string> pending;  // suffixes of matches whose documents are still to be read
  std::unique_ptr<rocksdb::Iterator> inbox;  // created when a received session is met
  auto want = [&] { return q.limit == 0 ? size_t{64} : q.limit - hits.size(); };
  size_t agree = 0;
  for (size_t i = 0; q.limit == 0 || hits.size() < q.limit; i = (i + 1) % cursors.size()) {
    std::optional<std::string> s = cursors[i]->Seek(target);
    if (!s || (end && *s >= *end)) break;
    if (*s != target) {
      target = *s;
      agree = 0;
    }
    if (++agree < cursors.size()) continue;
    agree = 0;
    pending.push_back(target);
    target.push_back('\0');  // next: the first suffix after this one
    if (pending.size() >= want()) {
      TCD_RETURN_IF_ERROR(ReadHits(ro, &inbox, q, si::PostFilter{terms}, &pending, &hits));
    }
  }
  TCD_RETURN_IF_ERROR(ReadHits(ro, &inbox, q, si::PostFilter{terms}, &pending, &hits));
  return hits;
}

Status Catalog::ReadHits(const rocksdb::ReadOptions& ro, std::unique_ptr<rocksdb::Iterator>* inbox,
                         const SearchQuery& q, const si::PostFilter& filter,
                         std::vector<std::string>* suffixes, std::vector<SearchHit>* hits) {
  const size_t n = suffixes->size();
  if (n == 0) return Status::OK();
  std::vector<std::string> ids;
  for (const auto& s : *suffixes) ids.push_back(IdKey(si::SuffixSession(s)));
  std::vector<rocksdb::Slice> doc_keys(suffixes->begin(), suffixes->end());
  std::vector<rocksdb::Slice> id_keys(ids.begin(), ids.end());
  std::vector<rocksdb::PinnableSlice> docs(n), repls(n);
  std::vector<rocksdb::Status> doc_st(n), repl_st(n);
  db_->MultiGet(ro, search_docs_, n, doc_keys.data(), docs.data(), doc_st.data(),
                /*sorted_input=*/true);
  if (repl_) db_->MultiGet(ro, repl_, n, id_keys.data(), repls.data(), repl_st.data());
  for (size_t k = 0; k < n && (q.limit == 0 || hits->size() < q.limit); ++k) {
    if (doc_st[k].IsNotFound()) continue;  // a posting without its document: never written so
    TCD_RETURN_IF_ERROR(FromRocks(doc_st[k], "search: read session document"));
    TCD_ASSIGN_OR_RETURN(si::Doc doc, si::DecodeDoc(FromSlice(docs[k])));
    if (!filter(doc.meta)) continue;
    SearchHit hit;
    TCD_ASSIGN_OR_RETURN(hit.session, DecodeSessionRecord(doc.session));
    if (!q.states.empty() &&
        std::find(q.states.begin(), q.states.end(), hit.session.state) == q.states.end())
      continue;
    ReplRecord r;
    if (repl_ && !repl_st[k].IsNotFound()) {
      TCD_RETURN_IF_ERROR(FromRocks(repl_st[k], "search: read replication record"));
      TCD_ASSIGN_OR_RETURN(r, DecodeReplRecord(FromSlice(repls[k])));
    }
    hit.meta = std::move(doc.meta);
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
  return l;
}

}  // namespace tcd::node
