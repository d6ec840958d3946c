#include "tools/cli.h"

#include <fcntl.h>
#include <unistd.h>

#include <ctime>
#include <iostream>
#include <regex>

#include <utf8proc.h>

namespace tcd::tools {

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

Result<crypto::NodeIdentity> LoadNodeKey(const std::string& path) {
  TCD_ASSIGN_OR_RETURN(std::string text, ReadTextFile(path, "node key"));
  return crypto::DecodeNodeKey(text, path);
}

Result<crypto::ArchivePublic> LoadArchivePub(const std::string& path) {
  TCD_ASSIGN_OR_RETURN(std::string text, ReadTextFile(path, "recipient public key"));
  return crypto::DecodeArchivePub(text, path);
}

Result<crypto::ArchiveKeyPair> LoadArchiveKey(const std::string& path,
                                             const std::string& passphrase_file) {
  TCD_ASSIGN_OR_RETURN(std::string text, ReadTextFile(path, "archive key"));
  TCD_ASSIGN_OR_RETURN(auto passphrase, ReadPassphrase(passphrase_file));
  return crypto::DecodeArchiveKey(text, path, passphrase);
}

static bool ValidUtf8(const std::string& s) {
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  utf8proc_ssize_t left = static_cast<utf8proc_ssize_t>(s.size());
  while (left > 0) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t n = utf8proc_iterate(p, left, &cp);
    if (n <= 0) return false;
    p += n;
    left -= n;
  }
  return true;
}

Result<crypto::Metadata> ParseMetadata(const std::vector<std::string>& pairs) {
  static const std::regex kKey("[a-z][a-z0-9_.-]{0,63}");
  static const char* const kTypes[] = {"complaint", "denunciation", "petition", "feedback"};
  crypto::Metadata meta;
  for (const auto& p : pairs) {
    size_t eq = p.find('=');
    if (eq == std::string::npos || eq == 0)
      return Status::InvalidArgument("--meta '" + p + "': expected KEY=VALUE");
    std::string key = p.substr(0, eq), value = p.substr(eq + 1);
    if (!std::regex_match(key, kKey))
      return Status::InvalidArgument("--meta key '" + key +
                                     "': use lower-case letters, digits, '_', '.', '-'");
    if (!ValidUtf8(value) || value.size() > 4096)
      return Status::InvalidArgument("--meta " + key + ": value is not UTF-8 text under 4 KiB");
    if (key == "type" &&
        std::find(std::begin(kTypes), std::end(kTypes), value) == std::end(kTypes))
      return Status::InvalidArgument("--meta type='" + value +
                                     "': must be complaint, denunciation, petition or feedback");
    if (key != "participant")
      for (const auto& [k, v] : meta)
        if (k == key) return Status::InvalidArgument("--meta " + key + " given twice");
    meta.emplace_back(key, value);
  }
  return meta;
}

std::string FormatUtc(int64_t us) {
  time_t t = static_cast<time_t>(us / 1000000);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string FormatDuration(int64_t us) {
  int64_t s = (us + 500000) / 1000000;
  char buf[32];
  if (s >= 3600)
    snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
             static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  else
    snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(s / 60),
             static_cast<long long>(s % 60));
  return buf;
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
