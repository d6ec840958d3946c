#include "tools/cli.h"

#include <fcntl.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <iostream>

#include <spdlog/spdlog.h>

#include "node/config.h"

namespace tcd::tools {

void KeepLargeBuffers() {
  // Allocations up to 32 MiB (glibc's ceiling) come from the heap, and the heap is trimmed only
  // above 512 MiB free: a segment-sized buffer is reused, not unmapped and faulted in again.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

int ReportError(const Status& s, int code) {
  std::cerr << "tcd: error: " << s.message() << "\n";
  return code;
}

Result<std::string> ReadTextFile(const std::string& path, const std::string& what) {
  auto data = Env::Default()->ReadFile(path);
  if (!data.ok()) return data.status().WithContext("cannot read " + what + " '" + path + "'");
  return std::string(AsChars(*data));
}

Result<std::optional<std::string>> ReadPassphrase(const std::string& path) {
  if (path.empty()) return std::optional<std::string>();
  TCD_ASSIGN_OR_RETURN(std::string text, ReadTextFile(path, "passphrase file"));
  std::string line = text.substr(0, text.find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return Status::InvalidArgument("passphrase file '" + path + "' is empty");
  return std::optional<std::string>(std::move(line));
}

// A secret key file others can read is a key others may have copied: say so.
static void WarnIfExposed(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0)
    spdlog::warn("secret key file {} is accessible to other users (mode {:o}); "
                 "it should be 0600 (chmod 600 {})", path, st.st_mode & 0777, path);
}

Result<crypto::NodeIdentity> LoadNodeKey(const std::string& path) {
  WarnIfExposed(path);
  TCD_ASSIGN_OR_RETURN(std::string text, ReadTextFile(path, "node key"));
  return crypto::DecodeNodeKey(text, path);
}

Result<crypto::ArchivePublic> LoadArchivePub(const std::string& path) {
  TCD_ASSIGN_OR_RETURN(std::string text, ReadTextFile(path, "recipient public key"));
  return crypto::DecodeArchivePub(text, path);
}

Result<crypto::ArchiveKeyPair> LoadArchiveKey(const std::string& path,
                                             const std::string& passphrase_file) {
  WarnIfExposed(path);
  TCD_ASSIGN_OR_RETURN(std::string text, ReadTextFile(path, "archive key"));
  TCD_ASSIGN_OR_RETURN(auto passphrase, ReadPassphrase(passphrase_file));
  return crypto::DecodeArchiveKey(text, path, passphrase);
}

Result<crypto::Metadata> ParseMetadata(const std::vector<std::string>& pairs) {
  crypto::Metadata meta;
  for (const auto& p : pairs) {
    size_t eq = p.find('=');
    if (eq == std::string::npos || eq == 0)
      return Status::InvalidArgument("--meta '" + p + "': expected KEY=VALUE");
    meta.emplace_back(p.substr(0, eq), p.substr(eq + 1));
  }
  TCD_RETURN_IF_ERROR(node::ValidateMetadata(meta).WithContext("--meta"));
  return meta;
}

bool CatalogInUse(const std::string& data_dir) {
  int fd = open((data_dir + "/catalog/LOCK").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct flock fl = {};
  fl.l_type = F_RDLCK;
  fl.l_whence = SEEK_SET;
  bool in_use = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
  close(fd);
  return in_use;
}

}  // namespace tcd::tools
