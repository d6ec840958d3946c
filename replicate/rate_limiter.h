// Bandwidth cap of a replication link (DESIGN.md §5: replication must never starve the live
// conference on a 5 Mbit/s line): a token bucket whose rate follows a weekly schedule.
//
// Thread-safety: not thread-safe; one sender thread owns its limiter.
#pragma once

#include <cstdint>
#include <ctime>
#include <vector>

#include "base/env.h"

namespace tcd::replicate {

// A cap that applies in a weekly window of local time: days (bit 0 = Monday … bit 6 =
// Sunday), [start_minute, end_minute) after local midnight.
struct CapWindow {
  uint8_t days = 0;
  int start_minute = 0;
  int end_minute = 0;
  uint64_t bits_per_second = 0;  // 0 = unlimited inside this window
};

struct BandwidthPolicy {
  uint64_t default_bits_per_second = 0;  // outside every window; 0 = unlimited
  std::vector<CapWindow> windows;        // the first window containing the time wins
  // The cap at local time `t` (0 = unlimited).
  uint64_t CapAt(std::time_t t) const;
};

// Token bucket in bytes. The bucket holds at most `burst` bytes (default: 100 ms worth at the
// current rate, at least one maximal message), so over any window of a few seconds the bytes
// taken stay within a few percent of rate × time.
class TokenBucket {
 public:
  explicit TokenBucket(Env* env);
  // 0 = unlimited. Changing the rate keeps the tokens already earned (capped at the new burst).
  void SetRate(uint64_t bytes_per_second, uint64_t max_message_bytes = 64 * 1024);
  uint64_t rate() const { return rate_; }
  // How long to wait (µs) before `bytes` may be sent; 0 means "now", and then the tokens are
  // taken. A message larger than the burst is allowed when the bucket is full (it goes into
  // debt), so nothing is ever blocked forever.
  int64_t TryTake(uint64_t bytes);

 private:
  void Refill();
  Env* const env_;
  uint64_t rate_ = 0;
  double burst_ = 0;
  double tokens_ = 0;
  int64_t last_us_ = 0;
};

}  // namespace tcd::replicate
