// The search benchmark's work directory on disk: its files' sizes, reading them into the page
// cache, waiting for a catalog's compactions, and each column family's size (search_bench.cc).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/status.h"

namespace tcd::bench {

// Calls fn(file) for `p` when it is a file, else for every file under it. An error listing
// `p` is returned once the files listed so far are done.
Status ForEachFile(const std::filesystem::path& p,
                   const std::function<Status(const std::filesystem::path&)>& fn);
// The bytes of the files under `p` (what cannot be listed counts nothing).
uint64_t DirBytes(const std::filesystem::path& p);
// Reads every file of `paths` (files, or directories walked) once, so that both engines start
// a query kind with their whole data in the page cache; returns the bytes read.
Result<uint64_t> ReadIntoPageCache(const std::vector<std::filesystem::path>& paths);
// Waits until the files of the catalog `dir` have not changed for 20 s (at most 30 minutes);
// returns the seconds waited.
double SettleCompactions(const std::filesystem::path& dir);
// Each column family's data, in MB (a read-only look: writes nothing).
nlohmann::json FamilySizes(const std::string& dir);

}  // namespace tcd::bench
