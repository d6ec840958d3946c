// Receiver: the transfer of sealed sessions to an in-process province receiver — HELLO and
// WELCOME, ENTRIES then FETCHes until every blob is held, resuming after a reconnect. The
// fixture (receiver_test_fixture.h) drives it with a hand-written DEALER client speaking the
// wire protocol; refused frames, corrupt chunks, dead peers and unenrolled or revoked keys are
// in receiver_fault_test.cc.
#include <map>
#include <optional>
#include <thread>

#include <gtest/gtest.h>

#include "crypto/chain.h"
#include "replicate/receiver_test_fixture.h"

namespace tcd::replicate {
namespace {

TEST_F(ReceiverTest, HelloIsAnsweredWithWelcome) {
  StartReceiver(32 * 1024);
  TestClient& c = Connect(client_id_);
  auto w = Greet(c);
  ASSERT_TRUE(w) << "no WELCOME";
  EXPECT_EQ(w->role, Role::kProvince);
  EXPECT_EQ(w->max_chunk, 32u * 1024);
  EXPECT_GE(w->window, 1u);
}

TEST_F(ReceiverTest, EntriesThenFetchesUntilTheSessionIsHeld) {
  StartReceiver(4096);  // several chunks per segment
  const crypto::SessionId id = Record(client_id_, /*more=*/3, /*seg_bytes=*/10000);
  const Entries msg = Msg(id);
  const uint64_t n = msg.entries.size();
  std::map<crypto::Hash256, uint64_t> sizes;  // the media blobs of the session
  for (const auto& e : msg.entries) {
    auto d = crypto::DecodeEntry(e.entry);
    ASSERT_TRUE(d.ok());
    if (d->kind == crypto::EntryKind::kInit || d->kind == crypto::EntryKind::kSegment)
      sizes[d->cipher_hash] = d->cipher_size;
  }
  ASSERT_EQ(sizes.size(), 5u);

  TestClient& c = Connect(client_id_);
  auto w = Greet(c);
  ASSERT_TRUE(w);
  ASSERT_TRUE(c.Send(msg));
  std::vector<Message> early;
  auto ack = c.WaitFor<SessionAck>(kWaitMs, &early);
  ASSERT_TRUE(ack) << "no SESSION_ACK";
  EXPECT_EQ(ack->result, AckResult::kOk) << ack->detail;
  EXPECT_EQ(ack->stored, n);
  EXPECT_EQ(ack->held, 1u);  // the init blob is missing
  EXPECT_EQ(ack->central_held, 0u);
  EXPECT_TRUE(early.empty());  // no FETCH before the entries were stored

  std::map<crypto::Hash256, uint64_t> next_offset;  // per blob: where the next FETCH should be
  size_t fetches = 0;
  bool held = ServeUntilHeld(c, id, n, [&](const Fetch& f) {
    ++fetches;
    ASSERT_TRUE(sizes.count(f.blob)) << "FETCH of a blob the session does not have";
    EXPECT_LE(f.length, w->max_chunk);
    EXPECT_EQ(f.offset, next_offset[f.blob]) << "FETCHes of a blob should be consecutive";
    next_offset[f.blob] = f.offset + f.length;
  });
  ASSERT_TRUE(held) << "no SESSION_ACK with held == stored";
  for (const auto& [h, size] : sizes) {
    EXPECT_EQ(next_offset[h], size) << ToHex(h);
    EXPECT_TRUE(province_->blobs()->Exists(h));
    EXPECT_FALSE(Env::Default()->FileExists(PartPath(h)));
  }
  EXPECT_GE(fetches, 5u + 4u * 2);
  ExpectVerifies(id);
  auto wanted = province_->catalog()->ListWanted(client_id_.pub.transport_pk, 10, std::nullopt);
  ASSERT_TRUE(wanted.ok());
  EXPECT_TRUE(wanted->empty());

  // QUERY now reports the session held.
  ASSERT_TRUE(c.Send(Query{id}));
  auto q = c.WaitFor<SessionAck>(kWaitMs);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->result, AckResult::kOk);
  EXPECT_EQ(q->stored, n);
  EXPECT_EQ(q->held, n);
  ASSERT_TRUE(c.Send(Query{crypto::NewSessionId()}));
  q = c.WaitFor<SessionAck>(kWaitMs);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->result, AckResult::kUnknown);
}

TEST_F(ReceiverTest, ReconnectResumesAtTheBytesAlreadyReceived) {
  StartReceiver(4096);
  const crypto::SessionId id = Record(client_id_, /*more=*/0, /*seg_bytes=*/64 * 1024);
  const Entries msg = Msg(id);
  const uint64_t n = msg.entries.size();
  auto seg = crypto::DecodeEntry(msg.entries[2].entry);
  ASSERT_TRUE(seg.ok());
  ASSERT_EQ(seg->kind, crypto::EntryKind::kSegment);
  const crypto::Hash256 target = seg->cipher_hash;
  const uint64_t size = seg->cipher_size;
  const uint64_t half = size / 2;

  TestClient* c = &Connect(client_id_);
  ASSERT_TRUE(Greet(*c));
  ASSERT_TRUE(c->Send(msg));
  ASSERT_TRUE(c->WaitFor<SessionAck>(kWaitMs));

  // Answer the segment's FETCHes below half its size (and every other FETCH); stop at the
  // first FETCH at or beyond half.
  uint64_t received = 0;
  bool stopped = false;
  const auto deadline = Clock::now() + milliseconds(kWaitMs);
  while (!stopped && Clock::now() < deadline) {
    auto m = c->Next(100);
    if (!m) continue;
    auto* f = std::get_if<Fetch>(&*m);
    if (!f) continue;
    if (f->blob != target) {
      ASSERT_TRUE(c->Send(Answer(*f)));
    } else if (f->offset < half) {
      ASSERT_EQ(f->offset, received);
      ASSERT_TRUE(c->Send(Answer(*f)));
      received = f->offset + f->length;
    } else {
      stopped = true;
    }
  }
  ASSERT_TRUE(stopped) << "never asked for the second half";
  ASSERT_GT(received, 0u);
  ASSERT_LT(received, size);
  // Wait until the receiver wrote what it was sent, then go away.
  const auto wrote = Clock::now() + milliseconds(kWaitMs);
  while (Clock::now() < wrote) {
    auto s = Env::Default()->FileSize(PartPath(target));
    if (s.ok() && *s == received) break;
    std::this_thread::sleep_for(milliseconds(20));
  }
  auto part = Env::Default()->FileSize(PartPath(target));
  ASSERT_TRUE(part.ok()) << part.status().ToString();
  ASSERT_EQ(*part, received);
  Disconnect(*c);

  // A new connection: the segment's FETCHes start where the last one left off.
  c = &Connect(client_id_);
  ASSERT_TRUE(Greet(*c));
  std::optional<uint64_t> first;
  bool held = ServeUntilHeld(*c, id, n, [&](const Fetch& f) {
    if (f.blob != target) return;
    if (!first) first = f.offset;
    EXPECT_GE(f.offset, received) << "bytes already received were asked for again";
  });
  ASSERT_TRUE(first) << "no FETCH for the segment after the reconnect";
  EXPECT_GT(*first, 0u);
  EXPECT_EQ(*first, received);
  ASSERT_TRUE(held) << "no SESSION_ACK with held == stored";
  EXPECT_FALSE(Env::Default()->FileExists(PartPath(target)));
  ExpectVerifies(id);
}

}  // namespace
}  // namespace tcd::replicate
