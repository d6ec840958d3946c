// Catalog: where a session is, as its search cards say (docs/FORMAT.md §Search index, the
// card's place). A page of results reads it with the cards instead of a replication record and
// an inbox seek per hit; the writes below keep it current. See catalog.h.
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>

#include "node/catalog.h"
#include "node/catalog_internal.h"
#include "node/search_index.h"

namespace tcd::node {
using namespace internal;
namespace si = search_index;

std::mutex& Catalog::SessionMutex(const crypto::SessionId& id) {
  size_t h = 0;
  for (uint8_t b : id) h = h * 31 + b;
  return session_mu_[h % session_mu_.size()];
}

ReplRecord Catalog::ReplOrDefault(const crypto::SessionId& id) {
  if (!repl_) return ReplRecord{};
  auto r = GetRepl(id);
  if (r.ok() || r.status().IsNotFound()) return r.ok() ? *r : ReplRecord{};
  Unplaced(id, r.status());
  return ReplRecord{};
}

void Catalog::Unplaced(const crypto::SessionId& id, const Status& why) {
  // The index never stands in the way of storing evidence: the write goes on.
  spdlog::warn("search index: session {}: {}: where its search results say it is may be out "
               "of date until `tcd reindex`", crypto::SessionIdToString(id), why.ToString());
}

uint8_t Catalog::PlaceOf(const SessionRecord& s, const ReplRecord& repl, bool batch_wants,
                         const std::string& removed) {
  uint8_t place = 0;
  const bool received = repl.from_peer != crypto::PublicKey{};
  if (received) place |= si::kPlaceReceived;
  if (s.next_seq > 0 && repl.up_held >= s.next_seq) place |= si::kPlaceUpHeld;
  if (s.next_seq > 0 && repl.central_held >= s.next_seq) place |= si::kPlaceCentral;
  if (repl.evicted_below != 0) return place;  // retention removed some of its blobs
  bool wanted = received && batch_wants;
  if (received && !wanted && inbox_) {  // blobs still wanted from the sender: not all here yet
    const std::string prefix = InboxPrefix(repl.from_peer, &s.id);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), inbox_));
    it->Seek(prefix);
    if (it->Valid() && it->key() == rocksdb::Slice(removed)) it->Next();
    wanted = it->Valid() && it->key().starts_with(prefix);
    if (!it->status().ok()) {  // not known to be here: not shown as here
      Unplaced(s.id, FromRocks(it->status(), "read the inbox"));
      wanted = true;
    }
  }
  if (!wanted) place |= si::kPlaceHere;
  return place;
}

void Catalog::PutCards(rocksdb::WriteBatch* batch, const std::string& doc_key, uint8_t place,
                       ByteView session, const crypto::Metadata& meta) {
  Bytes c = si::EncodeCard(place, session, meta);
  for (const auto& prefix : si::CardPrefixes(meta))
    batch->Put(search_cards_, prefix + doc_key, ToSlice(c));
}

void Catalog::PutPlace(rocksdb::WriteBatch* batch, const crypto::SessionId& id, uint8_t place) {
  if (!search_cards_ || !search_ids_ || !search_docs_) return;
  const rocksdb::ReadOptions ro;
  std::string key;
  rocksdb::Status s = db_->Get(ro, search_ids_, IdKey(id), &key);
  if (s.IsNotFound()) return;  // not indexed: no open entry yet
  if (!s.ok()) return Unplaced(id, FromRocks(s, "read its document key"));
  if (key.size() != si::kDocKeySize)
    return Unplaced(id, Status::Corruption("document key of " + std::to_string(key.size()) +
                                           " bytes"));
  std::string card;
  s = db_->Get(ro, search_cards_, std::string(1, si::kAll) + key, &card);
  if (s.ok()) {
    auto c = si::DecodeCard(AsBytes(card));
    if (c.ok() && c->place == place) return;
  } else if (!s.IsNotFound()) {
    return Unplaced(id, FromRocks(s, "read its card"));
  }
  std::string d;
  s = db_->Get(ro, search_docs_, key, &d);
  if (s.IsNotFound()) return;
  if (!s.ok()) return Unplaced(id, FromRocks(s, "read its document"));
  auto doc = si::DecodeDoc(AsBytes(d));
  if (!doc.ok()) return Unplaced(id, doc.status());
  PutCards(batch, key, place, doc->session, doc->meta);
}

void Catalog::RefreshPlace(rocksdb::WriteBatch* batch, const crypto::SessionId& id,
                           const ReplRecord& repl, bool batch_wants, const std::string& removed) {
  auto record = GetSession(id);
  if (record.status().IsNotFound()) return;  // nothing indexed to show
  if (!record.ok()) return Unplaced(id, record.status());  // `tcd verify` reports a damaged one
  PutPlace(batch, id, PlaceOf(*record, repl, batch_wants, removed));
}

}  // namespace tcd::node
