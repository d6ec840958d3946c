#include "replicate/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace tcd::replicate {

namespace {

constexpr int kMinutesPerDay = 24 * 60;

// Monday = 0 … Sunday = 6 (struct tm counts from Sunday = 0).
int WeekdayFromMonday(const std::tm& tm) { return (tm.tm_wday + 6) % 7; }

bool HasDay(uint8_t days, int day) { return (days >> day) & 1u; }

// Whether `w` contains minute `minute` of weekday `day`. A window whose end is not after its
// start wraps past midnight: it begins on a listed day and ends on the following day
// (22:00–06:00 on Friday covers Friday 22:00 to Saturday 06:00). start == end is empty.
bool Contains(const CapWindow& w, int day, int minute) {
  if (w.start_minute < w.end_minute)
    return HasDay(w.days, day) && minute >= w.start_minute && minute < w.end_minute;
  if (w.start_minute == w.end_minute) return false;
  int previous_day = (day + 6) % 7;
  return (HasDay(w.days, day) && minute >= w.start_minute) ||
         (HasDay(w.days, previous_day) && minute < w.end_minute);
}

}  // namespace

uint64_t BandwidthPolicy::CapAt(std::time_t t) const {
  std::tm tm = {};
  if (localtime_r(&t, &tm) == nullptr) return default_bits_per_second;
  const int day = WeekdayFromMonday(tm);
  const int minute = std::clamp(tm.tm_hour * 60 + tm.tm_min, 0, kMinutesPerDay - 1);
  for (const CapWindow& w : windows) {
    if (Contains(w, day, minute)) return w.bits_per_second;
  }
  return default_bits_per_second;
}

TokenBucket::TokenBucket(Env* env) : env_(env), last_us_(env->MonotonicMicros()) {}

void TokenBucket::SetRate(uint64_t bytes_per_second, uint64_t max_message_bytes) {
  Refill();
  const bool was_unlimited = rate_ == 0;
  rate_ = bytes_per_second;
  if (rate_ == 0) {
    burst_ = 0;
    tokens_ = 0;
    return;
  }
  burst_ = std::max(static_cast<double>(rate_) / 10.0, static_cast<double>(max_message_bytes));
  // Coming from "unlimited", nothing was being held back: start with a full bucket.
  tokens_ = was_unlimited ? burst_ : std::min(tokens_, burst_);
}

void TokenBucket::Refill() {
  const int64_t now = env_->MonotonicMicros();
  const int64_t elapsed = now - last_us_;
  last_us_ = now;
  if (rate_ == 0 || elapsed <= 0) return;
  tokens_ = std::min(burst_, tokens_ + static_cast<double>(rate_) * elapsed / 1e6);
}

int64_t TokenBucket::TryTake(uint64_t bytes) {
  Refill();
  if (rate_ == 0) return 0;
  const double want = static_cast<double>(bytes);
  // A message bigger than the burst can never be covered; it goes once the bucket is full.
  const double needed = std::min(want, burst_);
  if (tokens_ >= needed) {
    tokens_ -= want;  // may go into debt for an oversized message
    return 0;
  }
  const double wait_us = std::ceil((needed - tokens_) * 1e6 / static_cast<double>(rate_));
  return std::max<int64_t>(1, static_cast<int64_t>(wait_us));
}

}  // namespace tcd::replicate
