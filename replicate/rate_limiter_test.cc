#include "replicate/rate_limiter.h"

#include <gtest/gtest.h>

namespace tcd::replicate {
namespace {

// An Env whose clocks only move when the test advances them. Everything else is unsupported.
class ManualClockEnv : public Env {
 public:
  void Advance(int64_t micros) { now_us_ += micros; }

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string&, uint32_t) override {
    return Unsupported();
  }
  Result<Bytes> ReadFile(const std::string&) override { return Unsupported(); }
  bool FileExists(const std::string&) override { return false; }
  Result<uint64_t> FileSize(const std::string&) override { return Unsupported(); }
  Status RenameFile(const std::string&, const std::string&) override { return Unsupported(); }
  Status RemoveFile(const std::string&) override { return Unsupported(); }
  Status SyncDir(const std::string&) override { return Unsupported(); }
  Status CreateDirs(const std::string&) override { return Unsupported(); }
  Result<std::vector<std::string>> ListDir(const std::string&) override { return Unsupported(); }
  Result<uint64_t> FreeBytes(const std::string&) override { return Unsupported(); }
  int64_t NowMicros() override { return 1'700'000'000'000'000 + now_us_; }
  int64_t MonotonicMicros() override { return now_us_; }
  void SleepMicros(int64_t micros) override { Advance(micros); }

 private:
  static Status Unsupported() { return Status::IOError("ManualClockEnv: not supported"); }
  int64_t now_us_ = 1'000'000;
};

constexpr int64_t kSecond = 1'000'000;
constexpr uint64_t kMessage = 16 * 1024;

// Sends kMessage-byte messages as fast as `bucket` allows for `micros` of simulated time;
// returns the bytes sent.
uint64_t SendFor(ManualClockEnv* env, TokenBucket* bucket, int64_t micros) {
  const int64_t end = env->MonotonicMicros() + micros;
  uint64_t sent = 0;
  while (env->MonotonicMicros() < end) {
    int64_t wait = bucket->TryTake(kMessage);
    EXPECT_GE(wait, 0);
    if (wait == 0) {
      sent += kMessage;
    } else {
      env->Advance(std::min(wait, end - env->MonotonicMicros()));
    }
  }
  return sent;
}

void ExpectWithin(uint64_t actual, double expected, double tolerance) {
  EXPECT_GE(static_cast<double>(actual), expected * (1 - tolerance)) << "expected " << expected;
  EXPECT_LE(static_cast<double>(actual), expected * (1 + tolerance)) << "expected " << expected;
}

// Local time `day` January 2024 (1st = a Monday) at hh:mm.
std::time_t LocalTime(int day, int hour, int minute) {
  std::tm tm = {};
  tm.tm_year = 2024 - 1900;
  tm.tm_mon = 0;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_isdst = -1;
  return std::mktime(&tm);
}

constexpr uint8_t kWeekdays = 0x1F;  // Monday … Friday
constexpr uint8_t kSaturday = 1 << 5;
constexpr uint8_t kSunday = 1 << 6;

TEST(RateLimiterPolicyTest, WindowsAndDefault) {
  BandwidthPolicy policy;
  policy.default_bits_per_second = 10'000'000;
  policy.windows.push_back({kWeekdays, 8 * 60, 18 * 60, 2'000'000});
  policy.windows.push_back({kSaturday, 0, 24 * 60, 0});           // unlimited all Saturday
  policy.windows.push_back({kWeekdays, 12 * 60, 13 * 60, 1});     // shadowed by the first

  EXPECT_EQ(policy.CapAt(LocalTime(1, 9, 0)), 2'000'000u);    // Monday 09:00
  EXPECT_EQ(policy.CapAt(LocalTime(1, 8, 0)), 2'000'000u);    // start is inclusive
  EXPECT_EQ(policy.CapAt(LocalTime(1, 7, 59)), 10'000'000u);  // before the window
  EXPECT_EQ(policy.CapAt(LocalTime(5, 17, 59)), 2'000'000u);  // Friday, last minute
  EXPECT_EQ(policy.CapAt(LocalTime(5, 18, 0)), 10'000'000u);  // end is exclusive
  EXPECT_EQ(policy.CapAt(LocalTime(3, 12, 30)), 2'000'000u);  // the first window wins
  EXPECT_EQ(policy.CapAt(LocalTime(6, 10, 0)), 0u);           // Saturday: unlimited window
  EXPECT_EQ(policy.CapAt(LocalTime(7, 10, 0)), 10'000'000u);  // Sunday: default
}

TEST(RateLimiterPolicyTest, DayBitsStartOnMonday) {
  for (int day = 0; day < 7; ++day) {
    BandwidthPolicy policy;
    policy.default_bits_per_second = 1;
    policy.windows.push_back({static_cast<uint8_t>(1 << day), 0, 24 * 60, 100});
    for (int other = 0; other < 7; ++other) {
      EXPECT_EQ(policy.CapAt(LocalTime(1 + other, 12, 0)), other == day ? 100u : 1u)
          << "window day " << day << ", probed day " << other;
    }
  }
}

TEST(RateLimiterPolicyTest, WindowWrapsPastMidnight) {
  BandwidthPolicy policy;
  policy.default_bits_per_second = 5;
  policy.windows.push_back({kSunday, 22 * 60, 6 * 60, 7});  // Sunday 22:00 → Monday 06:00
  EXPECT_EQ(policy.CapAt(LocalTime(7, 23, 0)), 7u);  // Sunday night
  EXPECT_EQ(policy.CapAt(LocalTime(8, 5, 59)), 7u);  // Monday early morning
  EXPECT_EQ(policy.CapAt(LocalTime(8, 6, 0)), 5u);
  EXPECT_EQ(policy.CapAt(LocalTime(9, 5, 0)), 5u);   // Tuesday: Monday is not listed
  EXPECT_EQ(policy.CapAt(LocalTime(7, 21, 59)), 5u);
}

TEST(RateLimiterPolicyTest, NoWindowsMeansDefault) {
  BandwidthPolicy policy;
  EXPECT_EQ(policy.CapAt(LocalTime(2, 10, 0)), 0u);
  policy.default_bits_per_second = 42;
  EXPECT_EQ(policy.CapAt(LocalTime(2, 10, 0)), 42u);
}

TEST(RateLimiterBucketTest, ThirtySecondsAtRate) {
  for (uint64_t rate : {625'000ull, 1'250'000ull, 3'000'000ull}) {
    ManualClockEnv env;
    TokenBucket bucket(&env);
    bucket.SetRate(rate);
    EXPECT_EQ(bucket.rate(), rate);
    ExpectWithin(SendFor(&env, &bucket, 30 * kSecond), rate * 30.0, 0.02);
  }
}

TEST(RateLimiterBucketTest, RateChangeMidway) {
  ManualClockEnv env;
  TokenBucket bucket(&env);
  bucket.SetRate(1'250'000);
  uint64_t first = SendFor(&env, &bucket, 15 * kSecond);
  bucket.SetRate(400'000);
  uint64_t second = SendFor(&env, &bucket, 15 * kSecond);
  ExpectWithin(first, 1'250'000 * 15.0, 0.02);
  ExpectWithin(second, 400'000 * 15.0, 0.02);
  ExpectWithin(first + second, (1'250'000 + 400'000) * 15.0, 0.02);

  bucket.SetRate(2'000'000);  // raising the rate applies at once
  ExpectWithin(SendFor(&env, &bucket, 15 * kSecond), 2'000'000 * 15.0, 0.02);
}

TEST(RateLimiterBucketTest, IdleTimeDoesNotBuildUpMoreThanBurst) {
  ManualClockEnv env;
  TokenBucket bucket(&env);
  bucket.SetRate(1'000'000, 64 * 1024);  // burst = max(100 ms, 64 KiB) = 100 000 bytes
  env.Advance(60 * kSecond);              // a long idle minute
  uint64_t sent = 0;
  while (bucket.TryTake(kMessage) == 0) sent += kMessage;
  EXPECT_LE(sent, 100'000u);
  EXPECT_GE(sent, 100'000u - kMessage);
}

TEST(RateLimiterBucketTest, UnlimitedNeverWaits) {
  ManualClockEnv env;
  TokenBucket bucket(&env);
  EXPECT_EQ(bucket.rate(), 0u);
  for (int i = 0; i < 10'000; ++i) ASSERT_EQ(bucket.TryTake(1 << 20), 0);
  bucket.SetRate(1000);
  EXPECT_EQ(bucket.TryTake(1 << 20), 0);  // limited now: a full bucket lets it go into debt…
  EXPECT_GT(bucket.TryTake(1 << 20), 0);  // …and the next one must wait…
  bucket.SetRate(0);
  EXPECT_EQ(bucket.rate(), 0u);
  for (int i = 0; i < 10'000; ++i) ASSERT_EQ(bucket.TryTake(1 << 20), 0);  // …but not any more
}

TEST(RateLimiterBucketTest, MessageBiggerThanBurstIsNotBlockedForever) {
  ManualClockEnv env;
  TokenBucket bucket(&env);
  bucket.SetRate(100'000, 64 * 1024);  // burst = 64 KiB
  const uint64_t big = 1 << 20;        // 16× the burst
  while (bucket.TryTake(kMessage) == 0) {}  // empty the bucket first

  int64_t waited = 0;
  int attempts = 0;
  int64_t wait;
  while ((wait = bucket.TryTake(big)) > 0) {
    ASSERT_LT(++attempts, 100) << "blocked forever";
    waited += wait;
    env.Advance(wait);
  }
  EXPECT_LE(waited, 1 * kSecond);  // ≈ one burst's refill time (0.66 s), not 10 s

  // The oversized message put the bucket in debt: the next send waits for it to be repaid.
  int64_t next = bucket.TryTake(1000);
  EXPECT_GT(next, 9 * kSecond);
  EXPECT_LT(next, 11 * kSecond);
  env.Advance(next);
  EXPECT_EQ(bucket.TryTake(1000), 0);
}

TEST(RateLimiterBucketTest, ChangingRateKeepsEarnedTokensCappedAtNewBurst) {
  ManualClockEnv env;
  TokenBucket bucket(&env);
  bucket.SetRate(1'000'000, 1000);  // burst 100 000 bytes, starts full
  bucket.SetRate(50'000, 1000);     // burst 5 000: the tokens are capped to it
  EXPECT_EQ(bucket.TryTake(5000), 0);
  EXPECT_GT(bucket.TryTake(1000), 0);
  env.Advance(kSecond / 10);  // earns 5 000 bytes at the new rate
  bucket.SetRate(1'000'000, 1000);  // earned tokens are kept, not refilled to the new burst
  EXPECT_EQ(bucket.TryTake(5000), 0);
  EXPECT_GT(bucket.TryTake(1000), 0);
}

}  // namespace
}  // namespace tcd::replicate
