// ReplicaWriter: what it refuses — forged signatures, broken links, tampered or undecodable
// entries, foreign signers and sessions, forks, wrong blob bytes — and that a refusal stores
// nothing of the message and keeps what was stored. The fixture is in
// replica_writer_test_fixture.h; the accepted paths are in replica_writer_test.cc.
#include <string>

#include <gtest/gtest.h>

#include "crypto/chain.h"
#include "crypto/keys.h"
#include "node/verifier.h"
#include "replicate/replica_writer_test_fixture.h"

namespace tcd::replicate {
namespace {

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

}  // namespace
}  // namespace tcd::replicate
