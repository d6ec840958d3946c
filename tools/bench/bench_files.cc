// The search benchmark's work directory on disk (tools/bench/bench_files.h).
#include "tools/bench/bench_files.h"

#include <rocksdb/db.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include <utility>

namespace tcd::bench {
namespace fs = std::filesystem;

Status ForEachFile(const fs::path& p, const std::function<Status(const fs::path&)>& fn) {
  std::error_code ec;
  if (fs::is_regular_file(p, ec)) return fn(p);
  for (auto it = fs::recursive_directory_iterator(p, ec); !ec && it != fs::end(it); it.increment(ec))
    if (it->is_regular_file(ec)) TCD_RETURN_IF_ERROR(fn(it->path()));
  if (ec) return Status::IOError("search_bench: cannot list " + p.string() + ": " + ec.message());
  return Status::OK();
}

uint64_t DirBytes(const fs::path& p) {
  uint64_t n = 0;
  (void)ForEachFile(p, [&](const fs::path& f) {  // what cannot be listed counts nothing
    std::error_code ec;
    const uintmax_t size = fs::file_size(f, ec);
    if (!ec) n += size;
    return Status::OK();
  });
  return n;
}

// Reads every file of `paths` (files, or directories walked) once, so that both engines start
// a query kind with their whole data in the page cache. Without it the kernel's own policy
// decides, and it does not treat them alike: SQLite maps its file, RocksDB reads with pread,
// and a machine that pages out idle unmapped file pages (DAMON reclaim: docs/BENCHMARKS.md)
// then leaves only RocksDB's blocks on disk. Returns the bytes read.
Result<uint64_t> ReadIntoPageCache(const std::vector<fs::path>& paths) {
  std::vector<char> buf(1 << 20);
  uint64_t total = 0;
  auto read_file = [&](const fs::path& f) -> Status {
    std::FILE* in = std::fopen(f.c_str(), "rb");
    if (!in) return Status::IOError("search_bench: cannot read " + f.string() + ": " +
                                    std::strerror(errno));
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), in)) > 0) total += n;
    const bool failed = std::ferror(in);
    std::fclose(in);
    return failed ? Status::IOError("search_bench: error reading " + f.string()) : Status::OK();
  };
  for (const auto& p : paths) TCD_RETURN_IF_ERROR(ForEachFile(p, read_file));
  return total;
}

// A catalog left by a bulk load still has compactions to do. Waits, with the catalog open as a
// node holds it, until RocksDB's background compactions (with the catalog's own options) have
// gone quiet: the files of `dir` unchanged for 20 s (at most 30 minutes).
double SettleCompactions(const fs::path& dir) {
  const auto t0 = std::chrono::steady_clock::now();
  auto fingerprint = [&] {
    std::vector<std::pair<std::string, uintmax_t>> f;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) f.emplace_back(e.path().filename(), e.file_size(ec));
    std::sort(f.begin(), f.end());
    return f;
  };
  auto last = fingerprint();
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  for (int quiet = 0; quiet < 10 && seconds() < 1800;) {
    std::this_thread::sleep_for(std::chrono::seconds(2));
    auto now = fingerprint();
    quiet = now == last ? quiet + 1 : 0;
    last = std::move(now);
  }
  return seconds();
}

nlohmann::json FamilySizes(const std::string& dir) {
  nlohmann::json out = nlohmann::json::object();
  rocksdb::DBOptions o;
  std::vector<std::string> names;
  if (!rocksdb::DB::ListColumnFamilies(o, dir, &names).ok()) return out;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  if (!rocksdb::DB::OpenForReadOnly(o, dir, cfs, &handles, &db).ok()) return out;
  for (size_t i = 0; i < handles.size(); ++i) {
    uint64_t sst = 0, mem = 0;  // table files, and what the write-ahead log holds
    db->GetIntProperty(handles[i], "rocksdb.total-sst-files-size", &sst);
    db->GetIntProperty(handles[i], "rocksdb.size-all-mem-tables", &mem);
    out[names[i]] = (sst + mem) / 1048576.0;
    db->DestroyColumnFamilyHandle(handles[i]);
  }
  delete db;
  return out;
}

}  // namespace tcd::bench
