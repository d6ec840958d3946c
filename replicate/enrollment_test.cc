#include "replicate/enrollment.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

namespace tcd::replicate {
namespace {

// gmock is not linked: a substring check that prints the haystack.
#define EXPECT_CONTAINS(s, sub) \
  EXPECT_NE(std::string(s).find(sub), std::string::npos) << "in: " << (s)

class EnrollmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tcdenrollXXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/data";  // absent: Enroll creates it
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  static crypto::NodePublic NewKey() { return crypto::GenerateNodeIdentity().pub; }
  std::vector<EnrolledNode> Load() {
    auto r = LoadEnrollment(env_, dir_);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<EnrolledNode>();
  }
  std::string FileText() {
    auto r = env_->ReadFile(EnrollmentPath(dir_));
    return r.ok() ? std::string(AsChars(*r)) : std::string();
  }
  void WriteFile(const std::string& text) {
    ASSERT_TRUE(env_->CreateDirs(dir_).ok());
    ASSERT_TRUE(env_->WriteFileDurably(EnrollmentPath(dir_), AsBytes(text)).ok());
  }
  // Polls `pred` for up to 1.5 s.
  template <typename P>
  static bool Eventually(P pred) {
    for (int i = 0; i < 150; ++i) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return pred();
  }

  Env* env_ = Env::Default();
  std::string root_, dir_;
};

TEST_F(EnrollmentTest, MissingFileIsEmptyList) { EXPECT_TRUE(Load().empty()); }

TEST_F(EnrollmentTest, EnrollListRoundTrip) {
  auto a = NewKey(), b = NewKey();
  ASSERT_TRUE(Enroll(env_, dir_, "xa-01", a).ok());
  ASSERT_TRUE(Enroll(env_, dir_, "xa-02", b).ok());
  auto nodes = Load();
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[0].point, "xa-01");
  EXPECT_EQ(nodes[0].pub.sign_pk, a.sign_pk);
  EXPECT_EQ(nodes[0].pub.transport_pk, a.transport_pk);
  EXPECT_GT(nodes[0].enrolled_us, 0);
  EXPECT_EQ(nodes[0].revoked_us, 0);
  EXPECT_EQ(nodes[1].point, "xa-02");
  EXPECT_EQ(nodes[1].pub.transport_pk, b.transport_pk);
  std::string text = FileText();
  EXPECT_CONTAINS(text, "\"format\": \"tcd-enrolled\"");
  EXPECT_CONTAINS(text, "\"key_id\": \"" + crypto::KeyId(a.sign_pk) + "\"");
  EXPECT_CONTAINS(text, "\"transport_pk\": \"" + ToHex(b.transport_pk) + "\"");
  auto names = env_->ListDir(dir_);  // no temp file left behind
  ASSERT_TRUE(names.ok());
  std::sort(names->begin(), names->end());
  EXPECT_EQ(*names, (std::vector<std::string>{"enrolled.json", "enrolled.lock"}));
}

TEST_F(EnrollmentTest, BadPointIdsAreRefused) {
  for (std::string bad : {std::string(), std::string("a\nb"), std::string(129, 'p'),
                          std::string("\xff")})
    EXPECT_TRUE(Enroll(env_, dir_, bad, NewKey()).IsInvalidArgument()) << bad;
  EXPECT_TRUE(Enroll(env_, dir_, "Xã Hòa An 01", NewKey()).ok());
}

TEST_F(EnrollmentTest, ReEnrollSameIsNoOp) {
  auto a = NewKey();
  ASSERT_TRUE(Enroll(env_, dir_, "xa-01", a).ok());
  std::string before = FileText();
  ASSERT_TRUE(Enroll(env_, dir_, "xa-01", a).ok());
  EXPECT_EQ(FileText(), before);
}

TEST_F(EnrollmentTest, ConflictsAreRefusedNamingBoth) {
  auto a = NewKey(), b = NewKey();
  ASSERT_TRUE(Enroll(env_, dir_, "xa-01", a).ok());
  Status s = Enroll(env_, dir_, "xa-02", a);  // key active under another point
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_CONTAINS(s.message(), "xa-01");
  EXPECT_CONTAINS(s.message(), "xa-02");
  s = Enroll(env_, dir_, "xa-01", b);  // point held by another active key
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_CONTAINS(s.message(), crypto::KeyId(a.sign_pk));
  EXPECT_CONTAINS(s.message(), crypto::KeyId(b.sign_pk));
  EXPECT_EQ(Load().size(), 1u);
}

TEST_F(EnrollmentTest, RevokeByKeyAndByPoint) {
  auto a = NewKey(), b = NewKey();
  ASSERT_TRUE(Enroll(env_, dir_, "xa-01", a).ok());
  ASSERT_TRUE(Enroll(env_, dir_, "xa-02", b).ok());
  crypto::NodePublic only_transport;  // matching by the transport key alone is enough
  only_transport.transport_pk = a.transport_pk;
  ASSERT_TRUE(RevokeKey(env_, dir_, only_transport).ok());
  EXPECT_TRUE(RevokeKey(env_, dir_, a).IsNotFound());
  ASSERT_TRUE(RevokePoint(env_, dir_, "xa-02").ok());
  Status s = RevokePoint(env_, dir_, "xa-02");
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_CONTAINS(s.message(), "xa-02");
  EXPECT_TRUE(RevokePoint(env_, dir_, "nowhere").IsNotFound());
  auto nodes = Load();
  ASSERT_EQ(nodes.size(), 2u);  // revoked nodes stay on record
  EXPECT_GE(nodes[0].revoked_us, nodes[0].enrolled_us);
  EXPECT_GT(nodes[1].revoked_us, 0);
}

TEST_F(EnrollmentTest, RevokedKeyMayEnrollAgain) {
  auto a = NewKey(), b = NewKey();
  ASSERT_TRUE(Enroll(env_, dir_, "xa-01", a).ok());
  ASSERT_TRUE(RevokeKey(env_, dir_, a).ok());
  ASSERT_TRUE(Enroll(env_, dir_, "xa-01", b).ok());  // the point is free again
  ASSERT_TRUE(RevokePoint(env_, dir_, "xa-01").ok());
  ASSERT_TRUE(Enroll(env_, dir_, "xa-09", a).ok());
  auto nodes = Load();
  ASSERT_EQ(nodes.size(), 3u);
  EXPECT_EQ(nodes[2].point, "xa-09");
  EXPECT_EQ(nodes[2].revoked_us, 0);
  EXPECT_GT(nodes[0].revoked_us, 0);
}

TEST_F(EnrollmentTest, DamagedFileIsCorruptionNamingFileAndField) {
  WriteFile("{not json");
  auto r = LoadEnrollment(env_, dir_);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsCorruption());
  EXPECT_CONTAINS(r.status().message(), EnrollmentPath(dir_));
  // A writer refuses to replace a damaged file.
  EXPECT_TRUE(Enroll(env_, dir_, "xa-01", NewKey()).IsCorruption());
  EXPECT_EQ(FileText(), "{not json");

  auto a = NewKey();
  ASSERT_TRUE(std::filesystem::remove(EnrollmentPath(dir_)));
  ASSERT_TRUE(Enroll(env_, dir_, "xa-01", a).ok());
  ASSERT_TRUE(Enroll(env_, dir_, "xa-02", NewKey()).ok());
  std::string text = FileText();
  size_t at = text.rfind("\"transport_pk\": \"");
  text.replace(at + 17, 4, "zzzz");
  WriteFile(text);
  r = LoadEnrollment(env_, dir_);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsCorruption());
  EXPECT_CONTAINS(r.status().message(), EnrollmentPath(dir_) + ": nodes[1].transport_pk");
}

TEST_F(EnrollmentTest, AllowListFollowsTheFile) {
  auto a = NewKey(), b = NewKey();
  AllowList allow(env_, dir_);
  EXPECT_FALSE(allow.Find(a.transport_pk));
  EXPECT_CONTAINS(allow.WhyRefused(a.transport_pk), "is not enrolled");
  ASSERT_TRUE(Enroll(env_, dir_, "xa-01", a).ok());
  ASSERT_TRUE(Eventually([&] { return allow.Find(a.transport_pk).has_value(); }));
  EXPECT_EQ(allow.Find(a.transport_pk)->point, "xa-01");
  EXPECT_FALSE(allow.Find(a.sign_pk));  // only transport keys are looked up

  ASSERT_TRUE(RevokeKey(env_, dir_, a).ok());
  ASSERT_TRUE(Eventually([&] { return !allow.Find(a.transport_pk).has_value(); }));
  EXPECT_CONTAINS(allow.WhyRefused(a.transport_pk), "(point xa-01) was revoked at 20");

  // A damaged file keeps the last good list.
  ASSERT_TRUE(Enroll(env_, dir_, "xa-02", b).ok());
  ASSERT_TRUE(Eventually([&] { return allow.Find(b.transport_pk).has_value(); }));
  WriteFile("garbage that is longer than before, so the size changes for sure ..........");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(allow.Find(b.transport_pk).has_value());
}

TEST_F(EnrollmentTest, ConcurrentProcessesBothLand) {
  constexpr int kEach = 8;
  std::vector<crypto::NodePublic> keys;
  for (int i = 0; i < 2 * kEach; ++i) keys.push_back(NewKey());
  pid_t pids[2];
  for (int c = 0; c < 2; ++c) {
    pids[c] = fork();
    ASSERT_GE(pids[c], 0);
    if (pids[c] == 0) {
      int failed = 0;
      for (int i = 0; i < kEach; ++i) {
        int k = c * kEach + i;
        failed += !Enroll(env_, dir_, "p-" + std::to_string(k), keys[k]).ok();
      }
      _exit(failed);
    }
  }
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  EXPECT_EQ(Load().size(), 2u * kEach);
}

TEST_F(EnrollmentTest, ConcurrentThreadsAllLand) {
  constexpr int kThreads = 4, kEach = 5;
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i)
        if (!Enroll(env_, dir_, "t" + std::to_string(t) + "-" + std::to_string(i), NewKey()).ok())
          ++failed;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(Load().size(), size_t{kThreads * kEach});
}

}  // namespace
}  // namespace tcd::replicate
