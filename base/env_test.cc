#include "base/env.h"

#include <unistd.h>

#include <boost/filesystem.hpp>
#include <gtest/gtest.h>

namespace tcd {
namespace {

class EnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (boost::filesystem::temp_directory_path() /
            boost::filesystem::unique_path("tcd-env-test-%%%%-%%%%")).string();
    ASSERT_TRUE(env_->CreateDirs(dir_).ok());
  }
  void TearDown() override {
    boost::system::error_code ec;
    boost::filesystem::permissions(dir_ + "/ro", boost::filesystem::owner_all, ec);
    boost::filesystem::remove_all(dir_, ec);
  }
  Env* env_ = Env::Default();
  std::string dir_;
};

TEST_F(EnvTest, WriteFileDurablyRoundTripAndReplace) {
  const std::string path = dir_ + "/a.bin";
  ASSERT_TRUE(env_->WriteFileDurably(path, AsBytes("first version")).ok());
  ASSERT_TRUE(env_->WriteFileDurably(path, AsBytes("second")).ok());
  auto got = env_->ReadFile(path);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(AsChars(*got), "second");
  auto size = env_->FileSize(path);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 6u);
  // No temp file is left behind.
  auto names = env_->ListDir(dir_);
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"a.bin"});
}

TEST_F(EnvTest, WriteFileDurablyKeepsMode) {
  const std::string path = dir_ + "/key";
  ASSERT_TRUE(env_->WriteFileDurably(path, AsBytes("secret"), 0600).ok());
  auto perms = boost::filesystem::status(path).permissions();
  EXPECT_EQ(perms & boost::filesystem::all_all, boost::filesystem::owner_read |
                                                    boost::filesystem::owner_write);
}

TEST_F(EnvTest, ErrorOnUnwritableDirNamesPath) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  const std::string ro = dir_ + "/ro";
  ASSERT_TRUE(env_->CreateDirs(ro).ok());
  boost::filesystem::permissions(ro, boost::filesystem::owner_read |
                                         boost::filesystem::owner_exe);
  Status s = env_->WriteFileDurably(ro + "/x", AsBytes("data"));
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.IsPermission()) << s.ToString();
  EXPECT_NE(s.message().find(ro + "/x"), std::string::npos) << s.ToString();
  EXPECT_FALSE(env_->FileExists(ro + "/x"));
}

TEST_F(EnvTest, ErrorUnderAFileNamesPathAndOperation) {
  ASSERT_TRUE(env_->WriteFileDurably(dir_ + "/file", AsBytes("x")).ok());
  const std::string path = dir_ + "/file/sub";  // parent is not a directory (ENOTDIR)
  Status s = env_->WriteFileDurably(path, AsBytes("data"));
  ASSERT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_NE(s.message().find("create " + path + ".tmp-"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("Not a directory"), std::string::npos) << s.ToString();
  Status d = env_->CreateDirs(path);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.message().find("create directories " + path), std::string::npos) << d.ToString();
}

TEST_F(EnvTest, NotFoundMapping) {
  const std::string missing = dir_ + "/missing";
  auto r = env_->ReadFile(missing);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNotFound()) << r.status().ToString();
  EXPECT_NE(r.status().message().find(missing), std::string::npos);
  EXPECT_TRUE(env_->FileSize(missing).status().IsNotFound());
  EXPECT_TRUE(env_->RemoveFile(missing).IsNotFound());
  EXPECT_TRUE(env_->ListDir(missing).status().IsNotFound());
  EXPECT_TRUE(env_->RenameFile(missing, dir_ + "/b").IsNotFound());
  EXPECT_FALSE(env_->FileExists(missing));
}

TEST_F(EnvTest, AppendSyncCloseAndDirOps) {
  ASSERT_TRUE(env_->CreateDirs(dir_ + "/x/y/z").ok());
  ASSERT_TRUE(env_->CreateDirs(dir_ + "/x/y/z").ok());  // exists: still OK
  auto f = env_->NewWritableFile(dir_ + "/x/y/z/f");
  ASSERT_TRUE(f.ok());
  Bytes big(300000, 7);
  ASSERT_TRUE((*f)->Append(big).ok());
  ASSERT_TRUE((*f)->Append(AsBytes("end")).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Close().ok());
  ASSERT_TRUE(env_->SyncDir(dir_ + "/x/y/z").ok());
  auto size = env_->FileSize(dir_ + "/x/y/z/f");
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 300003u);
  ASSERT_TRUE(env_->RemoveFile(dir_ + "/x/y/z/f").ok());
  EXPECT_FALSE(env_->FileExists(dir_ + "/x/y/z/f"));
}

TEST_F(EnvTest, FreeBytesAndClocks) {
  auto free = env_->FreeBytes(dir_);
  ASSERT_TRUE(free.ok()) << free.status().ToString();
  EXPECT_GT(*free, 0u);
  EXPECT_GT(env_->NowMicros(), int64_t{1600000000} * 1000000);
  int64_t t0 = env_->MonotonicMicros();
  env_->SleepMicros(2000);
  EXPECT_GE(env_->MonotonicMicros() - t0, 2000);
}

}  // namespace
}  // namespace tcd
