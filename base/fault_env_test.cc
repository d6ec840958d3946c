#include "base/fault_env.h"

#include <boost/filesystem.hpp>
#include <gtest/gtest.h>

namespace tcd {
namespace {

class FaultEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (boost::filesystem::temp_directory_path() /
            boost::filesystem::unique_path("tcd-fault-test-%%%%-%%%%")).string();
    ASSERT_TRUE(Env::Default()->CreateDirs(dir_).ok());
  }
  void TearDown() override {
    boost::system::error_code ec;
    boost::filesystem::remove_all(dir_, ec);
  }
  // Writes `data` to `path`; syncs the data if sync_data.
  void Write(const std::string& path, std::string_view data, bool sync_data) {
    auto f = env_.NewWritableFile(path);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    ASSERT_TRUE((*f)->Append(AsBytes(data)).ok());
    if (sync_data) {
      ASSERT_TRUE((*f)->Sync().ok());
    }
    ASSERT_TRUE((*f)->Close().ok());
  }
  std::string Read(const std::string& path) {
    auto r = Env::Default()->ReadFile(path);
    return r.ok() ? std::string(AsChars(*r)) : "<" + r.status().ToString() + ">";
  }

  FaultInjectionEnv env_{Env::Default()};
  std::string dir_;
};

TEST_F(FaultEnvTest, SyncedAndDirSyncedFileSurvivesPowerLoss) {
  Write(dir_ + "/a", "durable", true);
  ASSERT_TRUE(env_.SyncDir(dir_).ok());
  ASSERT_TRUE(env_.SimulatePowerLoss().ok());
  EXPECT_EQ(Read(dir_ + "/a"), "durable");
}

TEST_F(FaultEnvTest, UnsyncedDataIsLost) {
  auto f = env_.NewWritableFile(dir_ + "/a");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append(AsBytes("synced.")).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Append(AsBytes("not synced")).ok());
  ASSERT_TRUE(env_.SyncDir(dir_).ok());
  EXPECT_EQ(Read(dir_ + "/a"), "synced.not synced");
  ASSERT_TRUE(env_.SimulatePowerLoss().ok());
  EXPECT_EQ(Read(dir_ + "/a"), "synced.");
  // The handle from before the power loss is dead.
  EXPECT_TRUE((*f)->Append(AsBytes("x")).IsAborted());
}

TEST_F(FaultEnvTest, FileWithoutDirSyncIsDeleted) {
  Write(dir_ + "/a", "data synced, entry not", true);
  ASSERT_TRUE(env_.SimulatePowerLoss().ok());
  EXPECT_FALSE(Env::Default()->FileExists(dir_ + "/a"));
}

TEST_F(FaultEnvTest, RenameWithoutSyncDirIsUndone) {
  Write(dir_ + "/tmp", "new", true);
  ASSERT_TRUE(env_.SyncDir(dir_).ok());
  ASSERT_TRUE(env_.RenameFile(dir_ + "/tmp", dir_ + "/final").ok());
  ASSERT_TRUE(env_.SimulatePowerLoss().ok());
  EXPECT_FALSE(Env::Default()->FileExists(dir_ + "/final"));
  EXPECT_EQ(Read(dir_ + "/tmp"), "new");
}

TEST_F(FaultEnvTest, RenameOverExistingFileRestoresOldContent) {
  ASSERT_TRUE(Env::Default()->WriteFileDurably(dir_ + "/final", AsBytes("old")).ok());
  Write(dir_ + "/tmp", "new", true);
  ASSERT_TRUE(env_.RenameFile(dir_ + "/tmp", dir_ + "/final").ok());
  EXPECT_EQ(Read(dir_ + "/final"), "new");
  ASSERT_TRUE(env_.SimulatePowerLoss().ok());
  EXPECT_EQ(Read(dir_ + "/final"), "old");
  EXPECT_FALSE(Env::Default()->FileExists(dir_ + "/tmp"));  // its creation was not durable
}

TEST_F(FaultEnvTest, RenameFollowedBySyncDirSurvives) {
  ASSERT_TRUE(Env::Default()->CreateDirs(dir_ + "/sub").ok());
  Write(dir_ + "/tmp", "new", true);
  ASSERT_TRUE(env_.RenameFile(dir_ + "/tmp", dir_ + "/sub/final").ok());
  ASSERT_TRUE(env_.SyncDir(dir_ + "/sub/").ok());  // trailing slash names the same dir
  ASSERT_TRUE(env_.SimulatePowerLoss().ok());
  EXPECT_EQ(Read(dir_ + "/sub/final"), "new");
  EXPECT_FALSE(Env::Default()->FileExists(dir_ + "/tmp"));
}

TEST_F(FaultEnvTest, RemoveWithoutSyncDirIsUndone) {
  ASSERT_TRUE(Env::Default()->WriteFileDurably(dir_ + "/a", AsBytes("keep me")).ok());
  ASSERT_TRUE(env_.RemoveFile(dir_ + "/a").ok());
  EXPECT_FALSE(Env::Default()->FileExists(dir_ + "/a"));
  ASSERT_TRUE(env_.SimulatePowerLoss().ok());
  EXPECT_EQ(Read(dir_ + "/a"), "keep me");

  ASSERT_TRUE(env_.RemoveFile(dir_ + "/a").ok());
  ASSERT_TRUE(env_.SyncDir(dir_).ok());
  ASSERT_TRUE(env_.SimulatePowerLoss().ok());
  EXPECT_FALSE(Env::Default()->FileExists(dir_ + "/a"));
}

TEST_F(FaultEnvTest, StepsCountEveryMutation) {
  EXPECT_EQ(env_.steps(), 0);
  Write(dir_ + "/a", "x", true);  // create, append, sync, close
  EXPECT_EQ(env_.steps(), 4);
  ASSERT_TRUE(env_.SyncDir(dir_).ok());
  ASSERT_TRUE(env_.CreateDirs(dir_ + "/d").ok());
  ASSERT_TRUE(env_.RenameFile(dir_ + "/a", dir_ + "/b").ok());
  ASSERT_TRUE(env_.RemoveFile(dir_ + "/b").ok());
  ASSERT_TRUE(env_.CrashPoint("commit").ok());
  EXPECT_EQ(env_.steps(), 9);
  (void)env_.ReadFile(dir_ + "/b");  // reads are not steps
  (void)env_.ListDir(dir_);
  EXPECT_EQ(env_.steps(), 9);
}

TEST_F(FaultEnvTest, CrashAtStepFailsThatOpAndAllLaterMutations) {
  env_.CrashAtStep(3);  // create=1, append=2, sync=3
  auto f = env_.NewWritableFile(dir_ + "/a");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append(AsBytes("abc")).ok());
  Status s = (*f)->Sync();
  ASSERT_TRUE(s.IsAborted());
  EXPECT_NE(s.message().find("injected crash at step 3: sync " + dir_ + "/a"),
            std::string::npos) << s.ToString();
  EXPECT_TRUE(env_.crashed());
  EXPECT_TRUE((*f)->Close().IsAborted());
  EXPECT_TRUE(env_.SyncDir(dir_).IsAborted());
  EXPECT_TRUE(env_.CreateDirs(dir_ + "/d").IsAborted());
  EXPECT_FALSE(Env::Default()->FileExists(dir_ + "/d"));  // not performed
  EXPECT_TRUE(env_.CrashPoint("x").IsAborted());
  EXPECT_TRUE(env_.WriteFileDurably(dir_ + "/b", AsBytes("b")).IsAborted());
  EXPECT_FALSE(Env::Default()->FileExists(dir_ + "/b"));
  // Reads still work.
  EXPECT_EQ(Read(dir_ + "/a"), "abc");
  ASSERT_TRUE(env_.SimulatePowerLoss().ok());
  EXPECT_FALSE(env_.crashed());
  EXPECT_EQ(env_.steps(), 0);
  EXPECT_FALSE(Env::Default()->FileExists(dir_ + "/a"));
  EXPECT_TRUE(env_.CreateDirs(dir_ + "/d").ok());
}

TEST_F(FaultEnvTest, CrashedOpIsNotPerformed) {
  env_.CrashAtStep(1);
  EXPECT_TRUE(env_.NewWritableFile(dir_ + "/a").status().IsAborted());
  EXPECT_FALSE(Env::Default()->FileExists(dir_ + "/a"));
  env_.ResetCrash();
  EXPECT_TRUE(env_.NewWritableFile(dir_ + "/a").ok());
}

TEST_F(FaultEnvTest, WriteFileDurablyIsAtomicAtEveryCrashStep) {
  const std::string path = dir_ + "/f";
  ASSERT_TRUE(Env::Default()->WriteFileDurably(path, AsBytes("old")).ok());
  ASSERT_TRUE(env_.WriteFileDurably(path, AsBytes("new content")).ok());
  const int n = env_.steps();
  ASSERT_EQ(n, 6);  // create, append, sync, close, rename, sync dir
  for (int i = 1; i <= n; ++i) {
    ASSERT_TRUE(Env::Default()->WriteFileDurably(path, AsBytes("old")).ok());
    ASSERT_TRUE(env_.SimulatePowerLoss().ok());
    env_.CrashAtStep(i);
    EXPECT_TRUE(env_.WriteFileDurably(path, AsBytes("new content")).IsAborted()) << i;
    ASSERT_TRUE(env_.SimulatePowerLoss().ok());
    EXPECT_EQ(Read(path), "old") << "crash at step " << i;
    auto names = Env::Default()->ListDir(dir_);
    ASSERT_TRUE(names.ok());
    EXPECT_EQ(names->size(), 1u) << "temp file left after crash at step " << i;
  }
}

}  // namespace
}  // namespace tcd
