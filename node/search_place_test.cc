// Search: where a result says the recording is (local / province / central). The place is kept
// on the session's cards by every write that changes it; these tests compare what results show
// with what the replication records and the inbox say, after every kind of change.
#include <gtest/gtest.h>

#include <rocksdb/db.h>

#include <random>
#include <string>
#include <thread>
#include <vector>

#include "node/search_test_fixture.h"

namespace tcd::node {
namespace {

using namespace search_testing;

crypto::PublicKey Peer(uint8_t n) {
  crypto::PublicKey k{};
  k.fill(n);
  return k;
}

class PlaceTest : public SearchTest {
 protected:
  // Session `n`: its open entry carries the note "tag<n>", the word its search asks for.
  Generated Session(uint32_t n) {
    Generated g;
    g.id = MakeId(n);
    g.start_us = kT0 + n * 60'000'000ll;
    g.meta = {{"note", "tag" + std::to_string(n)}};
    return g;
  }
  // A session received from `peer`: its open entry, with `media` segment entries whose blobs
  // are still wanted from `peer`.
  void Receive(uint32_t n, const crypto::PublicKey& peer, uint64_t media) {
    Generated g = Session(n);
    SessionRecord r;
    r.id = g.id;
    r.start_us = r.end_us = g.start_us;
    crypto::OpenBody body;
    body.meta = g.meta;
    ReplRecord repl;
    repl.from_peer = peer;
    ASSERT_TRUE(Replicate(&r, crypto::EntryKind::kOpen, crypto::EncodeOpenBody(body), false,
                          peer, &repl).ok());
    for (uint64_t i = 0; i < media; ++i)
      ASSERT_TRUE(Replicate(&r, crypto::EntryKind::kSegment, {}, true, peer, nullptr).ok());
    all_.push_back(g);
  }
  // Stores one more received entry of *r (a segment whose blob is wanted from `peer` when
  // `media`).
  Status Replicate(SessionRecord* r, crypto::EntryKind kind, Bytes body, bool media,
                   const crypto::PublicKey& peer, const ReplRecord* fresh) {
    crypto::ChainEntry e;
    e.kind = kind;
    e.session = r->id;
    e.seq = r->next_seq;
    e.start_us = r->start_us + static_cast<int64_t>(e.seq) * 1000;
    e.body = std::move(body);
    std::vector<WantedBlob> wanted;
    std::vector<std::pair<crypto::Hash256, uint64_t>> refs;
    if (media) {
      e.cipher_hash.fill(static_cast<uint8_t>(e.seq));
      e.cipher_hash[0] = r->id[3];
      refs.emplace_back(e.cipher_hash, e.seq);
      wanted.push_back({peer, r->id, e.seq, e.cipher_hash, 100});
    }
    r->next_seq = e.seq + 1;
    return catalog_->AppendReplicated(*r, {{e.seq, {crypto::EncodeEntry(e), {}}}}, refs, wanted,
                                      fresh);
  }
  // One more entry recorded here (a gap note).
  Status Record(const crypto::SessionId& id) {
    TCD_ASSIGN_OR_RETURN(SessionRecord r, catalog_->GetSession(id));
    crypto::ChainEntry e;
    e.kind = crypto::EntryKind::kGap;
    e.session = id;
    e.seq = r.next_seq;
    e.start_us = r.start_us + static_cast<int64_t>(e.seq) * 1000;
    r.next_seq = e.seq + 1;
    return catalog_->Append(r, e.seq, {crypto::EncodeEntry(e), {}}, std::nullopt);
  }

  // What results show for session `n`.
  std::string Shown(Catalog* c, uint32_t n) {
    SearchQuery q;
    q.text = "tag" + std::to_string(n);
    auto hits = c->Search(q);
    EXPECT_TRUE(hits.ok()) << hits.status().ToString();
    return hits.ok() && hits->size() == 1 ? LocationText((*hits)[0].location) : "?";
  }
  // What the replication record and the inbox say, as a person would read them.
  std::string Expected(Catalog* c, uint32_t n) {
    auto s = c->GetSession(MakeId(n));
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (!s.ok()) return "?";
    auto got = c->GetRepl(s->id);
    const ReplRecord r = got.ok() ? *got : ReplRecord{};
    const bool received = r.from_peer != crypto::PublicKey{};
    auto wanted = c->FirstWanted(r.from_peer, s->id);
    EXPECT_TRUE(wanted.ok());
    SessionLocation l;
    l.local = r.evicted_below == 0 && !(received && wanted.ok() && wanted->has_value());
    const bool all = s->next_seq > 0;
    if (all && r.up_held >= s->next_seq) (received ? l.central : l.province) = true;
    if (all && r.central_held >= s->next_seq) l.central = true;
    if (c->role() == "central" && l.local) l.central = true;
    return LocationText(l);
  }
  void ExpectAllShown(Catalog* c, uint32_t sessions, const std::string& when) {
    for (uint32_t n = 0; n < sessions; ++n)
      ASSERT_EQ(Shown(c, n), Expected(c, n)) << "session " << n << " " << when;
  }
};

// A province receives a session from a recorder: it is not "local" while a blob is still to
// come, is once the last one arrives, is "central" once the central archive acknowledges all of
// it, and no longer "local" once retention evicts its media.
TEST_F(PlaceTest, AReceivedSessionBecomesLocalWithItsLastBlobAndStopsBeingLocalWhenEvicted) {
  ASSERT_TRUE(catalog_->SetRole("province").ok());
  Receive(0, Peer(1), 2);
  EXPECT_EQ(Shown(catalog_.get(), 0), "incomplete");
  auto wanted = catalog_->ListWanted(Peer(1), 10, std::nullopt);
  ASSERT_TRUE(wanted.ok());
  ASSERT_EQ(wanted->size(), 2u);
  ASSERT_TRUE(catalog_->BlobArrived((*wanted)[1]).ok());
  EXPECT_EQ(Shown(catalog_.get(), 0), "incomplete");  // seq 1 is still wanted
  ASSERT_TRUE(catalog_->BlobArrived((*wanted)[0]).ok());
  EXPECT_EQ(Shown(catalog_.get(), 0), "local");
  ASSERT_TRUE(catalog_->UpdateRepl(MakeId(0), [](ReplRecord* r) { r->up_held = 2; }, false).ok());
  EXPECT_EQ(Shown(catalog_.get(), 0), "local");  // 2 of its 3 entries
  ASSERT_TRUE(catalog_->UpdateRepl(MakeId(0), [](ReplRecord* r) { r->up_held = 3; }, false).ok());
  EXPECT_EQ(Shown(catalog_.get(), 0), "local+central");
  ASSERT_TRUE(
      catalog_->UpdateRepl(MakeId(0), [](ReplRecord* r) { r->evicted_below = 2; }, true).ok());
  EXPECT_EQ(Shown(catalog_.get(), 0), "central");
  // A new entry arrives: the central archive no longer holds all of it.
  SessionRecord r = *catalog_->GetSession(MakeId(0));
  ASSERT_TRUE(Replicate(&r, crypto::EntryKind::kGap, {}, false, Peer(1), nullptr).ok());
  EXPECT_EQ(Shown(catalog_.get(), 0), "incomplete");
}

// The place never stands in the way of storing evidence: with a damaged search document or
// replication record, entries, acknowledgments and arriving blobs are still stored (the place
// may then be out of date), and `tcd reindex` shows the right place again.
TEST_F(PlaceTest, DamagedRecordsDoNotStopRecordingOrReplication) {
  Add(Session(0));
  Receive(1, Peer(1), 1);
  Raw([&](rocksdb::DB* db, Families& cf) {
    const rocksdb::WriteOptions wo;
    ASSERT_TRUE(db->Put(wo, cf["repl"], Key(MakeId(0)), "not a replication record").ok());
    std::string doc_key;
    rocksdb::Status got =
        db->Get(rocksdb::ReadOptions(), cf["search_ids"], Key(MakeId(1)), &doc_key);
    ASSERT_TRUE(got.ok()) << got.ToString();
    ASSERT_TRUE(db->Put(wo, cf["search_docs"], doc_key, "not a search document").ok());
  });
  ASSERT_TRUE(Record(MakeId(0)).ok());  // the recorder goes on
  EXPECT_EQ(Shown(catalog_.get(), 0), "local");  // read as having no record: recorded here
  auto wanted = catalog_->ListWanted(Peer(1), 10, std::nullopt);
  ASSERT_TRUE(wanted.ok());
  ASSERT_EQ(wanted->size(), 1u);
  ASSERT_TRUE(catalog_->BlobArrived((*wanted)[0]).ok());
  ASSERT_TRUE(catalog_->UpdateRepl(MakeId(1), [](ReplRecord* r) { r->central_held = 2; }, false)
                  .ok());
  EXPECT_TRUE(catalog_->ListWanted(Peer(1), 10, std::nullopt)->empty());
  EXPECT_EQ(catalog_->GetRepl(MakeId(1))->central_held, 2u);
  // Without its document the cards cannot be rewritten: out of date until a rebuild.
  EXPECT_EQ(Shown(catalog_.get(), 1), "incomplete");
  ASSERT_TRUE(catalog_->Reindex().ok());
  EXPECT_EQ(Shown(catalog_.get(), 1), "local+central");
  ExpectAllShown(catalog_.get(), 2, "after `tcd reindex`");
}

// Every kind of change, in random order, on sessions recorded here and received from two peers;
// then a rebuild of the index, a read-only open, and the other role.
TEST_F(PlaceTest, ResultsShowWhatTheReplicationStateSaysAfterEveryChange) {
  constexpr uint32_t kRecorded = 4, kSessions = 8;
  for (uint32_t n = 0; n < kRecorded; ++n) Add(Session(n));
  for (uint32_t n = kRecorded; n < kSessions; ++n) Receive(n, Peer(1 + n % 2), n % 3);
  std::mt19937 rng(20261124);
  auto pick = [&](uint32_t k) { return static_cast<uint32_t>(rng() % k); };
  int changed = 0;
  for (int step = 0; step < 600; ++step) {
    const uint32_t n = pick(kSessions);
    const crypto::SessionId id = MakeId(n);
    auto rec = catalog_->GetSession(id);
    ASSERT_TRUE(rec.ok());
    auto repl = catalog_->GetRepl(id);
    const crypto::PublicKey from = repl.ok() ? repl->from_peer : crypto::PublicKey{};
    std::string what;
    switch (pick(6)) {
      case 0:
        what = "one more entry";
        if (n < kRecorded) {
          ASSERT_TRUE(Record(id).ok());
        } else {
          ASSERT_TRUE(Replicate(&*rec, crypto::EntryKind::kSegment, {}, pick(2), from, nullptr)
                          .ok());
        }
        break;
      case 1: {
        what = "an acknowledgment";
        auto held = [&] {  // all of it (or more: an ack before our entry) half the time
          return pick(2) ? rec->next_seq + pick(2) : pick(rec->next_seq + 1);
        };
        const uint64_t up = held(), central = held();
        ASSERT_TRUE(catalog_->UpdateRepl(id, [&](ReplRecord* r) {
          r->up_held = up;
          r->central_held = central;
        }, false).ok());
        break;
      }
      case 2: {
        what = "retention";
        const uint64_t below = pick(4) == 0 ? 0 : 1 + pick(rec->next_seq);
        ASSERT_TRUE(
            catalog_->UpdateRepl(id, [&](ReplRecord* r) { r->evicted_below = below; }, true).ok());
        break;
      }
      case 3: {
        what = "a blob arrives";
        auto w = catalog_->ListWanted(Peer(1 + pick(2)), 100, std::nullopt);
        ASSERT_TRUE(w.ok());
        if (!w->empty()) {
          ASSERT_TRUE(catalog_->BlobArrived((*w)[pick(w->size())]).ok());
        }
        break;
      }
      case 4:
        what = "the sender changes";  // for a session recorded here: it now comes from a peer
        ASSERT_TRUE(catalog_->MoveWanted(id, from, from == Peer(1) ? Peer(2) : Peer(1)).ok());
        break;
      case 5:
        what = "the role changes";
        ASSERT_TRUE(catalog_->SetRole(pick(2) ? "central" : "province").ok());
        break;
    }
    for (uint32_t k = 0; k < kSessions; ++k) {
      const std::string shown = Shown(catalog_.get(), k);
      ASSERT_EQ(shown, Expected(catalog_.get(), k))
          << "session " << k << " after step " << step << ": " << what << " (session " << n
          << ")";
      changed += shown != "local";
    }
  }
  EXPECT_GT(changed, 600);  // the walk saw more than sessions that stay local
  ASSERT_TRUE(catalog_->Reindex().ok());
  ExpectAllShown(catalog_.get(), kSessions, "after a rebuild of the index");
  ASSERT_TRUE(catalog_->SetRole("central").ok());
  catalog_.reset();
  auto ro = Catalog::Open(dir_.string(), /*read_only=*/true);
  ASSERT_TRUE(ro.ok()) << ro.status().ToString();
  ExpectAllShown(ro->get(), kSessions, "read-only, at the central archive");
}

// Entries recorded while the province's acknowledgments arrive, on another thread, for the same
// session: each write reads the state the place derives from and writes the cards under the
// session's lock, so the last write leaves the place that the final state gives.
TEST_F(PlaceTest, ConcurrentEntriesAndAcknowledgmentsLeaveTheRightPlace) {
  Add(Session(0));
  const crypto::SessionId id = MakeId(0);
  for (int round = 0; round < 500; ++round) {
    std::thread acks([&] {
      for (int i = 0; i < 5; ++i) {
        auto rec = catalog_->GetSession(id);
        ASSERT_TRUE(rec.ok());
        const uint64_t next = rec->next_seq + 1;  // also the entry being written, at times
        ASSERT_TRUE(catalog_->UpdateRepl(id, [&](ReplRecord* r) { r->up_held = next; }, false)
                        .ok());
      }
    });
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(Record(id).ok());
    acks.join();
    ASSERT_EQ(Shown(catalog_.get(), 0), Expected(catalog_.get(), 0)) << "round " << round;
  }
}

}  // namespace
}  // namespace tcd::node
