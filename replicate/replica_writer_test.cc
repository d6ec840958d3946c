// ReplicaWriter: what a province stores of the entries and blobs a downstream node sends —
// whole sessions, replays, overlapping and split messages, entries beyond the stored head. The
// fixture (replica_writer_test_fixture.h) records real sessions in a "recorder" store and feeds
// them as ENTRIES messages; what the writer refuses is in replica_writer_refusal_test.cc.
#include <vector>

#include <gtest/gtest.h>

#include "node/verifier.h"
#include "replicate/replica_writer_test_fixture.h"

namespace tcd::replicate {
namespace {

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
