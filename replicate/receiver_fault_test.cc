// Receiver: what it refuses and what it survives — messages before HELLO, malformed frames, a
// corrupt chunk, peers gone before the answer, unenrolled and revoked keys — while it keeps
// serving the enrolled client. The fixture is in receiver_test_fixture.h; the normal transfer
// is in receiver_test.cc.
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "replicate/receiver_test_fixture.h"

namespace tcd::replicate {
namespace {

// Lowers the log level for a noisy stretch (hundreds of refused frames), restores it after.
class QuietLogs {
 public:
  QuietLogs() : level_(spdlog::get_level()) { spdlog::set_level(spdlog::level::err); }
  ~QuietLogs() { spdlog::set_level(level_); }

 private:
  spdlog::level::level_enum level_;
};

TEST_F(ReceiverTest, MessageBeforeHelloIsNotWelcome) {
  StartReceiver();
  const crypto::SessionId id = Record(client_id_);
  TestClient& c = Connect(client_id_);
  ASSERT_TRUE(c.Send(Query{id}));
  auto e = c.WaitFor<replicate::Error>(kWaitMs);
  ASSERT_TRUE(e) << "no ERROR";
  EXPECT_EQ(e->code, ErrorCode::kNotWelcome) << e->message;
  ASSERT_TRUE(c.Send(Msg(id)));
  e = c.WaitFor<replicate::Error>(kWaitMs);
  ASSERT_TRUE(e) << "no ERROR";
  EXPECT_EQ(e->code, ErrorCode::kNotWelcome) << e->message;
  EXPECT_TRUE(ProvinceSessions().empty());
  // HELLO then works.
  ASSERT_TRUE(Greet(c));
}

TEST_F(ReceiverTest, MalformedFramesAreRefusedAndTheReceiverKeepsWorking) {
  StartReceiver();
  const crypto::SessionId bad_session = Record(client_id_);
  const crypto::SessionId good_session = Record(client_id_);
  TestClient& c = Connect(client_id_);
  ASSERT_TRUE(Greet(c));

  int sent = 0;
  // Sends `frame` (which Decode refuses) and expects an ERROR for it, and nothing else.
  auto expect_error = [&](const Bytes& frame, std::optional<ErrorCode> code,
                          const std::string& what) {
    ASSERT_FALSE(Decode(frame).ok()) << what << ": the frame is valid";
    ASSERT_TRUE(c.SendRaw(frame)) << what;
    ++sent;
    std::vector<Message> others;
    auto e = c.WaitFor<replicate::Error>(kWaitMs, &others);
    ASSERT_TRUE(e) << what << ": no ERROR";
    EXPECT_TRUE(others.empty()) << what << ": " << MsgTypeName(TypeOf(others[0]));
    if (code) {
      EXPECT_EQ(e->code, *code) << what << ": " << e->message;
    }
    EXPECT_NE(e->code, ErrorCode::kNotWelcome) << what;
    EXPECT_NE(e->code, ErrorCode::kNotEnrolled) << what;
  };

  {
    QuietLogs quiet;
    // Random bytes; random bodies behind a valid version and each type byte.
    std::mt19937 rng(12345);
    for (int i = 0; i < 300 && !HasFatalFailure(); ++i) {
      Bytes frame(rng() % 200);
      for (auto& b : frame) b = static_cast<uint8_t>(rng());
      if (i >= 100 && frame.size() >= 2) {
        frame[0] = kProtocolVersion;
        frame[1] = static_cast<uint8_t>(1 + i % 10);
      }
      if (Decode(frame).ok()) continue;  // by chance well-formed: not what this tests
      expect_error(frame, std::nullopt, "random frame " + std::to_string(i));
    }
    // Every truncation of a valid ENTRIES message.
    const Bytes entries = Encode(Msg(bad_session, 0, 3));
    for (size_t n = 0; n < entries.size() && !HasFatalFailure(); ++n)
      expect_error(Bytes(entries.begin(), entries.begin() + n),
                   n == 0 ? std::nullopt : std::optional(ErrorCode::kBadMessage),
                   "ENTRIES cut to " + std::to_string(n) + " bytes");
    // Trailing garbage.
    Bytes longer = entries;
    longer.push_back(0);
    expect_error(longer, ErrorCode::kBadMessage, "ENTRIES with a trailing byte");
  }
  ASSERT_FALSE(HasFatalFailure());

  // Unknown versions.
  const Bytes hello = Encode(MakeHello());
  for (uint8_t v : {0, 2, 255}) {
    Bytes f = hello;
    f[0] = v;
    expect_error(f, ErrorCode::kVersion, "version " + std::to_string(v));
  }
  // Unknown types.
  for (uint8_t t : {0, 10, 200}) {
    Bytes f = hello;
    f[1] = t;
    expect_error(f, ErrorCode::kBadMessage, "type " + std::to_string(t));
  }
  // Counts out of range: 0, over the limit, far over the limit.
  const Bytes one = Encode(Msg(bad_session, 0, 1));
  constexpr size_t kCountAt = 2 + 16 + 8;
  ASSERT_EQ(one[kCountAt], 0);
  ASSERT_EQ(one[kCountAt + 1], 1);
  for (uint16_t n : {0, kMaxEntriesPerMessage + 1, 0xFFFF}) {
    Bytes f = one;
    f[kCountAt] = static_cast<uint8_t>(n >> 8);
    f[kCountAt + 1] = static_cast<uint8_t>(n);
    expect_error(f, ErrorCode::kBadMessage, "count " + std::to_string(n));
  }
  // A message a sender never sends.
  ASSERT_TRUE(c.Send(Welcome{Role::kProvince, 1024, 4}));
  auto e = c.WaitFor<replicate::Error>(kWaitMs);
  ASSERT_TRUE(e) << "no ERROR for a WELCOME from the sender";
  EXPECT_EQ(e->code, ErrorCode::kBadMessage);
  ++sent;

  // Multi-part messages are discarded whole, without an answer: the next answer is the
  // WELCOME of the HELLO after them.
  ASSERT_TRUE(c.SendRaw(hello, /*more=*/true));
  ASSERT_TRUE(c.SendRaw(Encode(Msg(bad_session))));
  ASSERT_TRUE(c.SendRaw(Encode(Msg(bad_session)), true));
  ASSERT_TRUE(c.SendRaw(hello, true));
  ASSERT_TRUE(c.SendRaw(hello));
  ASSERT_TRUE(c.Send(MakeHello()));
  auto next = c.Next(kWaitMs);
  ASSERT_TRUE(next) << "no answer to HELLO after the multi-part messages";
  EXPECT_TRUE(std::holds_alternative<Welcome>(*next)) << MsgTypeName(TypeOf(*next));

  // The receiver still works: a real session's ENTRIES are stored.
  const Entries good = Msg(good_session);
  ASSERT_TRUE(c.Send(good));
  auto ack = c.WaitFor<SessionAck>(kWaitMs);
  ASSERT_TRUE(ack) << "no SESSION_ACK";
  EXPECT_EQ(ack->session, good_session);
  EXPECT_EQ(ack->result, AckResult::kOk) << ack->detail;
  EXPECT_EQ(ack->stored, good.entries.size());
  EXPECT_EQ(ack->held, 1u);

  // Nothing of the bad frames was stored.
  EXPECT_EQ(ProvinceSessions(), std::vector<crypto::SessionId>{good_session});
  EXPECT_EQ(ProvinceEntries(good_session), good.entries.size());
  EXPECT_GE(receiver_->refused_messages(), static_cast<uint64_t>(sent));
  RecordProperty("refused_frames", sent);
}

TEST_F(ReceiverTest, CorruptChunkIsRefusedAndTheBlobFetchedAgain) {
  StartReceiver(4096);
  const crypto::SessionId id = Record(client_id_, /*more=*/0, /*seg_bytes=*/10000);
  const Entries msg = Msg(id);
  auto seg = crypto::DecodeEntry(msg.entries[2].entry);
  ASSERT_TRUE(seg.ok());
  const crypto::Hash256 target = seg->cipher_hash;

  TestClient& c = Connect(client_id_);
  ASSERT_TRUE(Greet(c));
  ASSERT_TRUE(c.Send(msg));
  ASSERT_TRUE(c.WaitFor<SessionAck>(kWaitMs));

  // The first copy of the segment has one flipped byte; later copies are right.
  int starts = 0;
  bool held = false;
  const auto deadline = Clock::now() + milliseconds(20000);
  while (!held && Clock::now() < deadline) {
    auto m = c.Next(100);
    if (!m) continue;
    if (auto* f = std::get_if<Fetch>(&*m)) {
      Chunk ch = Answer(*f);
      if (f->blob == target && f->offset == 0 && ++starts == 1) ch.data[ch.data.size() / 2] ^= 1;
      ASSERT_TRUE(c.Send(ch));
    } else if (auto* a = std::get_if<SessionAck>(&*m)) {
      EXPECT_EQ(a->result, AckResult::kOk);
      held = a->held == msg.entries.size();
    }
  }
  ASSERT_TRUE(held) << "the session was never held";
  EXPECT_EQ(starts, 2) << "the segment should be fetched twice from offset 0";
  EXPECT_FALSE(Env::Default()->FileExists(PartPath(target)));
  ExpectVerifies(id);
}

TEST_F(ReceiverTest, PeerGoneBeforeTheAnswerDoesNotHurtTheReceiver) {
  // A sender on a poor link sends a burst and goes away (heartbeat timeout, closed socket)
  // while the receiver still works through the burst: its answers cannot be delivered.
  StartReceiver();
  const crypto::SessionId id = Record(client_id_);
  const Entries msg = Msg(id);
  const Bytes hello = Encode(MakeHello());
  const Bytes entries = Encode(msg);
  for (int round = 0; round < 4; ++round) {
    TestClient& c = Connect(client_id_);
    c.socket().set(zmq::sockopt::linger, 5000);  // deliver the burst, then disconnect
    ASSERT_TRUE(c.SendRaw(hello));
    for (int i = 0; i < 600; ++i)
      if (!c.SendRaw(i % 3 == 0 ? hello : entries)) break;
    Disconnect(c);
  }
  // Let the receiver work through the dead connections' bursts: a HELLO still queued from an
  // old connection would otherwise replace the new one (a real sender then introduces itself
  // again when told "send HELLO first").
  std::this_thread::sleep_for(std::chrono::seconds(3));
  // The receiver is still there and the session was stored once.
  TestClient& c = Connect(client_id_);
  ASSERT_TRUE(Greet(c));
  EXPECT_TRUE(ServeUntilHeld(c, id, msg.entries.size()));
  EXPECT_EQ(ProvinceEntries(id), msg.entries.size());
  EXPECT_EQ(ProvinceSessions(), std::vector<crypto::SessionId>{id});
  ExpectVerifies(id);
}

TEST_F(ReceiverTest, UnenrolledKeyIsNeverWelcomed) {
  StartReceiver();
  const crypto::NodeIdentity stranger = crypto::GenerateNodeIdentity();
  const crypto::SessionId id = Record(stranger);
  TestClient& c = Connect(stranger);
  c.Send(MakeHello());  // may not even be queued: the handshake fails
  c.Send(Msg(id));
  const auto until = Clock::now() + milliseconds(1000);
  while (Clock::now() < until) {
    auto m = c.Next(100);
    if (m) {
      EXPECT_FALSE(std::holds_alternative<Welcome>(*m)) << "an unenrolled key was welcomed";
      EXPECT_FALSE(std::holds_alternative<SessionAck>(*m)) << "an unenrolled key was answered";
    }
  }
  EXPECT_TRUE(ProvinceSessions().empty());

  // The enrolled client is not affected.
  TestClient& good = Connect(client_id_);
  ASSERT_TRUE(Greet(good));
  EXPECT_TRUE(ProvinceSessions().empty());
}

TEST_F(ReceiverTest, RevokedKeyIsCutOffWhileConnected) {
  StartReceiver();
  const crypto::SessionId id = Record(client_id_);
  const crypto::SessionId later = Record(client_id_);
  TestClient& c = Connect(client_id_);
  ASSERT_TRUE(Greet(c));
  ASSERT_TRUE(c.Send(Msg(id, 0, 3)));
  auto ack = c.WaitFor<SessionAck>(kWaitMs);
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->stored, 3u);

  ASSERT_TRUE(RevokeKey(Env::Default(), province_dir_, client_id_.pub).ok());
  // The receiver's allow-list re-reads the file at most every 200 ms: wait until another
  // instance sees the revocation, then a little more.
  AllowList mine(Env::Default(), province_dir_);
  const auto until = Clock::now() + milliseconds(kWaitMs);
  while (mine.Find(client_id_.pub.transport_pk) && Clock::now() < until)
    std::this_thread::sleep_for(milliseconds(50));
  ASSERT_FALSE(mine.Find(client_id_.pub.transport_pk));
  std::this_thread::sleep_for(milliseconds(400));

  ASSERT_TRUE(c.Send(Msg(id, 3)));
  ASSERT_TRUE(c.Send(Msg(later)));
  ASSERT_TRUE(c.Send(MakeHello()));
  const auto quiet = Clock::now() + milliseconds(1500);
  while (Clock::now() < quiet) {
    auto m = c.Next(100);
    if (!m) continue;
    if (auto* e = std::get_if<replicate::Error>(&*m)) {
      EXPECT_EQ(e->code, ErrorCode::kNotEnrolled) << e->message;
    } else {
      EXPECT_FALSE(std::holds_alternative<SessionAck>(*m)) << "a revoked key was answered";
      EXPECT_FALSE(std::holds_alternative<Welcome>(*m)) << "a revoked key was welcomed";
    }
  }
  auto rec = province_->catalog()->GetSession(id);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->next_seq, 3u);
  EXPECT_EQ(ProvinceEntries(id), 3u);
  EXPECT_EQ(ProvinceSessions(), std::vector<crypto::SessionId>{id});
}

}  // namespace
}  // namespace tcd::replicate
