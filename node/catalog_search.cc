// The catalog's search index: queries (node/search.h, node/search_index.h, docs/FORMAT.md
// §Search index); its upkeep is in node/catalog_index.cc.
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

constexpr size_t kMaxPrefixTerms = 64;
using si::Cursor, si::TermCursor, si::UnionCursor, si::List, si::Gallop, si::NextBucket,
    si::CardReader;

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

// Whether pair list i may be left out of its bucket's intersection: it is over kSkipRatio times
// as long as the shortest, kept[0], and both its words are in pair lists of the same field among
// kept[0, n) (those intersected). The filter still checks that all the words are in one value;
// reading such a list ("nguyen van", in a name query with "an") costs far more than the few
// candidates it would remove.
bool SkipPair(const std::vector<si::QueryTerm>& terms, const std::vector<List>& lists,
              const size_t* kept, size_t n, size_t i) {
  constexpr size_t kSkipRatio = 4;
  const char field = terms[i].field;
  if ((field != si::kChairPair && field != si::kParticipantPair) ||
      lists[i]->encoded_size() <= kSkipRatio * lists[kept[0]]->encoded_size())
    return false;
  auto words = [](std::string_view pair) {
    const size_t space = pair.find(' ');
    return std::pair{pair.substr(0, space), pair.substr(space + 1)};
  };
  auto [a, b] = words(terms[i].word);
  bool have_a = false, have_b = false;
  for (size_t k = 0; k < n; ++k) {
    if (terms[kept[k]].field != field) continue;
    auto [x, y] = words(terms[kept[k]].word);
    have_a = have_a || a == x || a == y;
    have_b = have_b || b == x || b == y;
  }
  return have_a && have_b;
}

}  // namespace

bool si::PostFilter::NeedsMetadata() const {
  return std::any_of(terms.begin(), terms.end(), [](const si::QueryTerm& t) {
    return t.field == si::kChair || t.field == si::kParticipant;
  });
}

bool si::PostFilter::operator()(ByteView meta_body) const {
  return OneValueHasAll(meta_body, "chair", terms, si::kChair) &&
         OneValueHasAll(meta_body, "participant", terms, si::kParticipant);
}

std::string LocationText(const SessionLocation& l) {
  std::string out;
  auto add = [&](const char* s) {
    if (!out.empty()) out += '+';
    out += s;
  };
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

void SearchHit::SetValues(const std::array<std::string_view, 6>& values) {
  size_t size = 0;
  for (std::string_view v : values) size += v.size();
  values_.clear();
  values_.reserve(size);
  for (size_t i = 0; i < values.size(); ++i) {
    values_ += values[i];
    ends_[i] = static_cast<uint32_t>(values_.size());
  }
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
  // The filter checks the words of --chair and --participant on the documents; the lists read
  // are of their pairs when there are two words or more (a pair's sessions have both words in
  // one value: far fewer than either word's, for a name), unless some value has too many words
  // to be paired.
  const std::vector<si::QueryTerm> words_terms = terms;
  for (auto [word_field, pair_field] :
       {std::pair{si::kChair, si::kChairPair}, std::pair{si::kParticipant, si::kParticipantPair}}) {
    std::vector<std::string> words;
    for (const auto& t : terms)
      if (t.field == word_field && !t.prefix) words.push_back(t.word);
    const std::vector<std::string> pairs = si::WordPairTerms(std::move(words));
    if (pairs.empty() || pairs[0].empty()) continue;  // under 2 distinct words, or over 12
    const std::string unpaired = si::TermPrefix(pair_field, "");
    si::IteratorPool::Ptr it = postings();
    it->Seek(unpaired);
    TCD_RETURN_IF_ERROR(FromRocks(it->status(), "search: read postings"));
    if (it->Valid() && it->key().starts_with(unpaired)) continue;
    terms.erase(std::remove_if(terms.begin(), terms.end(), [&](const si::QueryTerm& t) {
                  return t.field == word_field && !t.prefix;
                }), terms.end());
    for (const auto& t : pairs) terms.push_back({pair_field, t, false});
  }
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
  // by the shortest, from the slot of --to to the slot of --from (ReadHits drops the sessions
  // of those two slots outside the range).
  std::optional<si::Posting> first, last;  // the first and the last posting in range
  if (q.to_us) first = si::DocKey(*q.to_us - 1, 0);
  if (q.from_us) last = si::DocKey(*q.from_us, UINT32_MAX);
  std::string bucket = first ? si::BucketOf(*first) : std::string(si::kBucketSize, '\0');
  std::vector<SearchHit> hits;
  hits.reserve(std::min<size_t>(q.limit, 1000));
  // Matches whose cards are still to be read; read once they are at least what the page still
  // wants and whole slots (a slot's sessions are put in time order from their cards).
  std::vector<si::Posting> pending;
  std::optional<si::Posting> slot_end;  // set when pending is enough: the end of its last slot
  CardReader cards(db_.get(), search_cards_, ro, cards_pool_.get());
  auto want = [&] { return q.limit == 0 ? size_t{64} : q.limit - hits.size(); };
  auto full = [&] { return q.limit != 0 && hits.size() >= q.limit; };
  si::PostFilter filter{words_terms};
  auto read_hits = [&] {
    slot_end.reset();
    return ReadHits(ro, &cards, q, filter, card_prefix, &pending, &hits);
  };
  std::vector<List> lists(cursors.size());
  std::vector<size_t> pos(cursors.size());
  std::vector<size_t> order(cursors.size());
  bool done = false;
  while (!done && !full() && !bucket.empty()) {
    for (size_t i = 0, agree = 0; agree < cursors.size(); i = (i + 1) % cursors.size()) {
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
    if (done || (last && bucket > si::BucketOf(*last))) break;
    order.resize(cursors.size());
    for (size_t i = 0; i < cursors.size(); ++i) {
      TCD_ASSIGN_OR_RETURN(lists[i], cursors[i]->Postings());
      order[i] = i;
    }
    // Shortest first: it proposes candidates, the others confirm or jump them forward.
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return lists[a]->encoded_size() < lists[b]->encoded_size();
    });
    size_t kept = 1;  // order[0, kept): the lists intersected
    for (size_t k = 1; k < order.size(); ++k)
      if (!SkipPair(terms, lists, order.data(), kept, order[k])) order[kept++] = order[k];
    order.resize(kept);
    for (size_t i : order) pos[i] = first ? Gallop(*lists[i], 0, *first) : 0;
    si::PostingReader& lead = *lists[order[0]];
    size_t& at = pos[order[0]];
    bool exhausted = false;  // a list has nothing later in this bucket
    while (!exhausted && lead.Has(at) && !full()) {
      const si::Posting candidate = lead.at(at);
      if (last && candidate > *last) {
        done = true;
        break;
      }
      if (slot_end && candidate > *slot_end) {
        TCD_RETURN_IF_ERROR(read_hits());
        if (full()) break;
      }
      std::optional<si::Posting> ahead;  // a later posting some list jumped to: the next candidate
      for (size_t k = 1; k < order.size() && !ahead; ++k) {
        si::PostingReader& l = *lists[order[k]];
        size_t& p = pos[order[k]];
        p = Gallop(l, p, candidate);
        if (!l.Has(p)) {
          exhausted = true;
          ahead = candidate;
        } else if (candidate < l.at(p)) {
          ahead = l.at(p);
        }
      }
      if (!ahead) {
        pending.push_back(candidate);
        ++at;
        if (!slot_end && pending.size() >= want())
          slot_end = candidate | 0xffffffff;  // the rest of its slot
      } else if (!exhausted) {
        at = Gallop(lead, at, *ahead);
      }
    }
    for (size_t i = 0; i < cursors.size(); ++i)
      if (!lists[i]->status().ok())
        return Status::Corruption(lists[i]->status().message() + " (" + terms[i].word +
                                  "): run `tcd reindex`");
    if (slot_end) TCD_RETURN_IF_ERROR(read_hits());  // a slot never spans two buckets
    bucket = NextBucket(bucket);
  }
  TCD_RETURN_IF_ERROR(read_hits());
  return hits;
}

Status Catalog::ReadHits(const rocksdb::ReadOptions& ro, CardReader* cards, const SearchQuery& q,
                         const si::PostFilter& filter, const std::string& card_prefix,
                         std::vector<si::Posting>* postings, std::vector<SearchHit>* hits) {
  const size_t n = postings->size();
  if (n == 0) return Status::OK();
  const size_t card_size = card_prefix.size() + si::kDocKeySize;
  std::string key_bytes;  // the card keys, then the document keys
  key_bytes.reserve(n * (card_size + si::kDocKeySize));
  for (si::Posting p : *postings) {
    key_bytes += card_prefix;
    key_bytes += si::DocKeyBytes(p);
  }
  for (si::Posting p : *postings) key_bytes += si::DocKeyBytes(p);
  auto card_key = [&](size_t k) {
    return rocksdb::Slice(key_bytes.data() + k * card_size, card_size);
  };
  auto doc_key = [&](size_t k) {
    return rocksdb::Slice(key_bytes.data() + n * card_size + k * si::kDocKeySize,
                          si::kDocKeySize);
  };
  std::vector<rocksdb::Slice> keys(n);
  for (size_t k = 0; k < n; ++k) keys[k] = card_key(k);
  TCD_RETURN_IF_ERROR(cards->Read(keys));
  // Each read narrows the candidates before the next: the cards (the session: its start time,
  // state and place), then the documents when the filter or q.with_metadata needs them. A
  // candidate that fails costs no read after the one it fails.
  struct Kept {
    size_t k;         // index of the candidate
    si::Card card;    // views the CardReader's buffers
    SessionRecord session;
    std::string_view meta_body;  // views docs (q.with_metadata only)
  };
  std::vector<Kept> kept;  // candidates still in, in doc key order
  kept.reserve(n);
  for (size_t k = 0; k < n; ++k) {
    std::optional<std::string_view> c = cards->card(k);
    if (!c) continue;  // a posting without its card: never written so
    TCD_ASSIGN_OR_RETURN(si::Card card, si::DecodeCard(ByteView(
        reinterpret_cast<const uint8_t*>(c->data()), c->size())));
    TCD_ASSIGN_OR_RETURN(SessionRecord session, DecodeSessionRecord(card.session));
    if ((q.from_us && session.start_us < *q.from_us) || (q.to_us && session.start_us >= *q.to_us))
      continue;  // in the slot of --from or --to, outside the range
    if (!q.states.empty() &&
        std::find(q.states.begin(), q.states.end(), session.state) == q.states.end())
      continue;
    kept.push_back({k, card, std::move(session), {}});
  }
  std::vector<rocksdb::PinnableSlice> docs;
  std::vector<rocksdb::Status> doc_st;
  const bool want_docs = q.with_metadata || filter.NeedsMetadata();
  if (want_docs) {
    std::vector<rocksdb::Slice> doc_keys;
    doc_keys.reserve(kept.size());
    for (const Kept& c : kept) doc_keys.push_back(doc_key(c.k));
    docs.resize(kept.size());
    doc_st.resize(kept.size());
    db_->MultiGet(ro, search_docs_, doc_keys.size(), doc_keys.data(), docs.data(), doc_st.data(),
                  /*sorted_input=*/true);
  }
  // Newest first, as a session's suffix (inverted start time, session id) sorts.
  std::vector<size_t> order(kept.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto rank = [&](size_t i) {
    return std::make_pair(si::InvertedTime(kept[i].session.start_us), kept[i].session.id);
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return rank(a) < rank(b); });
  const size_t room = q.limit == 0 ? kept.size() : q.limit - std::min(q.limit, hits->size());
  std::vector<Kept*> shown;  // the candidates that become hits, newest first
  for (size_t i : order) {
    if (shown.size() == room) break;
    if (want_docs) {
      TCD_RETURN_IF_ERROR(FromRocks(doc_st[i], "search: read session document"));
      TCD_ASSIGN_OR_RETURN(si::DocView doc, si::DecodeDocView(FromSlice(docs[i])));
      if (!filter(doc.meta_body)) continue;
      kept[i].meta_body = AsChars(doc.meta_body);
    }
    shown.push_back(&kept[i]);
  }
  for (Kept* c : shown) {
    SearchHit hit;
    hit.session = std::move(c->session);
    hit.SetValues({c->card.point, c->card.province, c->card.case_number, c->card.type,
                   c->card.chair, c->card.conference});
    if (q.with_metadata) hit.meta_body.assign(c->meta_body.begin(), c->meta_body.end());
    hit.location = LocationOf(c->card.place);
    hits->push_back(std::move(hit));
  }
  postings->clear();
  return Status::OK();
}

SessionLocation Catalog::LocationOf(uint8_t place) const {
  SessionLocation l;
  l.local = place & si::kPlaceHere;
  // The next tier of a recorder is its province; of a province, the central archive.
  if (place & si::kPlaceUpHeld) (place & si::kPlaceReceived ? l.central : l.province) = true;
  if (place & si::kPlaceCentral) l.central = true;
  if (role_ == "central" && l.local) l.central = true;  // held here, completely
  return l;
}

}  // namespace tcd::node
