// ingest_bench: the recorder's ingest pipeline against the two limits of this machine that
// bound it, measured in the same run on the same bytes (issue 7, item 1).
//
//   ingest_bench [--dir DIR] [--segments 100] [--segment-bytes 2000000] [--sessions 1]
//                [--runs 5] [--json OUT]
//
// Each run, in turn (so that a noisy neighbour hits all three alike):
//  * ours: `sessions` SessionRecorders on one Store (threads, as a node records several
//    sources; the store warmed up first, see OpenWarmStore), each given `segments` segments of `segment-bytes` random bytes: per segment
//    encrypt (XChaCha20-Poly1305), hash plaintext and ciphertext (BLAKE2b-256), link, sign
//    (Ed25519), write the blob durably (temp file, fsync, rename, fsync dir), then the synced
//    catalog batch (entry, search index, node-log leaf). Timed from the first segment to the
//    last durable commit; the open entry, init and seal are outside the timing.
//  * fsync: the same bytes written sequentially to one file per session thread, fsync after
//    every segment (the disk's limit for the same durability points, with no metadata work).
//  * crypto: the same bytes encrypted with libsodium's XChaCha20-Poly1305 and hashed once with
//    BLAKE2b-256, in memory, one thread per session (the CPU's limit for the same bytes).
// Prints a line per run and, with --json, the figures in ops/bench/README.md's schema (the
// script ops/bench/ingest fills in command and machine). Exit 0 ran, 1 error.
#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <thread>

#include "crypto/keys.h"
#include "node/session_recorder.h"
#include "node/store.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace tcd::bench {
namespace {

struct Options {
  std::string dir = "/var/tmp/tcd-bench-ingest";
  int segments = 100;
  size_t segment_bytes = 2'000'000;  // 4 s of a 4 Mbit/s stream
  int sessions = 1;
  int runs = 5;
  std::string json_out;
};

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// Runs fn(i) on `n` threads at once and returns the first error (or OK).
Status OnThreads(int n, const std::function<Status(int)>& fn) {
  std::vector<Status> st(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) threads.emplace_back([&, i] { st[i] = fn(i); });
  for (auto& t : threads) t.join();
  for (auto& s : st) TCD_RETURN_IF_ERROR(s);
  return Status::OK();
}

// Records `segments` segments of data[...] in each of `sessions` sessions at once on `store`;
// returns the seconds from the first segment to the last durable commit.
Result<double> RecordSessions(node::Store* store, int sessions, int segments,
                              const std::vector<Bytes>& data) {
  // One node key per store (its node log is bound to the first key that signs).
  static const crypto::NodeIdentity node = crypto::GenerateNodeIdentity();
  static const crypto::ArchivePublic archive = crypto::GenerateArchiveKey().pub;
  std::vector<std::unique_ptr<node::SessionRecorder>> recs;
  for (int s = 0; s < sessions; ++s) {
    crypto::Metadata meta = {{"point", "bench-" + std::to_string(s)}, {"chair", "Nguyễn Văn An"}};
    TCD_ASSIGN_OR_RETURN(auto rec, node::SessionRecorder::Start(store, &node, {archive}, meta));
    TCD_RETURN_IF_ERROR(rec->OnInit(0, Bytes(800, 1), "h264 1280x720 25fps, aac 48000Hz 2ch"));
    recs.push_back(std::move(rec));
  }
  const auto t0 = Clock::now();
  TCD_RETURN_IF_ERROR(OnThreads(sessions, [&](int s) -> Status {
    for (int i = 0; i < segments; ++i) {
      ingest::MediaSegment seg;
      seg.index = i;
      seg.data = data[(s * segments + i) % data.size()];
      seg.media_start_us = int64_t{i} * 4'000'000;
      seg.duration_us = 4'000'000;
      seg.wall_start_us = recs[s]->record().start_us + seg.media_start_us;
      TCD_RETURN_IF_ERROR(recs[s]->OnSegment(std::move(seg)));
    }
    return Status::OK();
  }));
  const double secs = Seconds(t0);
  for (auto& r : recs) TCD_RETURN_IF_ERROR(r->Seal(crypto::SealReason::kStopped));
  return secs;
}

// A store as on a recorder that has recorded for a while: its 256 blob shard directories
// exist (a new shard costs one more directory fsync, a cost of the first hours only). Made by
// recording 2,048 small segments through the product, not by creating directories.
Result<std::unique_ptr<node::Store>> OpenWarmStore(const fs::path& dir) {
  fs::remove_all(dir);
  node::StoreOptions so;
  so.min_free_bytes = 1 << 20;
  TCD_ASSIGN_OR_RETURN(auto store, node::Store::Open(Env::Default(), dir.string(), so));
  std::vector<Bytes> small(2048, Bytes(1000));
  for (auto& b : small) randombytes_buf(b.data(), b.size());
  TCD_RETURN_IF_ERROR(RecordSessions(store.get(), 8, 256, small).status());
  return store;
}

// Seconds to write the same bytes sequentially, fsync after each segment, one file per thread.
// The files stay until the end of the benchmark: removing hundreds of megabytes makes the
// filesystem discard them in the background (this disk is mounted with `discard`), which slowed
// whatever ran next (the next run's pipeline by a third).
Result<double> RunFsync(const Options& o, const std::vector<Bytes>& data, const fs::path& dir) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  const auto t0 = Clock::now();
  TCD_RETURN_IF_ERROR(OnThreads(o.sessions, [&](int s) -> Status {
    const std::string path = (dir / ("seq-" + std::to_string(s))).string();
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return Status::IOError(path + ": cannot create");
    for (int i = 0; i < o.segments; ++i) {
      const Bytes& b = data[(s * o.segments + i) % data.size()];
      for (size_t off = 0; off < b.size();) {
        ssize_t n = ::write(fd, b.data() + off, b.size() - off);
        if (n <= 0) { ::close(fd); return Status::IOError(path + ": write failed"); }
        off += static_cast<size_t>(n);
      }
      if (::fsync(fd) != 0) { ::close(fd); return Status::IOError(path + ": fsync failed"); }
    }
    ::close(fd);
    return Status::OK();
  }));
  return Seconds(t0);
}

volatile uint8_t crypto_sink = 0;  // keeps the crypto from being optimized out

// Seconds to encrypt and BLAKE2b-hash the same bytes in memory, one thread per session.
Result<double> RunCrypto(const Options& o, const std::vector<Bytes>& data) {
  const auto t0 = Clock::now();
  TCD_RETURN_IF_ERROR(OnThreads(o.sessions, [&](int s) -> Status {
    uint8_t key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
    uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES] = {};
    randombytes_buf(key, sizeof key);
    Bytes out(o.segment_bytes + crypto_aead_xchacha20poly1305_ietf_ABYTES);
    uint8_t h[32];
    for (int i = 0; i < o.segments; ++i) {
      const Bytes& b = data[(s * o.segments + i) % data.size()];
      nonce[0] = static_cast<uint8_t>(i);
      crypto_aead_xchacha20poly1305_ietf_encrypt(out.data(), nullptr, b.data(), b.size(), nullptr,
                                                 0, nullptr, nonce, key);
      crypto_generichash(h, sizeof h, b.data(), b.size(), nullptr, 0);
      crypto_sink = crypto_sink + out[0] + h[0];
    }
    return Status::OK();
  }));
  return Seconds(t0);
}

json Stats(std::vector<double> v) {
  json runs = v;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  const double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return {{"median", median}, {"min", v.front()}, {"max", v.back()}, {"runs", runs}};
}

int Run(const Options& o) {
  spdlog::set_level(spdlog::level::warn);  // no line per session opened and sealed
  if (sodium_init() < 0) { std::fprintf(stderr, "ingest_bench: libsodium init failed\n"); return 1; }
  const double mb = double(o.segments) * o.sessions * o.segment_bytes / 1e6;
  // Distinct random segments (up to 64 MB of them), reused round-robin beyond that.
  const size_t distinct = std::clamp<size_t>((64u << 20) / o.segment_bytes, 1,
                                             size_t(o.segments) * o.sessions);
  std::vector<Bytes> data(distinct, Bytes(o.segment_bytes));
  for (auto& b : data) randombytes_buf(b.data(), b.size());
  std::printf("ingest: %d session(s) x %d segments x %zu bytes = %.0f MB per run, %d runs, in %s\n",
              o.sessions, o.segments, o.segment_bytes, mb, o.runs, o.dir.c_str());
  auto store = OpenWarmStore(fs::path(o.dir) / "store");
  if (!store.ok()) {
    std::fprintf(stderr, "ingest_bench: %s\n", store.status().ToString().c_str());
    return 1;
  }
  std::vector<double> ours, fsync_mbps, crypto_mbps, limit, ratio, segs;
  for (int r = 0; r < o.runs; ++r) {
    auto a = RecordSessions(store->get(), o.sessions, o.segments, data);
    auto b = RunFsync(o, data, fs::path(o.dir) / ("fsync-" + std::to_string(r)));
    auto c = RunCrypto(o, data);
    for (const Status& st : {a.status(), b.status(), c.status()}) {
      if (!st.ok()) {
        std::fprintf(stderr, "ingest_bench: run %d: %s\n", r + 1, st.ToString().c_str());
        return 1;
      }
    }
    ours.push_back(mb / *a);
    fsync_mbps.push_back(mb / *b);
    crypto_mbps.push_back(mb / *c);
    limit.push_back(std::min(fsync_mbps.back(), crypto_mbps.back()));
    ratio.push_back(ours.back() / limit.back());
    segs.push_back(double(o.segments) * o.sessions / *a);
    std::printf("run %d: ours %.1f MB/s (%.1f segments/s), fsync'd writes %.1f MB/s, "
                "libsodium %.1f MB/s, ours / smaller limit %.2f\n",
                r + 1, ours.back(), segs.back(), fsync_mbps.back(), crypto_mbps.back(),
                ratio.back());
  }
  store->reset();
  fs::remove_all(o.dir);
  if (o.json_out.empty()) return 0;
  const std::string what = std::to_string(o.sessions) + " session(s) at once, " +
                           std::to_string(o.segment_bytes / 1000) + " KB segments";
  json peer = Stats(limit);
  peer["name"] = "the smaller limit: fsync'd sequential writes or libsodium, same bytes";
  json fig_mbps = {{"id", "ingest.mbps." + std::to_string(o.sessions) + "x" +
                              std::to_string(o.segment_bytes / 1000) + "k"},
                   {"what", "ingest pipeline, " + what},
                   {"unit", "MB/s"},
                   {"better", "higher"},
                   {"ours", Stats(ours)},
                   {"peer", peer},
                   {"ratio", Stats(ratio)},
                   {"goal", {{"text", ">= 0.7 x the smaller limit"}, {"ratio_min", 0.7}}}};
  fig_mbps["met"] = fig_mbps["ratio"]["median"].get<double>() >= 0.7;
  json fsync_stats = Stats(fsync_mbps), crypto_stats = Stats(crypto_mbps);
  char notes[256];
  std::snprintf(notes, sizeof notes,
                "limits (median): fsync'd writes %.1f MB/s, libsodium XChaCha20-Poly1305 + "
                "BLAKE2b %.1f MB/s; ours %.1f segments/s",
                fsync_stats["median"].get<double>(), crypto_stats["median"].get<double>(),
                Stats(segs)["median"].get<double>());
  fig_mbps["notes"] = notes;
  json out = {{"benchmark", "ingest"},
              {"figures", {fig_mbps}},
              {"detail",
               {{"what", what},
                {"ours_segments_per_s", Stats(segs)},
                {"fsync_mbps", fsync_stats},
                {"crypto_mbps", crypto_stats}}}};
  std::ofstream f(o.json_out);
  f << out.dump(2) << "\n";
  if (!f) { std::fprintf(stderr, "ingest_bench: cannot write %s\n", o.json_out.c_str()); return 1; }
  return 0;
}

}  // namespace
}  // namespace tcd::bench

int main(int argc, char** argv) {
  tcd::bench::Options o;
  CLI::App app{"Ingest benchmark: the pipeline against fsync'd writes and libsodium"};
  app.add_option("--dir", o.dir, "work directory (on the disk the node would use)");
  app.add_option("--segments", o.segments, "segments per session and run")->check(CLI::PositiveNumber);
  app.add_option("--segment-bytes", o.segment_bytes, "bytes per segment")->check(CLI::PositiveNumber);
  app.add_option("--sessions", o.sessions, "sessions recorded at once")->check(CLI::Range(1, 64));
  app.add_option("--runs", o.runs, "runs (alternating ours, fsync, crypto)")->check(CLI::PositiveNumber);
  app.add_option("--json", o.json_out, "write the figures as JSON here");
  CLI11_PARSE(app, argc, argv);
  return tcd::bench::Run(o);
}
