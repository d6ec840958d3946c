// ReplicaWriter: what a province (or the central archive) stores of the entries and blobs a
// downstream node sends. Sessions are made by a real SessionRecorder in a "recorder" store
// (random bytes stand in for media: the writer checks hashes and signatures, not media), then
// fed, as ENTRIES messages built from the recorder's catalog, to a writer over a second store.
#include "replicate/replica_writer.h"

#include <algorithm>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <boost/filesystem.hpp>
#include <gtest/gtest.h>

#include "crypto/chain.h"
#include "crypto/keys.h"
#include "node/catalog.h"
#include "node/session_recorder.h"
#include "node/store.h"
#include "node/verifier.h"

namespace tcd::replicate {
namespace {

namespace fs = boost::filesystem;
using crypto::EntryKind;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class ReplicaWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = (fs::temp_directory_path() / fs::unique_path("tcd-rw-test-%%%%-%%%%")).string();
    recorder_ = OpenStore("recorder");
    province_ = OpenStore("province");
    ASSERT_TRUE(recorder_ && province_);
    peer_.point = "xa-01";
    peer_.pub = recorder_id_.pub;
    peer_.enrolled_us = 1;
    writer_ = std::make_unique<ReplicaWriter>(province_.get(), Role::kProvince);
  }
  void TearDown() override {
    writer_.reset();
    central_.reset();
    province_.reset();
    recorder_.reset();
    boost::system::error_code ec;
    fs::remove_all(root_, ec);
  }

  std::unique_ptr<node::Store> OpenStore(const std::string& name, bool outbox = true) {
    node::StoreOptions so;
    so.min_free_bytes = 1 << 20;
    so.track_outbox = outbox;
    auto s = node::Store::Open(Env::Default(), root_ + "/" + name, so);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }

  // A sealed session in the recorder store, signed by `id`: open (seq 0), init (1), segment
  // (2), gap (3), then `more` segments, seal. Segment plaintexts are `seg_bytes` random bytes.
  crypto::SessionId Record(const crypto::NodeIdentity& id, int more = 3,
                           size_t seg_bytes = 3000) {
    auto rec = node::SessionRecorder::Start(recorder_.get(), &id, {archive_.pub},
                                            {{"point", "xa-01"}, {"case", "test"}});
    EXPECT_TRUE(rec.ok()) << rec.status().ToString();
    if (!rec.ok()) return {};
    node::SessionRecorder& r = **rec;
    const int64_t t0 = r.record().start_us;
    EXPECT_TRUE(r.OnInit(0, Random(200), "fake h264").ok());
    int64_t t = t0;
    auto segment = [&](uint64_t index) {
      ingest::MediaSegment seg;
      seg.index = index;
      seg.data = Random(seg_bytes);
      seg.media_start_us = t - t0;
      seg.duration_us = 2'000'000 + static_cast<int64_t>(index) * 1000;
      seg.wall_start_us = t;
      t += seg.duration_us;
      Status s = r.OnSegment(std::move(seg));
      EXPECT_TRUE(s.ok()) << s.ToString();
    };
    segment(0);
    EXPECT_TRUE(r.OnGap(t, t + 5'000'000, "camera unplugged").ok());
    t += 5'000'000;
    for (int i = 0; i < more; ++i) segment(1 + i);
    Status s = r.Seal(crypto::SealReason::kStopped);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return r.id();
  }

  Bytes Random(size_t n) {
    Bytes b(n);
    for (auto& c : b) c = static_cast<uint8_t>(rng_());
    return b;
  }

  // The recorder's chain of `id` as it travels.
  std::vector<EntryWithSig> Chain(const crypto::SessionId& id) {
    auto chain = recorder_->catalog()->GetChain(id);
    EXPECT_TRUE(chain.ok()) << chain.status().ToString();
    std::vector<EntryWithSig> out;
    if (!chain.ok()) return out;
    for (auto& [seq, cr] : *chain) {
      EXPECT_EQ(seq, out.size());
      out.push_back({cr.entry, cr.signature});
    }
    return out;
  }

  // ENTRIES of `id` carrying chain[from, to).
  static Entries Msg(const crypto::SessionId& id, const std::vector<EntryWithSig>& chain,
                     size_t from, size_t to) {
    Entries m;
    m.session = id;
    m.first_seq = from;
    m.entries.assign(chain.begin() + from, chain.begin() + to);
    return m;
  }
  static Entries Msg(const crypto::SessionId& id, const std::vector<EntryWithSig>& chain) {
    return Msg(id, chain, 0, chain.size());
  }

  static crypto::ChainEntry Decoded(const EntryWithSig& e) {
    auto d = crypto::DecodeEntry(e.entry);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? *d : crypto::ChainEntry{};
  }
  // `e` re-encoded and signed by `signer` (a validly signed entry with other content).
  static EntryWithSig Resigned(const crypto::ChainEntry& e, const crypto::NodeIdentity& signer) {
    return {crypto::EncodeEntry(e), crypto::SignHead(signer.sign_sk, e.session, e.seq,
                                                     crypto::EntryHash(e))};
  }

  static std::vector<uint64_t> MediaSeqs(const std::vector<EntryWithSig>& chain) {
    std::vector<uint64_t> out;
    for (const auto& e : chain) {
      auto d = Decoded(e);
      if (d.kind == EntryKind::kInit || d.kind == EntryKind::kSegment) out.push_back(d.seq);
    }
    return out;
  }

  SessionAck Accept(const Entries& m, ReplicaWriter* w = nullptr, const EnrolledNode* p = nullptr) {
    auto ack = (w ? w : writer_.get())->Accept(p ? *p : peer_, m);
    EXPECT_TRUE(ack.ok()) << ack.status().ToString();
    if (!ack.ok()) return {};
    EXPECT_EQ(ack->session, m.session);
    return *ack;
  }

  std::vector<node::WantedBlob> Wanted(node::Store* store = nullptr) {
    auto w = (store ? store : province_.get())
                 ->catalog()
                 ->ListWanted(peer_.pub.transport_pk, 1000, std::nullopt);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return w.ok() ? *w : std::vector<node::WantedBlob>{};
  }

  // The province's stored chain of `id` (empty when absent).
  std::vector<std::pair<uint64_t, node::ChainRecord>> Stored(const crypto::SessionId& id,
                                                             node::Store* store = nullptr) {
    auto c = (store ? store : province_.get())->catalog()->GetChain(id);
    EXPECT_TRUE(c.ok() || c.status().IsNotFound()) << c.status().ToString();
    return c.ok() ? *c : std::vector<std::pair<uint64_t, node::ChainRecord>>{};
  }

  bool SessionAbsent(const crypto::SessionId& id) {
    auto s = province_->catalog()->GetSession(id);
    return !s.ok() && s.status().IsNotFound() && Stored(id).empty();
  }

  Bytes RecorderBlob(const crypto::Hash256& h) {
    auto b = recorder_->blobs()->Get(h);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return b.ok() ? *b : Bytes{};
  }

  void StoreAllBlobs(ReplicaWriter* w = nullptr, node::Store* store = nullptr) {
    for (const auto& want : Wanted(store)) {
      Status s = (w ? w : writer_.get())->StoreBlob(want, RecorderBlob(want.hash));
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
  }

  static void ExpectSameRecord(const node::SessionRecord& a, const node::SessionRecord& b) {
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(node::SessionStateName(a.state), node::SessionStateName(b.state));
    EXPECT_EQ(a.start_us, b.start_us);
    EXPECT_EQ(a.end_us, b.end_us);
    EXPECT_EQ(a.next_seq, b.next_seq);
    EXPECT_EQ(a.segments, b.segments);
    EXPECT_EQ(a.media_duration_us, b.media_duration_us);
    EXPECT_EQ(a.gaps, b.gaps);
    EXPECT_EQ(a.head_hash, b.head_hash);
    EXPECT_EQ(a.point, b.point);
  }

  std::string root_;
  std::mt19937_64 rng_{20260101};
  crypto::NodeIdentity recorder_id_ = crypto::GenerateNodeIdentity();
  crypto::NodeIdentity other_id_ = crypto::GenerateNodeIdentity();
  crypto::ArchiveKeyPair archive_ = crypto::GenerateArchiveKey();
  std::unique_ptr<node::Store> recorder_, province_, central_;
  EnrolledNode peer_;
  std::unique_ptr<ReplicaWriter> writer_;
};

TEST_F(ReplicaWriterTest, StoresAWholeSessionThenItsBlobs) {
  const crypto::SessionId id = Record(recorder_id_);
  const auto chain = Chain(id);
  ASSERT_EQ(chain.size(), 8u);  // open init seg gap seg seg seg seal
  const std::vector<uint64_t> media = MediaSeqs(chain);
  ASSERT_EQ(media, (std::vector<uint64_t>{1, 2, 4, 5, 6}));

  SessionAck ack = Accept(Msg(id, chain));
  EXPECT_EQ(ack.result, AckResult::kOk) << ack.detail;
  EXPECT_EQ(ack.stored, chain.size());
  EXPECT_EQ(ack.held, media.front());  // blobs not there yet
  EXPECT_EQ(ack.central_held, 0u);

  // The chain is stored exactly as sent.
  auto stored = Stored(id);
  ASSERT_EQ(stored.size(), chain.size());
  for (size_t i = 0; i < chain.size(); ++i) {
    EXPECT_EQ(stored[i].first, i);
    EXPECT_EQ(stored[i].second.entry, chain[i].entry) << "seq " << i;
    EXPECT_EQ(stored[i].second.signature, chain[i].sig) << "seq " << i;
  }
  auto repl = province_->catalog()->GetRepl(id);
  ASSERT_TRUE(repl.ok()) << repl.status().ToString();
  EXPECT_EQ(repl->from_peer, peer_.pub.transport_pk);

  // Every media blob is wanted, in seq order, with its signed hash and size.
  auto wanted = Wanted();
  ASSERT_EQ(wanted.size(), media.size());
  for (size_t i = 0; i < wanted.size(); ++i) {
    const crypto::ChainEntry e = Decoded(chain[media[i]]);
    EXPECT_EQ(wanted[i].peer, peer_.pub.transport_pk);
    EXPECT_EQ(wanted[i].session, id);
    EXPECT_EQ(wanted[i].seq, media[i]);
    EXPECT_EQ(wanted[i].hash, e.cipher_hash);
    EXPECT_EQ(wanted[i].size, e.cipher_size);
    EXPECT_FALSE(province_->blobs()->Exists(e.cipher_hash));
  }
  // Without its blobs the session does not verify yet.
  auto early = node::VerifySession(province_.get(), id);
  ASSERT_TRUE(early.ok()) << early.status().ToString();
  EXPECT_FALSE(early->ok);
  EXPECT_EQ(early->problem, node::Problem::kMissingSegment);
  EXPECT_EQ(early->bad_seq, media.front());

  // Blobs arrive one by one: held advances to the next missing one, then to stored.
  for (size_t i = 0; i < wanted.size(); ++i) {
    Status s = writer_->StoreBlob(wanted[i], RecorderBlob(wanted[i].hash));
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_TRUE(province_->blobs()->Exists(wanted[i].hash));
    auto a = writer_->AckFor(id);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    EXPECT_EQ(a->result, AckResult::kOk);
    EXPECT_EQ(a->stored, chain.size());
    EXPECT_EQ(a->held, i + 1 < media.size() ? media[i + 1] : chain.size());
  }
  EXPECT_TRUE(Wanted().empty());

  auto report = node::VerifySession(province_.get(), id);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->ok) << report->detail;
  EXPECT_TRUE(report->sealed);
  EXPECT_EQ(report->entries, chain.size());
  EXPECT_EQ(report->segments, 4u);
  EXPECT_EQ(report->gaps, 1u);
  EXPECT_EQ(report->signer_pk, recorder_id_.pub.sign_pk);

  auto mine = recorder_->catalog()->GetSession(id);
  auto theirs = province_->catalog()->GetSession(id);
  ASSERT_TRUE(mine.ok() && theirs.ok());
  EXPECT_EQ(theirs->state, node::SessionState::kSealed);
  EXPECT_EQ(theirs->segments, 4u);
  ExpectSameRecord(*theirs, *mine);
}

TEST_F(ReplicaWriterTest, ReplaysAreHarmless) {
  const crypto::SessionId id = Record(recorder_id_);
  const auto chain = Chain(id);
  const SessionAck first = Accept(Msg(id, chain));
  ASSERT_EQ(first.result, AckResult::kOk) << first.detail;
  const size_t wanted = Wanted().size();

  // The same message again: same ack, nothing duplicated.
  SessionAck again = Accept(Msg(id, chain));
  EXPECT_EQ(again.result, AckResult::kOk) << again.detail;
  EXPECT_EQ(again.stored, first.stored);
  EXPECT_EQ(again.held, first.held);
  EXPECT_EQ(again.central_held, first.central_held);
  EXPECT_EQ(Stored(id).size(), chain.size());
  EXPECT_EQ(Wanted().size(), wanted);
  EXPECT_EQ(province_->catalog()->ListSessions()->size(), 1u);

  // A replay of a middle part, too.
  again = Accept(Msg(id, chain, 2, 5));
  EXPECT_EQ(again.result, AckResult::kOk) << again.detail;
  EXPECT_EQ(again.stored, first.stored);
  EXPECT_EQ(Wanted().size(), wanted);

  // After the blobs arrived a replay does not make them wanted again.
  StoreAllBlobs();
  again = Accept(Msg(id, chain));
  EXPECT_EQ(again.result, AckResult::kOk) << again.detail;
  EXPECT_EQ(again.stored, chain.size());
  EXPECT_EQ(again.held, chain.size());
  EXPECT_TRUE(Wanted().empty());
  auto report = node::VerifySession(province_.get(), id);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << report->detail;
}

TEST_F(ReplicaWriterTest, OverlappingMessageStoresOnlyTheNewEntries) {
  const crypto::SessionId id = Record(recorder_id_);
  const auto chain = Chain(id);
  EXPECT_EQ(Accept(Msg(id, chain, 0, 3)).stored, 3u);
  SessionAck ack = Accept(Msg(id, chain, 1, chain.size()));
  EXPECT_EQ(ack.result, AckResult::kOk) << ack.detail;
  EXPECT_EQ(ack.stored, chain.size());
  EXPECT_EQ(Stored(id).size(), chain.size());
  EXPECT_EQ(Wanted().size(), MediaSeqs(chain).size());
}

TEST_F(ReplicaWriterTest, ForgedSignatureIsRejectedAndNothingOfTheMessageStored) {
  const crypto::SessionId id = Record(recorder_id_);
  const auto chain = Chain(id);

  // On the open entry of a first message.
  auto forged = chain;
  forged[0].sig[10] ^= 0x01;
  SessionAck ack = Accept(Msg(id, forged));
  EXPECT_EQ(ack.result, AckResult::kRejected);
  EXPECT_TRUE(Contains(ack.detail, "seq 0")) << ack.detail;
  EXPECT_TRUE(Contains(ack.detail, "bad-signature")) << ack.detail;
  EXPECT_EQ(ack.stored, 0u);
  EXPECT_TRUE(SessionAbsent(id));
  EXPECT_TRUE(Wanted().empty());

  // On a later entry of a first message: the entries before it are not stored either.
  forged = chain;
  forged[5].sig[63] ^= 0x80;
  ack = Accept(Msg(id, forged));
  EXPECT_EQ(ack.result, AckResult::kRejected);
  EXPECT_TRUE(Contains(ack.detail, "seq 5")) << ack.detail;
  EXPECT_TRUE(Contains(ack.detail, "bad-signature")) << ack.detail;
  EXPECT_EQ(ack.stored, 0u);
  EXPECT_TRUE(SessionAbsent(id));
  EXPECT_TRUE(Wanted().empty());
  EXPECT_TRUE(province_->catalog()->ListSessions()->empty());

  // On a later message: the stored part stays as it was.
  ASSERT_EQ(Accept(Msg(id, chain, 0, 4)).stored, 4u);
  const size_t wanted = Wanted().size();
  ack = Accept(Msg(id, forged, 4, chain.size()));
  EXPECT_EQ(ack.result, AckResult::kRejected);
  EXPECT_TRUE(Contains(ack.detail, "seq 5")) << ack.detail;
  EXPECT_TRUE(Contains(ack.detail, "bad-signature")) << ack.detail;
  EXPECT_EQ(ack.stored, 4u);
  EXPECT_EQ(Stored(id).size(), 4u);
  EXPECT_EQ(province_->catalog()->GetSession(id)->next_seq, 4u);
  EXPECT_EQ(Wanted().size(), wanted);

  // The genuine entries are still accepted afterwards.
  ack = Accept(Msg(id, chain, 4, chain.size()));
  EXPECT_EQ(ack.result, AckResult::kOk) << ack.detail;
  EXPECT_EQ(ack.stored, chain.size());
}

TEST_F(ReplicaWriterTest, BrokenLinkIsRejected) {
  const crypto::SessionId id = Record(recorder_id_);
  const auto chain = Chain(id);
  ASSERT_EQ(Accept(Msg(id, chain, 0, 3)).stored, 3u);

  // Entry 3 validly signed by the recorder's key, but linked to something else.
  crypto::ChainEntry e = Decoded(chain[3]);
  e.prev_hash[0] ^= 0x01;
  auto bad = chain;
  bad[3] = Resigned(e, recorder_id_);
  SessionAck ack = Accept(Msg(id, bad, 3, bad.size()));
  EXPECT_EQ(ack.result, AckResult::kRejected);
  EXPECT_TRUE(Contains(ack.detail, "seq 3")) << ack.detail;
  EXPECT_TRUE(Contains(ack.detail, "broken-link")) << ack.detail;
  EXPECT_EQ(ack.stored, 3u);
  EXPECT_EQ(Stored(id).size(), 3u);

  // Within one first message too.
  const crypto::SessionId id2 = Record(recorder_id_);
  auto chain2 = Chain(id2);
  crypto::ChainEntry e2 = Decoded(chain2[2]);
  e2.prev_hash = crypto::Hash256{};
  chain2[2] = Resigned(e2, recorder_id_);
  ack = Accept(Msg(id2, chain2));
  EXPECT_EQ(ack.result, AckResult::kRejected);
  EXPECT_TRUE(Contains(ack.detail, "seq 2")) << ack.detail;
  EXPECT_TRUE(Contains(ack.detail, "broken-link")) << ack.detail;
  EXPECT_TRUE(SessionAbsent(id2));
}

TEST_F(ReplicaWriterTest, TamperedFieldWithTheOldSignatureIsBadSignature) {
  const crypto::SessionId id = Record(recorder_id_);
  const auto chain = Chain(id);
  auto bad = chain;
  crypto::ChainEntry e = Decoded(chain[2]);
  ASSERT_EQ(e.kind, EntryKind::kSegment);
  e.duration_us += 60'000'000;  // "the segment was a minute longer"
  bad[2].entry = crypto::EncodeEntry(e);
  SessionAck ack = Accept(Msg(id, bad));
  EXPECT_EQ(ack.result, AckResult::kRejected);
  EXPECT_TRUE(Contains(ack.detail, "seq 2")) << ack.detail;
  EXPECT_TRUE(Contains(ack.detail, "bad-signature")) << ack.detail;
  EXPECT_TRUE(SessionAbsent(id));
  EXPECT_TRUE(Wanted().empty());
}

TEST_F(ReplicaWriterTest, UndecodableEntryIsBadEntry) {
  const crypto::SessionId id = Record(recorder_id_);
  auto chain = Chain(id);
  chain[1].entry.resize(chain[1].entry.size() / 2);
  SessionAck ack = Accept(Msg(id, chain));
  EXPECT_EQ(ack.result, AckResult::kRejected);
  EXPECT_TRUE(Contains(ack.detail, "seq 1")) << ack.detail;
  EXPECT_TRUE(Contains(ack.detail, "bad-entry")) << ack.detail;
  EXPECT_TRUE(SessionAbsent(id));
}

TEST_F(ReplicaWriterTest, EntryKindOutOfPlaceOrOversizedBlobIsBadEntry) {
  const crypto::SessionId id = Record(recorder_id_);
  const auto chain = Chain(id);

  // A segment where the open entry belongs.
  crypto::ChainEntry e = Decoded(chain[0]);
  e.kind = EntryKind::kSegment;
  auto bad = chain;
  bad[0] = Resigned(e, recorder_id_);
  SessionAck ack = Accept(Msg(id, bad));
  EXPECT_EQ(ack.result, AckResult::kRejected);
  EXPECT_TRUE(Contains(ack.detail, "seq 0")) << ack.detail;
  EXPECT_TRUE(Contains(ack.detail, "bad-entry")) << ack.detail;
  EXPECT_TRUE(SessionAbsent(id));

  // A second open entry, validly signed and linked.
  ASSERT_EQ(Accept(Msg(id, chain, 0, 2)).stored, 2u);
  e = Decoded(chain[0]);
  e.seq = 2;
  e.prev_hash = Decoded(chain[2]).prev_hash;
  bad = chain;
  bad[2] = Resigned(e, recorder_id_);
  ack = Accept(Msg(id, bad, 2, bad.size()));
  EXPECT_EQ(ack.result, AckResult::kRejected);
  EXPECT_TRUE(Contains(ack.detail, "seq 2")) << ack.detail;
  EXPECT_TRUE(Contains(ack.detail, "bad-entry")) << ack.detail;
  EXPECT_EQ(Stored(id).size(), 2u);

  // A segment claiming a blob over the limit (validly signed: the signer's own mistake).
  e = Decoded(chain[2]);
  ASSERT_EQ(e.kind, EntryKind::kSegment);
  e.cipher_size = kMaxBlobBytes + 1;
  bad = chain;
  bad[2] = Resigned(e, recorder_id_);
  ack = Accept(Msg(id, bad, 2, bad.size()));
  EXPECT_EQ(ack.result, AckResult::kRejected);
  EXPECT_TRUE(Contains(ack.detail, "seq 2")) << ack.detail;
  EXPECT_TRUE(Contains(ack.detail, "bad-entry")) << ack.detail;
  EXPECT_EQ(Stored(id).size(), 2u);
  EXPECT_EQ(Wanted().size(), 1u);  // the init's blob only
}

TEST_F(ReplicaWriterTest, ProvinceRefusesAnotherNodesContinuationOfASession) {
  // The header: at a province the signer must be the *sending* node's enrolled key. A second
  // enrolled recorder relaying (genuine) later entries of the first one's session is a sender
  // whose key is not the session's signer.
  const crypto::SessionId id = Record(recorder_id_);
  const auto chain = Chain(id);
  ASSERT_EQ(Accept(Msg(id, chain, 0, 3)).stored, 3u);
  EnrolledNode other;
  other.point = "xb-02";
  other.pub = other_id_.pub;
  other.enrolled_us = 1;
  SessionAck ack = Accept(Msg(id, chain, 3, chain.size()), nullptr, &other);
  EXPECT_EQ(ack.result, AckResult::kRejected);
  EXPECT_TRUE(Contains(ack.detail, "foreign-signer")) << ack.detail;
  EXPECT_EQ(Stored(id).size(), 3u);
}

TEST_F(ReplicaWriterTest, EntryOfAnotherSessionIsRejected) {
  const crypto::SessionId a = Record(recorder_id_);
  const crypto::SessionId b = Record(recorder_id_);
  const auto chain_a = Chain(a), chain_b = Chain(b);

  // All of b's entries under a's id.
  SessionAck ack = Accept(Msg(a, chain_b));
  EXPECT_EQ(ack.result, AckResult::kRejected);
  EXPECT_TRUE(Contains(ack.detail, "seq 0")) << ack.detail;
  EXPECT_TRUE(Contains(ack.detail, crypto::SessionIdToString(b))) << ack.detail;
  EXPECT_TRUE(SessionAbsent(a));
  EXPECT_TRUE(SessionAbsent(b));

  // One of b's entries spliced into a's chain at the same place.
  ASSERT_EQ(Accept(Msg(a, chain_a, 0, 3)).stored, 3u);
  auto mixed = chain_a;
  mixed[3] = chain_b[3];
  ack = Accept(Msg(a, mixed, 3, mixed.size()));
  EXPECT_EQ(ack.result, AckResult::kRejected);
  EXPECT_TRUE(Contains(ack.detail, "seq 3")) << ack.detail;
  EXPECT_EQ(ack.stored, 3u);
  EXPECT_EQ(Stored(a).size(), 3u);
  EXPECT_TRUE(SessionAbsent(b));
}

TEST_F(ReplicaWriterTest, ForeignSignerIsRefusedByAProvinceButNotByTheCentral) {
  // A session signed by a key other than the sending node's enrolled one.
  const crypto::SessionId id = Record(other_id_);
  const auto chain = Chain(id);
  SessionAck ack = Accept(Msg(id, chain));
  EXPECT_EQ(ack.result, AckResult::kRejected);
  EXPECT_TRUE(Contains(ack.detail, "seq 0")) << ack.detail;
  EXPECT_TRUE(Contains(ack.detail, "foreign-signer")) << ack.detail;
  EXPECT_TRUE(Contains(ack.detail, crypto::KeyId(other_id_.pub.sign_pk))) << ack.detail;
  EXPECT_TRUE(SessionAbsent(id));
  EXPECT_TRUE(Wanted().empty());

  // The central archive receives sessions relayed by provinces: any signer, as long as the
  // chain verifies with it.
  central_ = OpenStore("central", /*outbox=*/false);
  ASSERT_TRUE(central_);
  ReplicaWriter central(central_.get(), Role::kCentral);
  ack = Accept(Msg(id, chain), &central);
  EXPECT_EQ(ack.result, AckResult::kOk) << ack.detail;
  EXPECT_EQ(ack.stored, chain.size());
  EXPECT_EQ(ack.held, 1u);
  EXPECT_EQ(ack.central_held, ack.held);  // the central's own holding
  StoreAllBlobs(&central, central_.get());
  auto a = central.AckFor(id);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->held, chain.size());
  EXPECT_EQ(a->central_held, chain.size());
  auto report = node::VerifySession(central_.get(), id);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << report->detail;
  EXPECT_EQ(report->signer_pk, other_id_.pub.sign_pk);

  // Even at the central archive a forged head is refused.
  const crypto::SessionId id2 = Record(other_id_);
  auto forged = Chain(id2);
  forged[3].sig[0] ^= 0x01;
  ack = Accept(Msg(id2, forged), &central);
  EXPECT_EQ(ack.result, AckResult::kRejected);
  EXPECT_TRUE(Contains(ack.detail, "seq 3")) << ack.detail;
  EXPECT_TRUE(Contains(ack.detail, "bad-signature")) << ack.detail;
}

TEST_F(ReplicaWriterTest, ForkIsRejectedAndTheStoredEntryKept) {
  const crypto::SessionId id = Record(recorder_id_);
  const auto chain = Chain(id);
  ASSERT_EQ(Accept(Msg(id, chain)).stored, chain.size());

  // A validly signed, correctly linked alternative entry 4 (the signer's own key: a recorder
  // rewriting history after the fact).
  crypto::ChainEntry e = Decoded(chain[4]);
  ASSERT_EQ(e.kind, EntryKind::kSegment);
  e.duration_us += 1;
  auto forked = chain;
  forked[4] = Resigned(e, recorder_id_);
  SessionAck ack = Accept(Msg(id, forked, 4, 5));
  EXPECT_EQ(ack.result, AckResult::kRejected);
  EXPECT_TRUE(Contains(ack.detail, "seq 4")) << ack.detail;
  EXPECT_TRUE(Contains(ack.detail, "fork")) << ack.detail;
  EXPECT_EQ(ack.stored, chain.size());

  // Also when preceded by identical replays.
  ack = Accept(Msg(id, forked, 2, 6));
  EXPECT_EQ(ack.result, AckResult::kRejected);
  EXPECT_TRUE(Contains(ack.detail, "seq 4")) << ack.detail;
  EXPECT_TRUE(Contains(ack.detail, "fork")) << ack.detail;

  auto kept = province_->catalog()->GetChainEntry(id, 4);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->entry, chain[4].entry);
  EXPECT_EQ(kept->signature, chain[4].sig);
  EXPECT_EQ(Stored(id).size(), chain.size());
  ExpectSameRecord(*province_->catalog()->GetSession(id), *recorder_->catalog()->GetSession(id));
}

TEST_F(ReplicaWriterTest, EntriesBeyondTheStoredHeadAreNotStored) {
  const crypto::SessionId id = Record(recorder_id_);
  const auto chain = Chain(id);

  // A session the province does not have at all: resume at 0.
  SessionAck ack = Accept(Msg(id, chain, 3, chain.size()));
  EXPECT_NE(ack.result, AckResult::kRejected) << ack.detail;
  EXPECT_EQ(ack.stored, 0u);
  EXPECT_TRUE(SessionAbsent(id));
  EXPECT_TRUE(Wanted().empty());

  // Entries 0..2 stored, 5.. sent: resume at 3.
  ASSERT_EQ(Accept(Msg(id, chain, 0, 3)).stored, 3u);
  const size_t wanted = Wanted().size();
  ack = Accept(Msg(id, chain, 5, chain.size()));
  EXPECT_EQ(ack.result, AckResult::kOk) << ack.detail;
  EXPECT_EQ(ack.stored, 3u);
  EXPECT_EQ(Stored(id).size(), 3u);
  EXPECT_EQ(province_->catalog()->GetSession(id)->next_seq, 3u);
  EXPECT_EQ(Wanted().size(), wanted);

  // Resuming where the ack said completes the session.
  ack = Accept(Msg(id, chain, ack.stored, chain.size()));
  EXPECT_EQ(ack.result, AckResult::kOk) << ack.detail;
  EXPECT_EQ(ack.stored, chain.size());
}

TEST_F(ReplicaWriterTest, WrongBlobBytesAreCorruptionAndTheBlobStaysWanted) {
  const crypto::SessionId id = Record(recorder_id_);
  const auto chain = Chain(id);
  ASSERT_EQ(Accept(Msg(id, chain)).stored, chain.size());
  auto wanted = Wanted();
  ASSERT_GE(wanted.size(), 2u);
  const node::WantedBlob w = wanted[1];  // the first segment
  const Bytes good = RecorderBlob(w.hash);
  const std::string where = "session " + crypto::SessionIdToString(id) + " seq " +
                            std::to_string(w.seq);

  Bytes flipped = good;
  flipped[flipped.size() / 2] ^= 0x04;
  Bytes shorter(good.begin(), good.end() - 1);
  Bytes longer = good;
  longer.push_back(0);
  for (const Bytes* bad : {&flipped, &shorter, &longer}) {
    Status s = writer_->StoreBlob(w, *bad);
    EXPECT_TRUE(s.IsCorruption()) << s.ToString();
    EXPECT_TRUE(Contains(s.message(), where)) << s.message();
    EXPECT_FALSE(province_->blobs()->Exists(w.hash));
    EXPECT_FALSE(province_->blobs()->Exists(crypto::Blake2b256(*bad)));
  }
  // Another entry's blob in its place (right format, wrong content).
  const Bytes other = RecorderBlob(wanted[2].hash);
  Status s = writer_->StoreBlob(w, other);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_FALSE(province_->blobs()->Exists(w.hash));

  auto still = Wanted();
  ASSERT_EQ(still.size(), wanted.size());
  EXPECT_EQ(still[1].seq, w.seq);
  EXPECT_EQ(still[1].hash, w.hash);
  auto ack = writer_->AckFor(id);
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(ack->held, wanted[0].seq);

  // The right bytes are then accepted.
  s = writer_->StoreBlob(w, good);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(province_->blobs()->Exists(w.hash));
  EXPECT_EQ(Wanted().size(), wanted.size() - 1);
}

TEST_F(ReplicaWriterTest, EntriesSplitOverSeveralMessagesAreAllAccepted) {
  const crypto::SessionId id = Record(recorder_id_, /*more=*/8);
  const auto chain = Chain(id);
  ASSERT_EQ(chain.size(), 13u);
  const std::vector<size_t> cuts = {1, 2, 5, 6, 10, chain.size()};
  size_t from = 0;
  for (size_t to : cuts) {
    SessionAck ack = Accept(Msg(id, chain, from, to));
    EXPECT_EQ(ack.result, AckResult::kOk) << ack.detail;
    EXPECT_EQ(ack.stored, to);
    EXPECT_EQ(ack.held, 1u);  // the init blob (seq 1) is missing
    from = to;
  }
  EXPECT_EQ(Stored(id).size(), chain.size());
  EXPECT_EQ(Wanted().size(), MediaSeqs(chain).size());
  StoreAllBlobs();
  auto ack = writer_->AckFor(id);
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(ack->held, chain.size());
  auto report = node::VerifySession(province_.get(), id);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << report->detail;
  ExpectSameRecord(*province_->catalog()->GetSession(id), *recorder_->catalog()->GetSession(id));
}

TEST_F(ReplicaWriterTest, AckForAnUnknownSessionIsUnknown) {
  auto ack = writer_->AckFor(crypto::NewSessionId());
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(ack->result, AckResult::kUnknown);
  EXPECT_EQ(ack->stored, 0u);
  EXPECT_EQ(ack->held, 0u);
}

}  // namespace
}  // namespace tcd::replicate
