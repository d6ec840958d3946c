// The search benchmark's data set (tools/bench/search_bench.cc): a realistic national archive of
// citizen-reception sessions, generated deterministically from a seed, and its writer into a
// real catalog through Catalog::Append.
//
// Generation is two passes. GenerateDataset (sequential, seconds) decides every session's
// metadata and keeps it in memory: the SQLite side and the query parameters are drawn from it.
// WriteCatalog builds each session's chain (open, init, segments, maybe a gap, seal or
// recovery-close, maybe an annotation), signs it on worker threads and appends it in session
// order from one thread, exactly as node/session_recorder.cc and node/chain_writer.cc do.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "crypto/chain.h"
#include "node/catalog.h"

namespace tcd::bench {

// SplitMix64: small, fast, and the same on every platform (std:: distributions are not).
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t Below(uint64_t n) {  // uniform in [0, n), REQUIRES: n > 0
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >> 64);
  }
  int64_t Range(int64_t lo, int64_t hi) {  // uniform in [lo, hi]
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo + 1)));
  }
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  bool Chance(double p) { return Unit() < p; }

 private:
  uint64_t s_;
};

// A derived seed for stream `what`, item `i`: independent of thread count and order.
uint64_t SubSeed(uint64_t seed, uint64_t what, uint64_t i);

struct GenParams {
  uint64_t sessions = 1'000'000;
  uint32_t segments_per_session = 10;  // average; each session has 1 … 2·avg−1
  uint64_t seed = 1;
  bool sign_all = true;  // false: real signatures on open and seal entries only
};

constexpr const char* kTypes[4] = {"complaint", "denunciation", "petition", "feedback"};

struct Point {
  std::string id;                   // "xa-tan-phu-0123"
  uint16_t province = 0;            // index into Dataset::provinces
  std::vector<std::string> chairs;  // officials who chair sessions there
};

struct Session {
  crypto::SessionId id{};
  int64_t start_us = 0;  // the open entry's time (UTC µs); unique in the data set
  uint32_t point = 0;
  uint8_t type = 0;      // index into kTypes
  std::string case_no;   // "KN-2024/00017"
  std::string chair;
  std::vector<std::string> participants;
  std::string conference;  // "" when not part of a conference
  std::string note;
  uint16_t segments = 0;
  int64_t last_segment_us = 0;  // every other segment lasts 60 s
  bool gap = false;        // a gap (and a new run) in the middle
  bool recovered = false;  // closed by a recovery-close note instead of a seal
  crypto::Metadata annotation;  // empty when none
  std::string cccd;        // citizen id number quoted in the note ("" when none)

  int64_t media_duration_us() const { return (segments - 1) * int64_t{60000000} + last_segment_us; }
  node::SessionState state() const {
    return recovered ? node::SessionState::kRecovered : node::SessionState::kSealed;
  }
};

struct Dataset {
  GenParams params;
  std::vector<std::string> provinces;
  std::vector<Point> points;
  std::vector<Session> sessions;  // in start order
  int64_t end_us = 0;             // end of the covered period ("now" for relative queries)
};

Dataset GenerateDataset(const GenParams& p);

// The open entry's metadata of session `s`, in the order a recorder writes it.
crypto::Metadata OpenMetadata(const Dataset& d, const Session& s);

struct WriteStats {
  uint64_t entries = 0;
  uint64_t segments = 0;
  uint64_t signatures = 0;  // real Ed25519 signatures made
  double seconds = 0;
  double cpu_seconds = 0;  // all threads of the process: signing, appending, compacting
};
// Appends every session of `d` to `catalog` (bulk: the caller turns sync off), `threads`
// workers building and signing chains. Prints progress to stdout.
Result<WriteStats> WriteCatalog(const Dataset& d, node::Catalog* catalog, int threads);

}  // namespace tcd::bench
