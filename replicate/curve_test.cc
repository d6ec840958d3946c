// Real libzmq sockets over tcp://127.0.0.1: CURVE server + ZAP handler + enrollment file.
#include "replicate/curve.h"

#include <stdlib.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <zmq_addon.hpp>

namespace tcd::replicate {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

class CurveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tcdcurveXXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    allow_ = std::make_unique<AllowList>(Env::Default(), dir_);
    auto zap = ZapHandler::Start(&ctx_, allow_.get());
    ASSERT_TRUE(zap.ok()) << zap.status().ToString();
    zap_ = std::move(*zap);
    router_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::router);
    ASSERT_TRUE(SetCommonOptions(*router_).ok());
    ASSERT_TRUE(SetCurveServer(*router_, server_).ok());
    router_->bind("tcp://127.0.0.1:*");
    endpoint_ = router_->get(zmq::sockopt::last_endpoint);
  }
  void TearDown() override {
    clients_.clear();
    router_.reset();
    zap_.reset();
    std::filesystem::remove_all(dir_);
  }

  // A DEALER connected to the router; CURVE with `id` unless null.
  zmq::socket_t* Client(const crypto::NodeIdentity* id, zmq::socket_t** monitor = nullptr) {
    auto s = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::dealer);
    EXPECT_TRUE(SetCommonOptions(*s).ok());
    if (id) {
      EXPECT_TRUE(SetCurveClient(*s, *id, server_.pub.transport_pk).ok());
    }
    if (monitor) {
      std::string ep = "inproc://monitor-" + std::to_string(clients_.size());
      EXPECT_EQ(zmq_socket_monitor(s->handle(), ep.c_str(), ZMQ_EVENT_ALL), 0);
      auto m = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::pair);
      m->set(zmq::sockopt::linger, 0);
      m->connect(ep);
      *monitor = m.get();
      clients_.push_back(std::move(m));
    }
    s->connect(endpoint_);
    clients_.push_back(std::move(s));
    return clients_.back().get();
  }

  // The router's next message within `ms`, or nullopt.
  std::optional<std::vector<zmq::message_t>> Receive(int ms) {
    zmq::pollitem_t item = {router_->handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, milliseconds(ms)) == 0) return std::nullopt;
    std::vector<zmq::message_t> frames;
    EXPECT_TRUE(zmq::recv_multipart(*router_, std::back_inserter(frames)));
    return frames;
  }

  // Waits up to `ms` for monitor event `event`; its value (e.g. the ZAP status) or -1.
  static int WaitEvent(zmq::socket_t* monitor, uint16_t event, int ms) {
    auto deadline = Clock::now() + milliseconds(ms);
    while (Clock::now() < deadline) {
      zmq::pollitem_t item = {monitor->handle(), 0, ZMQ_POLLIN, 0};
      if (zmq::poll(&item, 1, milliseconds(50)) == 0) continue;
      std::vector<zmq::message_t> frames;
      if (!zmq::recv_multipart(*monitor, std::back_inserter(frames)) || frames[0].size() < 6)
        continue;
      uint16_t got;
      uint32_t value;
      std::memcpy(&got, frames[0].data(), 2);
      std::memcpy(&value, static_cast<const char*>(frames[0].data()) + 2, 4);
      if (got == event) return static_cast<int>(value);
    }
    return -1;
  }

  Status Enroll(const std::string& point, const crypto::NodeIdentity& id) {
    return replicate::Enroll(Env::Default(), dir_, point, id.pub);
  }

  std::string dir_;
  zmq::context_t ctx_;
  crypto::NodeIdentity server_ = crypto::GenerateNodeIdentity();
  std::unique_ptr<AllowList> allow_;
  std::unique_ptr<ZapHandler> zap_;
  std::unique_ptr<zmq::socket_t> router_;
  std::string endpoint_;
  std::vector<std::unique_ptr<zmq::socket_t>> clients_;
};

TEST_F(CurveTest, EnrolledClientArrivesWithUserId) {
  crypto::NodeIdentity id = crypto::GenerateNodeIdentity();
  ASSERT_TRUE(Enroll("xa-01", id).ok());
  Client(&id)->send(zmq::str_buffer("hello"), zmq::send_flags::none);
  auto frames = Receive(3000);
  ASSERT_TRUE(frames);
  ASSERT_EQ(frames->size(), 2u);
  EXPECT_EQ((*frames)[1].to_string(), "hello");
  std::string user_id = (*frames)[1].gets("User-Id");
  EXPECT_EQ(user_id, ToHex(id.pub.transport_pk));
  auto key = PeerKeyFromUserId(user_id);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(*key, id.pub.transport_pk);
  EXPECT_EQ(zap_->accepted(), 1u);
  EXPECT_EQ(zap_->refused(), 0u);
}

TEST_F(CurveTest, UnknownClientIsRefused) {
  crypto::NodeIdentity id = crypto::GenerateNodeIdentity();
  zmq::socket_t* monitor = nullptr;
  Client(&id, &monitor)->send(zmq::str_buffer("hello"), zmq::send_flags::dontwait);
  EXPECT_EQ(WaitEvent(monitor, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 3000), 400);
  EXPECT_FALSE(Receive(1500));
  EXPECT_GE(zap_->refused(), 1u);
  EXPECT_EQ(zap_->accepted(), 0u);
}

TEST_F(CurveTest, RevokedKeyIsRefusedOnNewConnection) {
  crypto::NodeIdentity id = crypto::GenerateNodeIdentity();
  ASSERT_TRUE(Enroll("xa-01", id).ok());
  Client(&id)->send(zmq::str_buffer("first"), zmq::send_flags::none);
  ASSERT_TRUE(Receive(3000));
  ASSERT_TRUE(RevokeKey(Env::Default(), dir_, id.pub).ok());
  std::this_thread::sleep_for(milliseconds(300));  // the allow list re-checks every 200 ms
  zmq::socket_t* monitor = nullptr;
  Client(&id, &monitor)->send(zmq::str_buffer("second"), zmq::send_flags::dontwait);
  EXPECT_EQ(WaitEvent(monitor, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 3000), 400);
  EXPECT_FALSE(Receive(1500));
  EXPECT_EQ(zap_->accepted(), 1u);
}

TEST_F(CurveTest, ClientWithoutCurveIsRefused) {
  Client(nullptr)->send(zmq::str_buffer("plain"), zmq::send_flags::dontwait);
  EXPECT_FALSE(Receive(1500));
  EXPECT_EQ(zap_->accepted(), 0u);
}

TEST_F(CurveTest, HandlerStopsPromptlyAndFreesItsEndpoint) {
  auto second = ZapHandler::Start(&ctx_, allow_.get());  // the endpoint is taken
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("zeromq.zap.01"), std::string::npos);
  auto start = Clock::now();
  zap_.reset();
  EXPECT_LT(Clock::now() - start, milliseconds(1000));
  auto again = ZapHandler::Start(&ctx_, allow_.get());
  EXPECT_TRUE(again.ok()) << again.status().ToString();
}

TEST_F(CurveTest, PeerKeyFromUserIdRejectsNonKeys) {
  EXPECT_TRUE(PeerKeyFromUserId("").status().IsCorruption());
  EXPECT_TRUE(PeerKeyFromUserId("abcd").status().IsCorruption());
  EXPECT_TRUE(PeerKeyFromUserId(std::string(64, 'g')).status().IsCorruption());
  EXPECT_TRUE(PeerKeyFromUserId(std::string(64, 'a')).ok());
}

TEST_F(CurveTest, FromZmqNamesTheOperation) {
  zmq::socket_t other(ctx_, zmq::socket_type::router);
  other.set(zmq::sockopt::linger, 0);
  try {
    other.bind(endpoint_);
    FAIL() << "bound twice to " << endpoint_;
  } catch (const zmq::error_t& e) {
    Status s = FromZmq(e, "bind " + endpoint_);
    EXPECT_TRUE(s.IsUnavailable()) << s.ToString();
    EXPECT_EQ(s.message().rfind("bind " + endpoint_ + ": ", 0), 0u) << s.message();
  }
}

}  // namespace
}  // namespace tcd::replicate
