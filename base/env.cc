// Env helpers that are the same for every implementation (they go through the virtual calls,
// so a fault-injecting Env sees, and may crash, every step).
#include <random>

#include "base/env.h"

namespace tcd {
namespace {

std::string ParentDir(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string RandomSuffix() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char kDigits[] = "0123456789abcdef";
  uint64_t v = rng();
  std::string s(16, '0');
  for (char& c : s) {
    c = kDigits[v & 15];
    v >>= 4;
  }
  return s;
}

}  // namespace

Status Env::WriteFileDurably(const std::string& path, ByteView data, uint32_t mode) {
  const std::string tmp = path + ".tmp-" + RandomSuffix();
  Status s;
  {
    auto file = NewWritableFile(tmp, mode);
    if (!file.ok()) return file.status();
    s = (*file)->Append(data);
    if (s.ok()) s = (*file)->Sync();
    if (s.ok()) s = (*file)->Close();
  }
  if (s.ok()) s = RenameFile(tmp, path);
  if (!s.ok()) {
    (void)RemoveFile(tmp);  // best effort; may fail as well (e.g. after an injected crash)
    return s;
  }
  return SyncDir(ParentDir(path));
}

}  // namespace tcd
