#include "node/control.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace tcd::node {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// Echoes the request; "boom" throws.
Json Echo(const Json& request) {
  if (request["cmd"] == "boom") throw std::runtime_error("boom");
  return {{"ok", true}, {"echo", request}};
}

class ControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tcdctlXXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/run/control.sock";
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }

  // A raw client: connects, sends `bytes` (as is) and returns the first line answered ("" if
  // the server closed without answering).
  int Connect() {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, path_.c_str());
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << strerror(errno);
    return fd;
  }
  std::string ReadAll(int fd) {
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    return out;
  }
  Json Raw(const std::string& bytes) {
    int fd = Connect();
    EXPECT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    std::string line = ReadAll(fd);
    close(fd);
    EXPECT_EQ(line.back(), '\n');
    return Json::parse(line);
  }
  std::unique_ptr<ControlServer> StartServer(ControlServerOptions o = {}) {
    auto server = ControlServer::Start(path_, Echo, o);
    EXPECT_TRUE(server.ok()) << server.status().ToString();
    return server.ok() ? std::move(server).value() : nullptr;
  }

  std::string dir_, path_;
};

TEST_F(ControlTest, RoundTrip) {
  auto server = StartServer();
  auto r = ControlCall(path_, {{"cmd", "status"}, {"x", "tiếp công dân"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["ok"], true);
  EXPECT_EQ((*r)["echo"]["cmd"], "status");
  EXPECT_EQ((*r)["echo"]["x"], "tiếp công dân");
}

TEST_F(ControlTest, MalformedRequestsAreAnsweredNotFatal) {
  auto server = StartServer();
  Json r = Raw("{not json\n");
  EXPECT_EQ(r["ok"], false);
  EXPECT_EQ(r["error"].get<std::string>().rfind("malformed request: ", 0), 0u) << r;
  r = Raw("[1,2]\n");
  EXPECT_EQ(r["ok"], false);
  EXPECT_NE(r["error"].get<std::string>().find("not a JSON object"), std::string::npos);
  r = Raw("{\"nocmd\":1}\n");
  EXPECT_NE(r["error"].get<std::string>().find("\"cmd\""), std::string::npos);
  // a request without its final newline is still answered at end of stream
  int fd = Connect();
  ASSERT_EQ(write(fd, "{\"cmd\":\"x\"}", 11), 11);
  shutdown(fd, SHUT_WR);
  EXPECT_EQ(Json::parse(ReadAll(fd))["ok"], true);
  close(fd);
  EXPECT_TRUE(ControlCall(path_, {{"cmd", "status"}}).ok());
}

TEST_F(ControlTest, OversizedRequestIsRefused) {
  ControlServerOptions o;
  o.max_request_bytes = 100;
  auto server = StartServer(o);
  Json r = Raw(std::string(200, ' ') + "{}\n");
  EXPECT_EQ(r["ok"], false);
  EXPECT_NE(r["error"].get<std::string>().find("larger than 100 bytes"), std::string::npos) << r;
}

TEST_F(ControlTest, HandlerExceptionIsAnsweredAndServerKeepsServing) {
  auto server = StartServer();
  auto r = ControlCall(path_, {{"cmd", "boom"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["ok"], false);
  EXPECT_EQ((*r)["error"], "internal error: boom");
  r = ControlCall(path_, {{"cmd", "status"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["ok"], true);
}

TEST_F(ControlTest, SocketIsOwnerOnlyInPrivateDirectory) {
  auto server = StartServer();
  struct stat st;
  ASSERT_EQ(lstat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(stat((dir_ + "/run").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  server.reset();
  EXPECT_NE(lstat(path_.c_str(), &st), 0) << "socket file left behind";
}

TEST_F(ControlTest, ExistingDirectoryIsNotChmodded) {
  ASSERT_EQ(mkdir((dir_ + "/run").c_str(), 0755), 0);
  ASSERT_EQ(chmod((dir_ + "/run").c_str(), 0755), 0);
  auto server = StartServer();
  struct stat st;
  ASSERT_EQ(stat((dir_ + "/run").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
}

TEST_F(ControlTest, SecondServerOnSamePathFailsClearly) {
  auto first = StartServer();
  auto second = ControlServer::Start(path_, Echo);
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(second.status().IsIOError());
  EXPECT_EQ(second.status().message(),
            path_ + ": another node is already serving this control socket");
  EXPECT_TRUE(ControlCall(path_, {{"cmd", "status"}}).ok()) << "first server disturbed";
}

TEST_F(ControlTest, StaleSocketIsReplaced) {
  ASSERT_EQ(mkdir((dir_ + "/run").c_str(), 0700), 0);
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, path_.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  close(fd);  // a crashed node: the file stays, nobody listens
  auto server = StartServer();
  auto r = ControlCall(path_, {{"cmd", "status"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}

TEST_F(ControlTest, NonSocketFileIsNeverRemoved) {
  ASSERT_EQ(mkdir((dir_ + "/run").c_str(), 0700), 0);
  std::ofstream(path_) << "precious";
  auto server = ControlServer::Start(path_, Echo);
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.status().message().find("not a socket"), std::string::npos);
  std::ifstream in(path_);
  std::string content;
  in >> content;
  EXPECT_EQ(content, "precious");
}

TEST_F(ControlTest, TooLongPathIsInvalidArgument) {
  std::string path = dir_ + "/" + std::string(120, 'a') + ".sock";
  auto server = ControlServer::Start(path, Echo);
  ASSERT_FALSE(server.ok());
  EXPECT_TRUE(server.status().IsInvalidArgument());
  EXPECT_NE(server.status().message().find(path), std::string::npos);
  EXPECT_TRUE(ControlCall(path, {{"cmd", "status"}}).status().IsInvalidArgument());
}

TEST_F(ControlTest, CallWithoutNodeIsUnavailable) {
  auto r = ControlCall(path_, {{"cmd", "status"}});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsUnavailable());
  EXPECT_EQ(r.status().message(), "no node is running (cannot connect to " + path_ + ")");
}

TEST_F(ControlTest, SilentClientDoesNotBlockOthersAndIsDropped) {
  ControlServerOptions o;
  o.read_timeout_seconds = 0.5;
  auto server = StartServer(o);
  int silent = Connect();
  auto start = Clock::now();
  auto r = ControlCall(path_, {{"cmd", "status"}}, 5.0);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(300));
  pollfd p = {silent, POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 5000), 1) << "silent client never dropped";
  EXPECT_EQ(ReadAll(silent), "");
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(400));
  close(silent);
}

TEST_F(ControlTest, CallTimesOutOnAServerThatDoesNotAnswer) {
  ASSERT_EQ(mkdir((dir_ + "/run").c_str(), 0700), 0);
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, path_.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(fd, 4), 0);  // listens, never accepts
  auto r = ControlCall(path_, {{"cmd", "status"}}, 0.3);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsIOError());
  EXPECT_NE(r.status().message().find("did not answer"), std::string::npos);
  close(fd);
}

}  // namespace
}  // namespace tcd::node
