// search_bench: latency of `tcd search` (Catalog::Search) on a national-scale catalog, next to
// the same queries on SQLite + FTS5 over the same data, in the same run (issue 5).
//
//   search_bench [--sessions 1000000] [--segments-per-session 10] [--dir DIR] [--queries 5000]
//                [--warmup 50] [--page-cache warm|as-is] [--seed 1] [--threads N]
//                [--signatures all|ends] [--json OUT] [--explain]
//
// 1. Generates the data set (bench_data.h) and, unless DIR already holds one made with the same
//    parameters (DIR/bench-params.json), writes it into DIR/catalog through Catalog::Append
//    (bulk: set_sync(false), and set_node_log(false): an archive does not log what it
//    receives), compacts it whole (Catalog::Compact: as on an archive whose sessions are
//    mostly old; SQLite gets 'optimize' and ANALYZE likewise), and loads DIR/sessions.sqlite.
//    A catalog generated before this compaction was part of generation is compacted once.
//    When the catalog's search index has an older layout (node::kSearchIndexVersion), it is
//    rebuilt from the chain as `tcd reindex` does (Reindex, then Compact) instead of
//    generating everything again.
// 2. Opens the catalog read-only, as `tcd search` does. For each query kind (bench_query.h):
//    both engines' files read into the page cache (--page-cache warm), a warm-up set, then a
//    timed set on each engine; every timed query must return the same
//    sessions in the same order on both, or the run aborts. An untimed pass then counts
//    RocksDB's work per query (iterator seeks, blocks read, block cache hits).
// 3. Prints p50/p99/max/mean per kind and engine and writes them as JSON.
// A benchmark, not a test: it never fails on timing. Exit 0 = ran and engines agreed,
// 1 = error, 2 = the engines disagreed.
#include <rocksdb/db.h>
#include <rocksdb/perf_context.h>
#include <rocksdb/perf_level.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>
#include <time.h>

#include "node/catalog.h"
#include "node/search.h"
#include "tools/bench/bench_data.h"
#include "tools/bench/bench_files.h"
#include "tools/bench/bench_query.h"
#include "tools/bench/bench_sqlite.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace tcd::bench {
namespace {

constexpr const char* kFormat = "tcd-search-bench/6";  // bump when the generator changes

struct Options {
  uint64_t sessions = 1'000'000;
  uint32_t segments = 10;
  std::string dir = "/var/tmp/tcd-bench-search";
  size_t queries = 5000;  // p99 is then the 50th slowest: stable from run to run
  size_t warmup = 50;
  std::string page_cache = "warm";  // warm: both engines' files read before each kind
  uint64_t seed = 1;
  int threads = std::max(1u, std::thread::hardware_concurrency());
  std::string signatures = "all";
  std::string json_out;
  bool explain = false;
  std::vector<std::string> kinds;  // empty: every kind
};

volatile size_t shown_bytes_sink = 0;  // keeps the result reading from being optimized out

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// The 1-minute load average: other work on the machine shows up as latency outliers.
double LoadAverage() {
  double l = -1;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &l) != 1) l = -1;
    std::fclose(f);
  }
  return l;
}

// Rebuilds the search index of the catalog in `dir` as `tcd reindex` does; records the time
// and the new sizes in `st`.
Status Reindex(const fs::path& dir, json* st) {
  const auto t = std::chrono::steady_clock::now();
  {
    // A writable open of a catalog whose index is not current rebuilds it (Catalog::Reindex).
    TCD_ASSIGN_OR_RETURN(auto catalog, node::Catalog::Open(dir.string(), false));
    (*st)["reindex_seconds"] = Seconds(t);
    TCD_RETURN_IF_ERROR(catalog->Compact());
    (*st)["reindex_compact_seconds"] = Seconds(t) - (*st)["reindex_seconds"].get<double>();
  }
  (*st)["catalog_cf_mb"] = FamilySizes(dir.string());
  (*st)["search_index_version"] = node::kSearchIndexVersion;
  std::printf("search index rebuilt in %.0f s, compacted in %.0f s more\n",
              (*st)["reindex_seconds"].get<double>(), (*st)["reindex_compact_seconds"].get<double>());
  return Status::OK();
}

// Compacts the freshly written catalog in `dir` whole (Catalog::Compact), then waits for
// RocksDB's background work to be quiet; records the times in `st`. Without this the tables'
// shape depended on the machine's load while the catalog was written (writes stalled behind
// compactions leave different levels), and the last sessions written (the newest, which most
// queries read first) stayed in the write-ahead log, replayed into a memtable holding a version
// of their cards per entry: a state of generation order, not of an archive (docs/BENCHMARKS.md).
Status CompactCatalog(const fs::path& dir, json* st) {
  const auto t = std::chrono::steady_clock::now();
  {
    TCD_ASSIGN_OR_RETURN(auto catalog, node::Catalog::Open(dir.string(), false));
    TCD_RETURN_IF_ERROR(catalog->Compact());
    (*st)["compact_seconds"] = Seconds(t);
    (*st)["settle_seconds"] = SettleCompactions(dir);
  }
  (*st)["compacted"] = true;
  (*st)["catalog_cf_mb"] = FamilySizes(dir.string());
  std::printf("catalog compacted in %.0f s; background work quiet after %.0f s more\n",
              (*st)["compact_seconds"].get<double>(), (*st)["settle_seconds"].get<double>());
  return Status::OK();
}

json ParamsJson(const Options& o) {
  return {{"format", kFormat}, {"sessions", o.sessions}, {"segments_per_session", o.segments},
          {"seed", o.seed}, {"signatures", o.signatures}};
}

// Generates the catalog and the SQLite database into o.dir unless they are there already.
Result<json> Prepare(const Options& o, const Dataset& d) {
  const fs::path dir = o.dir, params = dir / "bench-params.json";
  {
    std::ifstream in(params);
    json have = json::parse(in, nullptr, false);
    if (!have.is_discarded() && have.value("complete", false) && have["params"] == ParamsJson(o)) {
      std::printf("reusing the catalog and SQLite database in %s (same parameters)\n",
                  o.dir.c_str());
      have["reused"] = true;
      if (!have.value("compacted", false)) {  // generated before generation ended with it
        TCD_RETURN_IF_ERROR(CompactCatalog(dir / "catalog", &have));
        std::ofstream(params) << have.dump(2) << "\n";
      }
      if (have.value("search_index_version", "2") != node::kSearchIndexVersion) {
        std::printf("its search index has layout %s, not %s: rebuilding it (tcd reindex)\n",
                    have.value("search_index_version", "2").c_str(), node::kSearchIndexVersion);
        TCD_RETURN_IF_ERROR(Reindex(dir / "catalog", &have));
        std::ofstream(params) << have.dump(2) << "\n";
      }
      return have;
    }
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  for (const char* f : {"bench-params.json", "catalog", "sessions.sqlite", "sessions.sqlite-wal",
                        "sessions.sqlite-shm"})
    fs::remove_all(dir / f, ec);
  json st = {{"params", ParamsJson(o)}, {"reused", false}};
  {
    TCD_ASSIGN_OR_RETURN(auto catalog, node::Catalog::Open((dir / "catalog").string(), false, true));
    catalog->set_sync(false);
    catalog->set_node_log(false);  // it stands for a central archive: received sessions
    TCD_RETURN_IF_ERROR(catalog->SetRole("central"));
    std::printf("writing %llu sessions through Catalog::Append, %d signing threads, "
                "sync off (bulk load), signatures on %s\n",
                static_cast<unsigned long long>(d.sessions.size()), o.threads,
                o.signatures == "all" ? "every entry" : "open and seal entries only");
    TCD_ASSIGN_OR_RETURN(WriteStats w, WriteCatalog(d, catalog.get(), o.threads));
    st["generation_seconds"] = w.seconds;
    st["generation_cpu_seconds"] = w.cpu_seconds;
    st["entries"] = w.entries;
    st["segments"] = w.segments;
    st["signatures_made"] = w.signatures;
  }
  TCD_RETURN_IF_ERROR(CompactCatalog(dir / "catalog", &st));
  auto t = std::chrono::steady_clock::now();
  {
    TCD_ASSIGN_OR_RETURN(auto sql, SqliteIndex::Open((dir / "sessions.sqlite").string()));
    TCD_RETURN_IF_ERROR(sql->Build(d));
  }
  st["sqlite_build_seconds"] = Seconds(t);
  std::printf("SQLite database built in %.0f s\n", st["sqlite_build_seconds"].get<double>());
  st["complete"] = true;
  st["search_index_version"] = node::kSearchIndexVersion;
  std::ofstream(params) << st.dump(2) << "\n";
  return st;
}

struct Stats {
  double p50 = 0, p99 = 0, max = 0, mean = 0;
};
Stats Summarize(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  auto rank = [&](double p) { return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))]; };
  s.p50 = rank(0.5);
  s.p99 = rank(0.99);
  s.max = v.back();
  for (double x : v) s.mean += x / v.size();
  return s;
}

std::string IdList(const std::vector<crypto::SessionId>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size() && i < 8; ++i) s += " " + crypto::SessionIdToString(ids[i]).substr(0, 13);
  return s + (ids.size() > 8 ? " …" : "");
}

// Wall-clock and thread CPU time of one call.
class Timer {
 public:
  Timer() : wall_(std::chrono::steady_clock::now()), cpu_(ThreadCpu()) {}
  void Stop(std::vector<double>* wall_us, std::vector<double>* cpu_us) const {
    const double cpu = ThreadCpu();
    wall_us->push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - wall_).count());
    cpu_us->push_back(cpu - cpu_);
  }

 private:
  static double ThreadCpu() {  // µs
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
  }
  std::chrono::steady_clock::time_point wall_;
  double cpu_;
};

struct KindResult {
  Kind kind;
  size_t n = 0;
  double avg_hits = 0;
  std::string example;
  Stats ours, sqlite;          // wall-clock latency
  Stats ours_cpu, sqlite_cpu;  // the calling thread's CPU time: blind to other load
  // RocksDB work per query of ours (an untimed pass with RocksDB's perf counters on).
  double seeks = 0, block_reads = 0, cache_hits = 0;
  // The timed query that took ours longest (wall clock), for the analysis of tails.
  std::string slowest;
  double slowest_us = 0, slowest_cpu_us = 0, slowest_sqlite_us = 0;
  size_t slowest_hits = 0;
};

// Counts RocksDB's work for `qs` on this thread: iterator seeks, blocks read from files (block
// cache misses: read, checksummed, decompressed) and block cache hits (iterators and point
// lookups together; point lookups themselves have no counter in a read-only database).
void CountWork(node::Catalog* cat, const std::vector<BenchQuery>& qs, KindResult* res) {
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
  rocksdb::get_perf_context()->Reset();
  for (const auto& q : qs) (void)cat->Search(q.q);
  const rocksdb::PerfContext* pc = rocksdb::get_perf_context();
  const double n = static_cast<double>(qs.size());
  res->seeks = pc->seek_on_memtable_count / n;
  res->block_reads = pc->block_read_count / n;
  res->cache_hits = pc->block_cache_hit_count / n;
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
}

// Runs one kind on both engines. Returns false (after saying why) when the engines disagree.
Result<bool> RunKind(const Options& o, const Dataset& d, Kind k, node::Catalog* cat,
                     SqliteIndex* sql, KindResult* res) {
  std::vector<BenchQuery> warm = MakeQueries(d, k, o.warmup, 1);
  std::vector<BenchQuery> timed = MakeQueries(d, k, o.queries, 2);
  if (timed.empty()) return true;
  for (const auto& q : warm) {
    TCD_RETURN_IF_ERROR(cat->Search(q.q).status());
    TCD_RETURN_IF_ERROR(sql->Run(q).status());
  }
  // The engines take turns query by query, so that other load on the machine hits both alike.
  std::vector<double> ours_us, sql_us, ours_cpu, sql_cpu;
  size_t hits = 0;
  for (size_t i = 0; i < timed.size(); ++i) {
    const BenchQuery& q = timed[i];
    Timer t;
    auto r = cat->Search(q.q);
    // What a results table shows, as the SQLite side reads its columns.
    size_t touched = 0;
    if (r.ok())
      for (const auto& h : *r)
        touched += h.point().size() + h.province().size() + h.case_number().size() +
                   h.type().size() + h.chair().size() + h.conference().size() +
                   h.location.local + h.location.province + h.location.central;
    t.Stop(&ours_us, &ours_cpu);
    shown_bytes_sink = shown_bytes_sink + touched;
    if (!r.ok()) return r.status().WithContext("tcd search " + Describe(q));
    std::vector<crypto::SessionId> ours;
    for (const auto& h : *r) {
      ours.push_back(h.session.id);
      if (!h.location.local || !h.location.central)  // a central archive that holds it all
        return Status::Corruption("tcd search " + Describe(q) + ": session " +
                                  crypto::SessionIdToString(h.session.id) + " is shown as " +
                                  node::LocationText(h.location) + ", not local+central");
    }
    Timer u;
    auto s = sql->Run(q);
    u.Stop(&sql_us, &sql_cpu);
    if (!s.ok()) return s.status();
    hits += s->size();
    if (ours_us.back() > res->slowest_us) {
      res->slowest = Describe(q);
      res->slowest_us = ours_us.back();
      res->slowest_cpu_us = ours_cpu.back();
      res->slowest_sqlite_us = sql_us.back();
      res->slowest_hits = s->size();
    }
    if (*s != ours) {
      std::fprintf(stderr,
                   "\n*** MISMATCH: the engines disagree on %s query %zu: %s\n"
                   "    tcd    (%zu):%s\n    sqlite (%zu):%s\n%s",
                   KindName(k), i, Describe(q).c_str(), ours.size(), IdList(ours).c_str(),
                   s->size(), IdList(*s).c_str(), sql->Plan(q).c_str());
      return false;
    }
  }
  res->kind = k;
  res->n = timed.size();
  res->avg_hits = static_cast<double>(hits) / timed.size();
  res->example = Describe(timed[0]);
  res->ours = Summarize(ours_us);
  res->sqlite = Summarize(sql_us);
  res->ours_cpu = Summarize(ours_cpu);
  res->sqlite_cpu = Summarize(sql_cpu);
  CountWork(cat, timed, res);
  if (o.explain)
    std::printf("%s: %s\n  tcd per query: %.0f iterator seeks, %.0f blocks read, %.0f block "
                "cache hits\n  tcd's slowest: %s: %zu hits, %.0f µs (%.0f µs CPU), sqlite %.0f µs\n"
                "  sqlite plan:\n%s",
                KindName(k), res->example.c_str(), res->seeks, res->block_reads,
                res->cache_hits, res->slowest.c_str(), res->slowest_hits, res->slowest_us,
                res->slowest_cpu_us, res->slowest_sqlite_us, sql->Plan(timed[0]).c_str());
  return true;
}

bool GoalMet(const KindResult& r) {
  return r.ours.p99 < 10000 && r.ours.p99 < r.sqlite.p99 && r.ours.p50 < r.sqlite.p50;
}

int Run(const Options& o) {
  if (o.signatures != "all" && o.signatures != "ends") {
    std::fprintf(stderr, "search_bench: --signatures must be all or ends\n");
    return 1;
  }
  auto t0 = std::chrono::steady_clock::now();
  GenParams gp{o.sessions, o.segments, o.seed, o.signatures == "all"};
  const Dataset d = GenerateDataset(gp);
  std::printf("data set: %zu sessions at %zu points in %zu provinces, made in %.1f s\n",
              d.sessions.size(), d.points.size(), d.provinces.size(), Seconds(t0));
  auto prepared = Prepare(o, d);
  if (!prepared.ok()) {
    std::fprintf(stderr, "search_bench: %s\n", prepared.status().ToString().c_str());
    return 1;
  }
  json st = *prepared;
  const fs::path dir = o.dir;
  st["catalog_mb"] = DirBytes(dir / "catalog") / 1048576.0;
  if (!st.contains("catalog_cf_mb")) st["catalog_cf_mb"] = json::object();
  st["search_index_mb"] = st["catalog_cf_mb"].value("search_docs", 0.0) +
                          st["catalog_cf_mb"].value("search_postings", 0.0) +
                          st["catalog_cf_mb"].value("search_cards", 0.0);
  st["sqlite_mb"] = (DirBytes(dir / "sessions.sqlite") + DirBytes(dir / "sessions.sqlite-wal")) /
                    1048576.0;
  std::printf("generation %.0f s wall, %.0f s CPU (%s signatures: %s), %llu entries, %llu segments\n"
              "catalog %.0f MB (search index: %.0f MB of it), SQLite %.0f MB\n",
              st.value("generation_seconds", 0.0), st.value("generation_cpu_seconds", 0.0),
              o.signatures == "all" ? "real" : "partly real",
              o.signatures == "all" ? "Ed25519 on every chain head"
                                    : "Ed25519 on open and seal entries, random bytes elsewhere",
              static_cast<unsigned long long>(st.value("entries", uint64_t{0})),
              static_cast<unsigned long long>(st.value("segments", uint64_t{0})),
              st["catalog_mb"].get<double>(), st["search_index_mb"].get<double>(),
              st["sqlite_mb"].get<double>());

  // As `tcd search` opens it: read-only, which replays the write-ahead log into memory.
  auto t_open = std::chrono::steady_clock::now();
  auto cat = node::Catalog::Open((dir / "catalog").string(), /*read_only=*/true);
  const double open_ms = Seconds(t_open) * 1000;
  uint64_t wal_bytes = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir / "catalog", ec))
    if (e.path().extension() == ".log") wal_bytes += e.file_size(ec);
  std::printf("catalog opened read-only (as tcd search does) in %.0f ms, replaying %.0f MB of "
              "write-ahead log\n", open_ms, wal_bytes / 1048576.0);
  auto sql = SqliteIndex::Open((dir / "sessions.sqlite").string());
  if (!cat.ok() || !sql.ok()) {
    std::fprintf(stderr, "search_bench: %s\n",
                 (!cat.ok() ? cat.status() : sql.status()).ToString().c_str());
    return 1;
  }
  std::vector<KindResult> results;
  double warm_mb = 0, warm_seconds = 0;  // --page-cache warm: the files read before each kind
  const double load_before = LoadAverage();
  for (int k = 0; k < kKinds; ++k) {
    if (!o.kinds.empty() &&
        std::find(o.kinds.begin(), o.kinds.end(), KindName(static_cast<Kind>(k))) == o.kinds.end())
      continue;
    if (o.page_cache == "warm") {
      const auto t_warm = std::chrono::steady_clock::now();
      auto bytes = ReadIntoPageCache({dir / "catalog", dir / "sessions.sqlite"});
      if (!bytes.ok()) {
        std::fprintf(stderr, "%s\n", bytes.status().ToString().c_str());
        return 1;
      }
      warm_mb = *bytes / 1048576.0;
      warm_seconds += Seconds(t_warm);
    }
    KindResult r;
    auto ok = RunKind(o, d, static_cast<Kind>(k), cat->get(), sql->get(), &r);
    if (!ok.ok()) {
      std::fprintf(stderr, "search_bench: %s\n", ok.status().ToString().c_str());
      return 1;
    }
    if (!*ok) return 2;
    if (r.n > 0) results.push_back(r);
  }

  const double load_after = LoadAverage();
  std::printf("\n%u cores, load average %.1f before and %.1f after the queries; %zu timed "
              "queries per kind after %zu warm-up; latency in µs, limit 50, newest first; both "
              "engines returned the same sessions in the same order for every timed query\n\n",
              std::thread::hardware_concurrency(), load_before, load_after, o.queries, o.warmup);
  if (o.page_cache == "warm")
    std::printf("page cache: both engines' files (%.0f MB) read into it before each kind's "
                "queries (%.1f s in all), so that neither reads the disk\n\n", warm_mb,
                warm_seconds);
  else
    std::printf("page cache: as the machine left it (--page-cache as-is)\n\n");
  std::printf("%-24s %6s | %8s %8s %8s %8s | %8s %8s %8s %8s | %6s %6s | %-7s | %s\n", "query",
              "hits", "tcd p50", "p99", "max", "mean", "sql p50", "p99", "max", "mean", "p50 x",
              "p99 x", "goal", "tcd seeks/blocks read");
  json rows = json::array();
  bool all = true;
  for (const auto& r : results) {
    const bool goal = GoalMet(r);
    all = all && goal;
    std::printf("%-24s %6.1f | %8.0f %8.0f %8.0f %8.0f | %8.0f %8.0f %8.0f %8.0f | %6.2f %6.2f | "
                "%-7s | %.0f/%.0f\n",
                KindTitle(r.kind), r.avg_hits, r.ours.p50, r.ours.p99, r.ours.max, r.ours.mean,
                r.sqlite.p50, r.sqlite.p99, r.sqlite.max, r.sqlite.mean, r.ours.p50 / r.sqlite.p50,
                r.ours.p99 / r.sqlite.p99, goal ? "met" : "NOT met", r.seeks, r.block_reads);
    auto stats = [](const Stats& s) {
      return json{{"p50_us", s.p50}, {"p99_us", s.p99}, {"max_us", s.max}, {"mean_us", s.mean}};
    };
    rows.push_back({{"query", KindName(r.kind)}, {"title", KindTitle(r.kind)},
                    {"example", r.example}, {"queries", r.n}, {"avg_hits", r.avg_hits},
                    {"tcd", stats(r.ours)}, {"sqlite", stats(r.sqlite)},
                    {"tcd_thread_cpu", stats(r.ours_cpu)}, {"sqlite_thread_cpu", stats(r.sqlite_cpu)},
                    {"ratio_p50", r.ours.p50 / r.sqlite.p50},
                    {"ratio_p99", r.ours.p99 / r.sqlite.p99}, {"goal_met", goal},
                    {"slowest_tcd", {{"query", r.slowest}, {"hits", r.slowest_hits},
                                     {"tcd_us", r.slowest_us}, {"tcd_thread_cpu_us", r.slowest_cpu_us},
                                     {"sqlite_us", r.slowest_sqlite_us}}},
                    {"tcd_rocksdb_per_query", {{"seeks", r.seeks},
                                               {"blocks_read", r.block_reads},
                                               {"block_cache_hits", r.cache_hits}}}});
  }
  std::printf("\ngoal (wall-clock p99 < 10 ms, and p50 and p99 below SQLite's): %s\n",
              all ? "met for every query kind" : "NOT met for every query kind");
  std::printf("\nthe same queries in CPU time of the querying thread (µs; blind to other load "
              "on the machine)\n%-24s | %8s %8s | %8s %8s | %6s %6s\n",
              "query", "tcd p50", "p99", "sql p50", "p99", "p50 x", "p99 x");
  for (const auto& r : results)
    std::printf("%-24s | %8.0f %8.0f | %8.0f %8.0f | %6.2f %6.2f\n", KindTitle(r.kind),
                r.ours_cpu.p50, r.ours_cpu.p99, r.sqlite_cpu.p50, r.sqlite_cpu.p99,
                r.ours_cpu.p50 / r.sqlite_cpu.p50, r.ours_cpu.p99 / r.sqlite_cpu.p99);
  if (!o.json_out.empty()) {
    json out = {{"benchmark", "search"}, {"cores", std::thread::hardware_concurrency()},
                {"sessions", d.sessions.size()}, {"segments", st.value("segments", uint64_t{0})},
                {"entries", st.value("entries", uint64_t{0})}, {"seed", o.seed},
                {"signatures", o.signatures == "all" ? "every entry" : "open and seal entries"},
                {"bulk_load_sync", false}, {"reused_data", st.value("reused", false)},
                {"generation_seconds", st.value("generation_seconds", 0.0)},
                {"generation_cpu_seconds", st.value("generation_cpu_seconds", 0.0)},
                {"settle_seconds", st.value("settle_seconds", 0.0)},
                {"sqlite_build_seconds", st.value("sqlite_build_seconds", 0.0)},
                {"catalog_open_read_only_ms", open_ms}, {"catalog_wal_mb", wal_bytes / 1048576.0},
                {"catalog_mb", st["catalog_mb"]}, {"catalog_cf_mb", st["catalog_cf_mb"]},
                {"search_index_mb", st["search_index_mb"]}, {"sqlite_mb", st["sqlite_mb"]},
                {"load_average", {load_before, load_after}}, {"queries_per_kind", o.queries}, {"warmup_per_kind", o.warmup},
                {"page_cache", o.page_cache}, {"page_cache_warm_mb", warm_mb},
                {"engines_agree", true},
                {"sqlite_setup", "WAL, cache_size 256 MiB, mmap_size 1 GiB; B-tree indexes per "
                                 "filter; FTS5 contentless, unicode61 over folded text (text "
                                 "detail=column, participants detail=none); optimize, ANALYZE"},
                {"goal", "wall-clock p99 < 10 ms, and p50 and p99 below SQLite's"}, {"all_goals_met", all},
                {"results", rows}};
    std::error_code ec;
    if (fs::path(o.json_out).has_parent_path())
      fs::create_directories(fs::path(o.json_out).parent_path(), ec);
    std::ofstream f(o.json_out);
    f << out.dump(2) << "\n";
    if (!f) {
      std::fprintf(stderr, "search_bench: cannot write %s\n", o.json_out.c_str());
      return 1;
    }
    std::printf("wrote %s\n", o.json_out.c_str());
  }
  return 0;
}

}  // namespace
}  // namespace tcd::bench

int main(int argc, char** argv) {
  tcd::bench::Options o;
  CLI::App app{"Search benchmark: Catalog::Search next to SQLite + FTS5 on the same data"};
  app.add_option("--sessions", o.sessions, "Sessions to generate (default 1000000)");
  app.add_option("--segments-per-session", o.segments, "Average segments per session (1 … 2·avg−1)")
      ->check(CLI::Range(1, 1000));
  app.add_option("--dir", o.dir, "Work directory, reused when it holds the same data")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--queries", o.queries, "Timed queries per kind (default 5000)");
  app.add_option("--page-cache", o.page_cache,
                 "warm: read both engines' files before each kind (default); as-is: leave the "
                 "page cache as the machine has it")
      ->check(CLI::IsMember({"warm", "as-is"}));
  app.add_option("--warmup", o.warmup, "Warm-up queries per kind (default 50)");
  app.add_option("--seed", o.seed, "Seed of the data set and the queries");
  app.add_option("--threads", o.threads, "Chain-building and signing threads");
  app.add_option("--signatures", o.signatures,
                 "all: Ed25519 on every entry; ends: on open and seal entries only");
  app.add_option("--json", o.json_out, "Write the results as JSON here")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  std::vector<std::string> names;
  for (int k = 0; k < tcd::bench::kKinds; ++k)
    names.push_back(tcd::bench::KindName(static_cast<tcd::bench::Kind>(k)));
  app.add_option("--kind", o.kinds, "Run only these query kinds (repeatable; for profiling)")
      ->check(CLI::IsMember(names));
  app.add_flag("--explain", o.explain, "Print SQLite's query plan of each kind");
  CLI11_PARSE(app, argc, argv);
  return tcd::bench::Run(o);
}
