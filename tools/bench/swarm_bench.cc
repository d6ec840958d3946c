// swarm_bench (issue 7, memory): the memory of a REAL province `tcd node` process receiving
// from N simulated recorders at once over loopback. Each recorder has its own node identity,
// enrolled at the province, and sends small sealed sessions with the real protocol and
// transport (see swarm_client.h); the province does all its real work: CurveZMQ + ZAP, entry
// and signature checks, synced catalog batches, FETCH of every blob into fsynced part files,
// blob store, acknowledgments.
//
// Per run: the province's RSS after start (baseline), with N idle connections (every recorder
// welcomed), its peak (VmHWM; VmRSS sampled every 50 ms too) while all N are connected and
// sending, and the time until it holds every session; then `tcd sessions` must list every
// session sealed with its media, and `tcd verify` must pass (else exit 1: nothing measured).
// Runs alternate the recorder counts (250, 500, 1000, 250, …) so a noisy neighbour hits all.
// Timing and memory never fail the run.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "base/env.h"
#include "tools/bench/swarm_client.h"
#include "tools/bench/swarm_fleet.h"
#include "tools/bench/swarm_province.h"

namespace tcd::bench {
namespace {

struct Options {
  std::vector<size_t> recorders = {250, 500, 1000};
  int runs = 3;
  FleetShape shape;
  std::string tcd, dir = "/var/tmp", scratch = "/dev/shm", json;
  size_t min_kb = 10, max_kb = 50;
  double timeout_s = 900;
  long province_nofile = 0;
  bool verify = true;
};

struct Point {
  size_t n = 0;
  int run = 0;
  Mem baseline, welcomed, held;
  uint64_t sampled_max_kb = 0;
  SwarmResult swarm;
  size_t sessions = 0;
  uint64_t payload = 0;
  double PerConnKb() const { return (double(held.hwm_kb) - double(baseline.rss_kb)) / n; }
  double IdlePerConnKb() const { return (double(welcomed.rss_kb) - double(baseline.rss_kb)) / n; }
};

std::string MakeTemp(const std::string& base) {
  std::string t = base + "/tcd-swarm-XXXXXX";
  return ::mkdtemp(t.data()) ? t : std::string();
}

// RSS of `pid` every 50 ms until stopped: the largest VmRSS seen.
class Sampler {
 public:
  explicit Sampler(pid_t pid)
      : thread_([this, pid] {
          while (!stop_) {
            max_kb_ = std::max<uint64_t>(max_kb_, ReadMem(pid).rss_kb);
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
          }
        }) {}
  uint64_t Stop() {
    stop_ = true;
    thread_.join();
    return max_kb_;
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> max_kb_{0};
  std::thread thread_;
};

Result<Point> RunOne(const SwarmFleet& fleet, const Options& o, const std::string& work,
                     size_t n, int run) {
  Point pt;
  pt.n = n;
  pt.run = run;
  const std::string dir = work + "/n" + std::to_string(n) + "-run" + std::to_string(run);
  TCD_ASSIGN_OR_RETURN(auto prov, Province::Prepare(fleet, {o.tcd, dir, n, o.province_nofile}));
  TCD_RETURN_IF_ERROR(prov->Start());
  std::this_thread::sleep_for(std::chrono::seconds(2));  // let start-up settle
  pt.baseline = ReadMem(prov->pid());
  Sampler sampler(prov->pid());
  SwarmOptions so;
  so.address = prov->address();
  so.province_pk = prov->transport_pk();
  so.recorders = n;
  so.timeout_s = o.timeout_s;
  so.on_phase = [&](const std::string& phase) {
    if (phase == "welcomed") {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      pt.welcomed = ReadMem(prov->pid());
    } else {
      pt.held = ReadMem(prov->pid());
    }
  };
  auto res = RunSwarm(fleet, so);
  pt.sampled_max_kb = sampler.Stop();
  if (!res.ok())
    return Status::Aborted("N=" + std::to_string(n) + " run " + std::to_string(run) + ": " +
                           res.status().ToString() + "\nprovince log tail:\n" + prov->LogTail());
  pt.swarm = *res;
  std::vector<std::string> ids;
  for (size_t i = 0; i < n; ++i)
    for (const auto& s : fleet.recorders[i].sessions)
      ids.push_back(crypto::SessionIdToString(s.id));
  pt.sessions = ids.size();
  pt.payload = PayloadBytes(fleet, n);
  TCD_RETURN_IF_ERROR(prov->CheckSessions(ids));
  TCD_RETURN_IF_ERROR(prov->Stop());
  if (o.verify) TCD_RETURN_IF_ERROR(prov->Verify());
  prov.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return pt;
}

nlohmann::json PointJson(const Point& p) {
  return {{"recorders", p.n},
          {"run", p.run},
          {"sessions", p.sessions},
          {"payload_mb", p.payload / 1e6},
          {"baseline_rss_mb", p.baseline.rss_kb / 1024.0},
          {"welcomed_rss_mb", p.welcomed.rss_kb / 1024.0},
          {"held_rss_mb", p.held.rss_kb / 1024.0},
          {"peak_rss_mb", p.held.hwm_kb / 1024.0},
          {"peak_rss_sampled_mb", p.sampled_max_kb / 1024.0},
          {"rss_per_connection_kb", p.PerConnKb()},
          {"idle_rss_per_connection_kb", p.IdlePerConnKb()},
          {"welcomed_s", p.swarm.welcomed_s},
          {"held_s", p.swarm.held_s},
          {"transfer_s", p.swarm.transfer_s},
          {"fetches", p.swarm.fetches},
          {"errors", p.swarm.errors},
          {"resends", p.swarm.resends}};
}

void PrintPoint(const Point& p) {
  std::printf("N=%-5zu run %d  baseline %6.1f MB  idle %6.1f MB  peak %6.1f MB (sampled %6.1f)"
              "  per conn %6.1f KB (idle %5.1f)  welcomed %5.1f s  held %6.1f s  "
              "[%zu sessions, %.0f MB, %llu errors]\n",
              p.n, p.run, p.baseline.rss_kb / 1024.0, p.welcomed.rss_kb / 1024.0,
              p.held.hwm_kb / 1024.0, p.sampled_max_kb / 1024.0, p.PerConnKb(),
              p.IdlePerConnKb(), p.swarm.welcomed_s, p.swarm.held_s, p.sessions, p.payload / 1e6,
              static_cast<unsigned long long>(p.swarm.errors));
  std::fflush(stdout);
}

// Each connection needs a descriptor here (and a ZeroMQ mailbox descriptor): raise the soft
// limit to the hard one, and say so when even that is too small.
Status RaiseNofile(size_t recorders) {
  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &rl);
  const rlim_t need = 2 * recorders + 256;
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
    return Status::InvalidArgument("RLIMIT_NOFILE hard limit " + std::to_string(rl.rlim_max) +
                                   " is below the " + std::to_string(need) + " descriptors " +
                                   std::to_string(recorders) + " recorders need (ulimit -Hn)");
  return Status::OK();
}

int Main(int argc, char** argv) {
  Options o;
  CLI::App app{"swarm_bench: peak RSS of a real province `tcd node` receiving from N simulated "
               "recorders at once (loopback)"};
  app.add_option("--recorders", o.recorders, "recorder counts, run in turn")->delimiter(',');
  app.add_option("--runs", o.runs, "runs of each count")->check(CLI::PositiveNumber);
  app.add_option("--sessions", o.shape.sessions, "sealed sessions per recorder")
      ->check(CLI::PositiveNumber);
  app.add_option("--segments", o.shape.segments, "segments per session")->check(CLI::PositiveNumber);
  app.add_option("--min-kb", o.min_kb, "smallest segment (KiB)");
  app.add_option("--max-kb", o.max_kb, "largest segment (KiB)");
  app.add_option("--tcd", o.tcd, "the tcd binary (default: ../tcd next to this program)");
  app.add_option("--dir", o.dir, "where the province data directories go (a disk: fsync is "
                 "part of the work)");
  app.add_option("--scratch", o.scratch, "where the recorders' sessions are recorded (tmpfs)");
  app.add_option("--json", o.json, "write every run's figures here");
  app.add_option("--timeout", o.timeout_s, "seconds to hold every session before giving up");
  app.add_option("--province-nofile", o.province_nofile,
                 "RLIMIT_NOFILE soft limit of the province process (default: inherited)");
  app.add_flag("!--no-verify", o.verify, "skip `tcd verify` after each run");
  CLI11_PARSE(app, argc, argv);
  o.shape.min_segment_bytes = o.min_kb * 1024;
  o.shape.max_segment_bytes = o.max_kb * 1024;
  // The recorders share one scratch store, whose own node log no single key can sign: its
  // warnings (and the per-session info lines) are noise here.
  spdlog::set_level(spdlog::level::err);
  if (o.recorders.empty() || o.shape.min_segment_bytes > o.shape.max_segment_bytes) {
    std::fprintf(stderr, "swarm_bench: need --recorders and --min-kb <= --max-kb\n");
    return 2;
  }
  if (o.tcd.empty())
    o.tcd = (std::filesystem::canonical("/proc/self/exe").parent_path().parent_path() / "tcd")
                .string();
  if (!std::filesystem::exists(o.tcd)) {
    std::fprintf(stderr, "swarm_bench: no tcd binary at %s (give --tcd)\n", o.tcd.c_str());
    return 1;
  }
  const size_t max_n = *std::max_element(o.recorders.begin(), o.recorders.end());
  if (Status s = RaiseNofile(max_n); !s.ok()) {
    std::fprintf(stderr, "swarm_bench: %s\n", s.ToString().c_str());
    return 1;
  }
  const std::string work = MakeTemp(o.dir), scratch = MakeTemp(o.scratch);
  if (work.empty() || scratch.empty()) {
    std::fprintf(stderr, "swarm_bench: cannot create a temporary directory in %s or %s\n",
                 o.dir.c_str(), o.scratch.c_str());
    return 1;
  }
  auto cleanup = [&] {
    std::error_code ec;
    std::filesystem::remove_all(work, ec);
    std::filesystem::remove_all(scratch, ec);
  };
  o.shape.recorders = static_cast<int>(max_n);
  const auto t0 = std::chrono::steady_clock::now();
  auto fleet = MakeFleet(scratch, o.shape);
  if (!fleet.ok()) {
    std::fprintf(stderr, "swarm_bench: %s\n", fleet.status().ToString().c_str());
    cleanup();
    return 1;
  }
  std::printf("== %zu recorders × %d session(s) of %d segments (%zu–%zu KiB) recorded in %.1f s; "
              "tcd: %s\n",
              max_n, o.shape.sessions, o.shape.segments, o.shape.min_segment_bytes / 1024,
              o.shape.max_segment_bytes / 1024,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
              o.tcd.c_str());
  nlohmann::json points = nlohmann::json::array();
  for (int run = 1; run <= o.runs; ++run)
    for (size_t n : o.recorders) {
      auto p = RunOne(*fleet, o, work, n, run);
      if (!p.ok()) {
        std::fprintf(stderr, "swarm_bench: %s\n", p.status().ToString().c_str());
        cleanup();
        return 1;
      }
      PrintPoint(*p);
      points.push_back(PointJson(*p));
    }
  cleanup();
  if (!o.json.empty()) {
    nlohmann::json doc = {
        {"shape",
         {{"sessions_per_recorder", o.shape.sessions},
          {"segments_per_session", o.shape.segments},
          {"segment_kib", {o.shape.min_segment_bytes / 1024, o.shape.max_segment_bytes / 1024}},
          {"init_bytes", o.shape.init_bytes}}},
        {"points", points}};
    std::ofstream out(o.json);
    out << doc.dump(2) << "\n";
    if (!out) {
      std::fprintf(stderr, "swarm_bench: cannot write %s\n", o.json.c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace tcd::bench

int main(int argc, char** argv) { return tcd::bench::Main(argc, argv); }
