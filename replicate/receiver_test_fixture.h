// The fixture shared by the Receiver tests (receiver_test.cc, receiver_fault_test.cc): an
// in-process province receiver on tcp://127.0.0.1, driven by a hand-written DEALER client
// speaking the wire protocol (CurveZMQ with an enrolled key). Sessions come from a real
// SessionRecorder in a "recorder" store; the client answers the receiver's FETCHes from that
// store's blobs.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <boost/filesystem.hpp>
#include <gtest/gtest.h>
#include <zmq.hpp>

#include "crypto/chain.h"
#include "node/catalog.h"
#include "node/store.h"
#include "node/verifier.h"
#include "replicate/curve.h"
#include "replicate/enrollment.h"
#include "replicate/receiver.h"
#include "replicate/replicate_test_util.h"

namespace tcd::replicate {

namespace fs = boost::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

inline constexpr int kWaitMs = 10000;  // generous: only reached when something is wrong

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

  static std::unique_ptr<node::Store> OpenStore(const std::string& dir) {
    return test_util::OpenTestStore(dir);
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
  // `more` segments, seal; segment plaintexts of `seg_bytes` random bytes. The segments last
  // 2 s, the gap 1 s (SessionShape's defaults).
  crypto::SessionId Record(const crypto::NodeIdentity& id, int more = 2,
                           size_t seg_bytes = 10000) {
    test_util::SessionShape shape;
    shape.more = more;
    shape.seg_bytes = seg_bytes;
    return test_util::RecordSession(recorder_.get(), id, archive_.pub, rng_, shape);
  }

  std::vector<EntryWithSig> Chain(const crypto::SessionId& id) {
    return test_util::ReadChain(recorder_.get(), id);
  }
  Entries Msg(const crypto::SessionId& id, size_t from = 0, size_t to = SIZE_MAX) {
    return test_util::EntriesOf(id, Chain(id), from, to);
  }

  // The recorder's blob with cipher hash `h` (the client serves FETCHes from these).
  Bytes Blob(const crypto::Hash256& h) { return test_util::ReadBlob(recorder_.get(), h); }
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

}  // namespace tcd::replicate
