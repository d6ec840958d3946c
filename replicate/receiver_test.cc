// Receiver: an in-process province receiver on tcp://127.0.0.1, driven by a hand-written
// DEALER client speaking the wire protocol (CurveZMQ with an enrolled key). Sessions come from
// a real SessionRecorder in a "recorder" store; the client answers the receiver's FETCHes from
// that store's blobs.
#include "replicate/receiver.h"

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <boost/filesystem.hpp>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "crypto/chain.h"
#include "node/catalog.h"
#include "node/session_recorder.h"
#include "node/store.h"
#include "node/verifier.h"
#include "replicate/curve.h"

namespace tcd::replicate {
namespace {

namespace fs = boost::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kWaitMs = 10000;  // generous: only reached when something is wrong

// A DEALER speaking the replication protocol to the receiver.
class TestClient {
 public:
  TestClient(zmq::context_t& ctx, const crypto::NodeIdentity& id,
             const crypto::PublicKey& server_pk, const std::string& endpoint)
      : sock_(ctx, zmq::socket_type::dealer) {
    EXPECT_TRUE(SetCommonOptions(sock_).ok());
    EXPECT_TRUE(SetCurveClient(sock_, id, server_pk).ok());
    sock_.connect(endpoint);
  }

  bool SendRaw(ByteView b, bool more = false) {
    try {
      auto flags = zmq::send_flags::dontwait;
      if (more) flags = flags | zmq::send_flags::sndmore;
      return sock_.send(zmq::buffer(b.data(), b.size()), flags).has_value();
    } catch (const zmq::error_t&) {
      return false;
    }
  }
  bool Send(const Message& m) {
    Bytes b = Encode(m);
    return SendRaw(b);
  }

  // The next message within `ms`, decoded; nullopt on timeout.
  std::optional<Message> Next(int ms) {
    const auto deadline = Clock::now() + milliseconds(ms);
    while (true) {
      zmq::message_t msg;
      if (sock_.recv(msg, zmq::recv_flags::dontwait)) {
        EXPECT_FALSE(msg.more()) << "the receiver sent a multi-part message";
        auto d = Decode(ByteView(static_cast<const uint8_t*>(msg.data()), msg.size()));
        EXPECT_TRUE(d.ok()) << d.status().ToString();
        if (d.ok()) return *d;
        continue;
      }
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return std::nullopt;
      zmq::pollitem_t item{sock_.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::min(left, milliseconds(100)));
    }
  }

  // Waits up to `ms` for a message of type T; the others seen meanwhile go to `others`.
  template <typename T>
  std::optional<T> WaitFor(int ms, std::vector<Message>* others = nullptr) {
    const auto deadline = Clock::now() + milliseconds(ms);
    while (true) {
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return std::nullopt;
      auto m = Next(static_cast<int>(left.count()));
      if (!m) return std::nullopt;
      if (auto* t = std::get_if<T>(&*m)) return *t;
      if (others) others->push_back(std::move(*m));
    }
  }

  zmq::socket_t& socket() { return sock_; }

 private:
  zmq::socket_t sock_;
};

class ReceiverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = (fs::temp_directory_path() / fs::unique_path("tcd-recv-test-%%%%-%%%%")).string();
    recorder_ = OpenStore(root_ + "/recorder");
    province_dir_ = root_ + "/province";
    province_ = OpenStore(province_dir_);
    ASSERT_TRUE(recorder_ && province_);
    ASSERT_TRUE(Enroll(Env::Default(), province_dir_, "xa-01", client_id_.pub).ok());
    allow_ = std::make_unique<AllowList>(Env::Default(), province_dir_);
  }
  void TearDown() override {
    clients_.clear();
    receiver_.reset();
    allow_.reset();
    province_.reset();
    recorder_.reset();
    boost::system::error_code ec;
    fs::remove_all(root_, ec);
  }

  std::unique_ptr<node::Store> OpenStore(const std::string& dir) {
    node::StoreOptions so;
    so.min_free_bytes = 1 << 20;
    auto s = node::Store::Open(Env::Default(), dir, so);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }

  void StartReceiver(uint32_t chunk_bytes = 64 * 1024) {
    ReceiverOptions o;
    o.listen = "tcp://127.0.0.1:*";
    o.role = Role::kProvince;
    o.chunk_bytes = chunk_bytes;
    auto r = Receiver::Start(province_.get(), &server_id_, allow_.get(), o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    receiver_ = std::move(r).value();
    ASSERT_NE(receiver_->endpoint().find("tcp://127.0.0.1:"), std::string::npos)
        << receiver_->endpoint();
  }

  TestClient& Connect(const crypto::NodeIdentity& id) {
    clients_.push_back(std::make_unique<TestClient>(ctx_, id, server_id_.pub.transport_pk,
                                                    receiver_->endpoint()));
    return *clients_.back();
  }
  void Disconnect(TestClient& c) {
    std::erase_if(clients_, [&](const auto& p) { return p.get() == &c; });
  }

  static Hello MakeHello() { return Hello{Role::kRecorder, "xa-01", "tcd-test/1"}; }

  // HELLO → WELCOME.
  static std::optional<Welcome> Greet(TestClient& c) {
    EXPECT_TRUE(c.Send(MakeHello()));
    return c.WaitFor<Welcome>(kWaitMs);
  }

  // A sealed session in the recorder store signed by `id`: open, init, segment, gap,
  // `more` segments, seal; segment plaintexts of `seg_bytes` random bytes.
  crypto::SessionId Record(const crypto::NodeIdentity& id, int more = 2,
                           size_t seg_bytes = 10000) {
    auto rec = node::SessionRecorder::Start(recorder_.get(), &id, {archive_.pub},
                                            {{"point", "xa-01"}});
    EXPECT_TRUE(rec.ok()) << rec.status().ToString();
    if (!rec.ok()) return {};
    node::SessionRecorder& r = **rec;
    int64_t t = r.record().start_us;
    EXPECT_TRUE(r.OnInit(0, Random(300), "fake").ok());
    auto segment = [&](uint64_t index) {
      ingest::MediaSegment seg;
      seg.index = index;
      seg.data = Random(seg_bytes);
      seg.duration_us = 2'000'000;
      seg.wall_start_us = t;
      t += seg.duration_us;
      EXPECT_TRUE(r.OnSegment(std::move(seg)).ok());
    };
    segment(0);
    EXPECT_TRUE(r.OnGap(t, t + 1'000'000, "cable").ok());
    t += 1'000'000;
    for (int i = 0; i < more; ++i) segment(1 + i);
    EXPECT_TRUE(r.Seal(crypto::SealReason::kStopped).ok());
    return r.id();
  }

  Bytes Random(size_t n) {
    Bytes b(n);
    for (auto& c : b) c = static_cast<uint8_t>(rng_());
    return b;
  }

  std::vector<EntryWithSig> Chain(const crypto::SessionId& id) {
    auto chain = recorder_->catalog()->GetChain(id);
    EXPECT_TRUE(chain.ok()) << chain.status().ToString();
    std::vector<EntryWithSig> out;
    if (chain.ok())
      for (auto& [seq, cr] : *chain) out.push_back({cr.entry, cr.signature});
    return out;
  }
  Entries Msg(const crypto::SessionId& id, size_t from = 0, size_t to = SIZE_MAX) {
    auto chain = Chain(id);
    Entries m;
    m.session = id;
    m.first_seq = from;
    m.entries.assign(chain.begin() + from, chain.begin() + std::min(to, chain.size()));
    return m;
  }

  // The recorder's blob with cipher hash `h` (the client serves FETCHes from these).
  Bytes Blob(const crypto::Hash256& h) {
    auto b = recorder_->blobs()->Get(h);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return b.ok() ? *b : Bytes{};
  }
  Chunk Answer(const Fetch& f) {
    const Bytes blob = Blob(f.blob);
    EXPECT_LT(f.offset, blob.size());
    EXPECT_GE(f.length, 1u);
    EXPECT_LE(f.offset + f.length, blob.size()) << "FETCH beyond the end of the blob";
    const size_t from = std::min<size_t>(f.offset, blob.size());
    const size_t to = std::min<size_t>(from + f.length, blob.size());
    return Chunk{f.blob, f.offset, blob.size(), Bytes(blob.begin() + from, blob.begin() + to)};
  }

  // Answers every FETCH until a SESSION_ACK of `id` says everything is held (true) or
  // `ms` passed (false). `check` sees every FETCH before it is answered.
  bool ServeUntilHeld(TestClient& c, const crypto::SessionId& id, uint64_t entries,
                      const std::function<void(const Fetch&)>& check = nullptr,
                      int ms = kWaitMs) {
    const auto deadline = Clock::now() + milliseconds(ms);
    while (Clock::now() < deadline) {
      auto m = c.Next(100);
      if (!m) continue;
      if (auto* f = std::get_if<Fetch>(&*m)) {
        if (check) check(*f);
        EXPECT_TRUE(c.Send(Answer(*f)));
      } else if (auto* a = std::get_if<SessionAck>(&*m)) {
        EXPECT_EQ(a->result, AckResult::kOk) << a->detail;
        if (a->session == id && a->stored == entries && a->held == entries) return true;
      } else if (auto* e = std::get_if<replicate::Error>(&*m)) {
        ADD_FAILURE() << "ERROR from the receiver: " << e->message;
      }
    }
    return false;
  }

  std::vector<crypto::SessionId> ProvinceSessions() {
    auto ids = province_->catalog()->ListSessionIds();
    EXPECT_TRUE(ids.ok()) << ids.status().ToString();
    return ids.ok() ? *ids : std::vector<crypto::SessionId>{};
  }
  uint64_t ProvinceEntries(const crypto::SessionId& id) {
    auto c = province_->catalog()->GetChain(id);
    return c.ok() ? c->size() : 0;
  }
  void ExpectVerifies(const crypto::SessionId& id) {
    auto report = node::VerifySession(province_.get(), id);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_TRUE(report->ok) << node::ProblemName(report->problem) << ": " << report->detail;
    EXPECT_TRUE(report->sealed);
  }
  std::string PartPath(const crypto::Hash256& h) const {
    return province_dir_ + "/inbox/" + ToHex(h) + ".part";
  }

  std::string root_, province_dir_;
  std::mt19937_64 rng_{777};
  crypto::NodeIdentity server_id_ = crypto::GenerateNodeIdentity();
  crypto::NodeIdentity client_id_ = crypto::GenerateNodeIdentity();
  crypto::ArchiveKeyPair archive_ = crypto::GenerateArchiveKey();
  std::unique_ptr<node::Store> recorder_, province_;
  std::unique_ptr<AllowList> allow_;
  std::unique_ptr<Receiver> receiver_;
  zmq::context_t ctx_;
  std::vector<std::unique_ptr<TestClient>> clients_;
};

// Lowers the log level for a noisy stretch (hundreds of refused frames), restores it after.
class QuietLogs {
 public:
  QuietLogs() : level_(spdlog::get_level()) { spdlog::set_level(spdlog::level::err); }
  ~QuietLogs() { spdlog::set_level(level_); }

 private:
  spdlog::level::level_enum level_;
};

TEST_F(ReceiverTest, HelloIsAnsweredWithWelcome) {
  StartReceiver(32 * 1024);
  TestClient& c = Connect(client_id_);
  auto w = Greet(c);
  ASSERT_TRUE(w) << "no WELCOME";
  EXPECT_EQ(w->role, Role::kProvince);
  EXPECT_EQ(w->max_chunk, 32u * 1024);
  EXPECT_GE(w->window, 1u);
}

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
