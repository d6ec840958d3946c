// DATA/audit/audit.log (docs/FORMAT.md §Audit log): one canonical JSON object per line,
//   hash = BLAKE2b-256("tcd/audit-record/v1" || 0x00 || prev[32] || canonical(record - hash)).
// The log file is used through POSIX calls, not Env: Env has no append-mode file and no lock.
// Env provides the clock and the directories.
#include "node/audit_log.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace tcd::node {
namespace {

using Json = nlohmann::json;  // std::map members: sorted by key bytes, as canonical JSON wants

constexpr int kVersion = 1;
const char* const kMembers[] = {"action", "detail", "hash", "host", "pid",  "prev", "result",
                                "seq",    "sudo_user", "time", "uid", "user", "v",  "what"};

std::string AuditDir(const std::string& data_dir) { return data_dir + "/audit"; }

// Names the log in an error that does not name it yet (callers show this to archivists).
Status Named(const Status& s, const std::string& path) {
  if (s.ok() || s.message().find(path) != std::string::npos) return s;
  return s.WithContext("audit log " + path);
}

Status Errno(const std::string& op, const std::string& path, int err) {
  std::string m = op + " " + path + ": " + std::strerror(err);
  if (err == ENOSPC || err == EDQUOT) return Status::NoSpace(m);
  if (err == EACCES || err == EPERM || err == EROFS) return Status::Permission(m);
  if (err == ENOENT) return Status::NotFound(m);
  return Status::IOError(m);
}

// ---- time: "YYYY-MM-DDTHH:MM:SS.ffffffZ" ----

std::string FormatTime(int64_t us) {
  int64_t secs = us / 1000000, frac = us % 1000000;
  if (frac < 0) frac += 1000000, secs -= 1;
  time_t t = static_cast<time_t>(secs);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(frac));
  return buf;
}

// Exactly the form FormatTime writes (a valid date, no leap second); nullopt otherwise.
std::optional<int64_t> ParseTime(const std::string& s) {
  static const char kShape[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
  if (s.size() != sizeof(kShape) - 1) return std::nullopt;
  for (size_t i = 0; i < s.size(); ++i) {
    bool digit = s[i] >= '0' && s[i] <= '9';
    if (kShape[i] == 'd' ? !digit : s[i] != kShape[i]) return std::nullopt;
  }
  auto num = [&](size_t pos, size_t n) { return std::atoi(s.substr(pos, n).c_str()); };
  struct tm tm {};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(5, 2) - 1;
  tm.tm_mday = num(8, 2);
  tm.tm_hour = num(11, 2);
  tm.tm_min = num(14, 2);
  tm.tm_sec = num(17, 2);
  int64_t us = static_cast<int64_t>(timegm(&tm)) * 1000000 + num(20, 6);
  if (FormatTime(us) != s) return std::nullopt;  // 2026-02-30, 25:00, … normalized away
  return us;
}

// ---- canonical JSON ----

std::string Canonical(const Json& j) {
  // No whitespace, members sorted (Json is std::map), only \" \\ \b \f \n \r \t and \u00xx
  // escaped. Strings are valid UTF-8 by construction, so `replace` never replaces: it only
  // keeps dump() from throwing.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string ValidUtf8(const std::string& s) {
  if (IsValidUtf8(AsBytes(s))) return s;
  Json quoted = Json::parse(Json(s).dump(-1, ' ', false, Json::error_handler_t::replace),
                            nullptr, /*allow_exceptions=*/false);
  return quoted.is_string() ? quoted.get<std::string>() : std::string("\xEF\xBF\xBD");
}

// A copy of `j` whose strings are valid UTF-8; floats and binary values are refused.
Result<Json> CleanJson(const Json& j, const std::string& where) {
  if (j.is_number_float())
    return Status::InvalidArgument(where + ": floating-point numbers are not allowed in audit "
                                   "records (use an integer or a string)");
  if (j.is_binary()) return Status::InvalidArgument(where + ": binary values are not allowed");
  if (j.is_string()) return Json(ValidUtf8(j.get<std::string>()));
  if (j.is_array()) {
    Json out = Json::array();
    for (size_t i = 0; i < j.size(); ++i) {
      TCD_ASSIGN_OR_RETURN(Json v, CleanJson(j[i], where + "[" + std::to_string(i) + "]"));
      out.push_back(std::move(v));
    }
    return out;
  }
  if (j.is_object()) {
    Json out = Json::object();
    for (const auto& [k, v] : j.items()) {
      const std::string key = ValidUtf8(k);
      if (out.contains(key))
        return Status::InvalidArgument(where + ": two keys are the same after replacing "
                                       "invalid UTF-8: " + key);
      TCD_ASSIGN_OR_RETURN(out[key], CleanJson(v, where + "." + key));
    }
    return out;
  }
  return j;
}

bool HasFloat(const Json& j) {
  if (j.is_number_float() || j.is_binary()) return true;
  if (j.is_array() || j.is_object())
    for (const auto& v : j) if (HasFloat(v)) return true;
  return false;
}

std::optional<crypto::Hash256> ParseHex32(const Json& j) {
  if (!j.is_string()) return std::nullopt;
  const auto& s = j.get_ref<const std::string&>();
  if (s.size() != 64 || std::any_of(s.begin(), s.end(), [](char c) {
        return !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
      }))
    return std::nullopt;
  auto b = FromHex(s);
  crypto::Hash256 h{};
  std::copy(b->begin(), b->end(), h.begin());
  return h;
}

crypto::Hash256 RecordHash(const crypto::Hash256& prev, const std::string& body) {
  Bytes input(prev.begin(), prev.end());
  input.insert(input.end(), body.begin(), body.end());
  return crypto::DomainHash(kAuditDomain, input);
}

bool ValidAction(const std::string& a) {
  return !a.empty() && a.size() <= 64 && std::all_of(a.begin(), a.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

bool ValidResult(const std::string& r) { return r == "ok" || r == "failed" || r == "refused"; }

// ---- parsing one line ----

struct Parsed {
  AuditRecord record;
  crypto::Hash256 computed{};  // the hash the record's own bytes and prev give
};

// Parses a line (without its newline) into a record; on failure sets *problem and *why.
bool ParseLine(std::string_view line, Parsed* out, AuditProblem* problem, std::string* why) {
  auto bad = [&](AuditProblem p, std::string w) {
    *problem = p;
    *why = std::move(w);
    return false;
  };
  if (line.size() + 1 > kMaxAuditLine)
    return bad(AuditProblem::kBadRecord, "the line is " + std::to_string(line.size() + 1) +
                                             " bytes, more than the " +
                                             std::to_string(kMaxAuditLine) + " allowed");
  Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return bad(AuditProblem::kBadJson, "not valid JSON (or not UTF-8)");
  if (!j.is_object()) return bad(AuditProblem::kBadRecord, "not a JSON object");
  for (const char* m : kMembers)
    if (!j.contains(m)) return bad(AuditProblem::kBadRecord, std::string("member '") + m +
                                                                 "' is missing");
  if (j.size() != std::size(kMembers)) {
    for (const auto& [k, v] : j.items())
      if (std::find_if(std::begin(kMembers), std::end(kMembers),
                       [&](const char* m) { return k == m; }) == std::end(kMembers))
        return bad(AuditProblem::kBadRecord, "unknown member '" + k + "'");
  }
  if (HasFloat(j)) return bad(AuditProblem::kBadRecord, "a number is not an integer");
  if (Canonical(j) != line)
    return bad(AuditProblem::kBadRecord,
               "not in canonical form (members sorted, no spaces, minimal escapes)");
  if (j["v"] != kVersion)
    return bad(AuditProblem::kBadRecord, "v: expected " + std::to_string(kVersion));
  AuditRecord& r = out->record;
  auto is_str = [&](const char* m) { return j[m].is_string(); };
  for (const char* m : {"time", "user", "sudo_user", "host", "action", "result", "detail"})
    if (!is_str(m)) return bad(AuditProblem::kBadRecord, std::string(m) + ": expected a string");
  for (const char* m : {"seq", "uid", "pid"})
    if (!j[m].is_number_unsigned())
      return bad(AuditProblem::kBadRecord, std::string(m) + ": expected an integer >= 0");
  if (!j["what"].is_object()) return bad(AuditProblem::kBadRecord, "what: expected an object");
  r.seq = j["seq"].get<uint64_t>();
  r.uid = j["uid"].get<uint64_t>();
  r.pid = static_cast<int64_t>(j["pid"].get<uint64_t>());
  r.time = j["time"].get<std::string>();
  auto t = ParseTime(r.time);
  if (!t) return bad(AuditProblem::kBadRecord, "time: expected YYYY-MM-DDTHH:MM:SS.ffffffZ");
  r.time_us = *t;
  r.user = j["user"].get<std::string>();
  r.sudo_user = j["sudo_user"].get<std::string>();
  r.host = j["host"].get<std::string>();
  r.action = j["action"].get<std::string>();
  if (!ValidAction(r.action)) return bad(AuditProblem::kBadRecord, "action: expected [a-z0-9-]");
  r.result = j["result"].get<std::string>();
  if (!ValidResult(r.result))
    return bad(AuditProblem::kBadRecord, "result: expected ok, failed or refused");
  r.detail = j["detail"].get<std::string>();
  r.what = j["what"];
  auto prev = ParseHex32(j["prev"]), hash = ParseHex32(j["hash"]);
  if (!prev) return bad(AuditProblem::kBadRecord, "prev: expected 64 lower-case hex chars");
  if (!hash) return bad(AuditProblem::kBadRecord, "hash: expected 64 lower-case hex chars");
  r.prev = *prev;
  r.hash = *hash;
  j.erase("hash");
  out->computed = RecordHash(r.prev, Canonical(j));
  return true;
}

// ---- verifying a whole log ----

struct VerifyState {
  AuditReport report;
  uint64_t bad_offset = 0;  // byte offset where bad_line starts
  bool last_line_bad = false;  // bad_line is the file's last line
};

bool Passes(const AuditRecord& r, const AuditFilter& f) {
  if (f.from_us && r.time_us < *f.from_us) return false;
  if (f.to_us && r.time_us >= *f.to_us) return false;
  return f.action.empty() || r.action == f.action;
}

void VerifyBytes(std::string_view data, const AuditFilter& filter,
                 std::vector<AuditRecord>* records, VerifyState* st) {
  AuditReport& rep = st->report;
  crypto::Hash256 prev{};
  int64_t last_time = 0;
  bool broken = false;
  uint64_t line = 0;
  auto fail = [&](AuditProblem p, std::string why, size_t offset, bool last) {
    if (broken) return;
    broken = true;
    rep.problem = p;
    rep.bad_line = line;
    rep.detail = std::move(why);
    st->bad_offset = offset;
    st->last_line_bad = last;
  };
  for (size_t pos = 0; pos < data.size();) {
    ++line;
    const size_t start = pos, nl = data.find('\n', pos);
    if (nl == std::string_view::npos) {
      fail(AuditProblem::kIncompleteLine,
           "no newline at the end: " + std::to_string(data.size() - start) +
               " bytes of an incomplete record (a write was interrupted, or the file was cut)",
           start, true);
      break;
    }
    pos = nl + 1;
    const bool last = pos == data.size();
    Parsed p;
    AuditProblem problem = AuditProblem::kNone;
    std::string why;
    if (!ParseLine(data.substr(start, nl - start), &p, &problem, &why)) {
      fail(problem, why, start, last);
      continue;
    }
    AuditRecord& r = p.record;
    r.line = line;
    if (!broken) {
      if (r.seq != rep.records_checked) {
        fail(AuditProblem::kSeqGap,
             "seq " + std::to_string(r.seq) + " where " + std::to_string(rep.records_checked) +
                 " was expected (a record was deleted, moved or inserted)",
             start, last);
      } else if (r.prev != prev) {
        fail(AuditProblem::kPrevMismatch,
             "prev " + ToHex(r.prev) + " is not the hash of the record before it (" +
                 ToHex(prev) + ")",
             start, last);
      } else if (p.computed != r.hash) {
        fail(AuditProblem::kHashMismatch,
             "hash " + ToHex(r.hash) + " does not match the record's content (" +
                 ToHex(p.computed) + "): the record was changed",
             start, last);
      } else {
        if (rep.records_checked > 0 && r.time_us < last_time)
          rep.warnings.push_back({line, "time goes backwards: " + r.time + " after " +
                                            FormatTime(last_time) + " (the PC clock was set back?)"});
        last_time = r.time_us;
        r.verified = true;
        prev = r.hash;
        rep.head = r.hash;
        ++rep.records_checked;
      }
    }
    if (records && Passes(r, filter)) records->push_back(std::move(r));
  }
}

// ---- the log file ----

// An open descriptor, closed (and so unlocked) on destruction.
class LogFd {
 public:
  LogFd() = default;
  ~LogFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  LogFd(const LogFd&) = delete;
  LogFd& operator=(const LogFd&) = delete;

  Status Open(const std::string& path, int flags) {
    path_ = path;
    do {
      fd_ = ::open(path.c_str(), flags | O_CLOEXEC, 0640);
    } while (fd_ < 0 && errno == EINTR);
    return fd_ < 0 ? Errno("open", path, errno) : Status::OK();
  }
  Status Lock(int op) {
    int rc;
    do {
      rc = ::flock(fd_, op);
    } while (rc != 0 && errno == EINTR);
    return rc != 0 ? Errno("flock", path_, errno) : Status::OK();
  }
  Result<uint64_t> Size() {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return Errno("stat", path_, errno);
    return static_cast<uint64_t>(st.st_size);
  }
  // n bytes at `offset` (fewer only if the file is shorter).
  Result<std::string> ReadAt(uint64_t offset, size_t n) {
    std::string buf(n, '\0');
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::pread(fd_, buf.data() + got, n - got, static_cast<off_t>(offset + got));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return Errno("read", path_, errno);
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    buf.resize(got);
    return buf;
  }
  Status WriteAll(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Errno("write", path_, errno);
      data.remove_prefix(static_cast<size_t>(n));
    }
    return Status::OK();
  }
  Status Sync() { return ::fdatasync(fd_) != 0 ? Errno("fsync", path_, errno) : Status::OK(); }
  Status Truncate(uint64_t size) {
    return ::ftruncate(fd_, static_cast<off_t>(size)) != 0 ? Errno("truncate", path_, errno)
                                                           : Status::OK();
  }

 private:
  std::string path_;
  int fd_ = -1;
};

uint64_t CountNewlines(LogFd* fd, uint64_t size) {
  uint64_t n = 0;
  for (uint64_t off = 0; off < size; off += 1 << 20) {
    auto chunk = fd->ReadAt(off, static_cast<size_t>(std::min<uint64_t>(size - off, 1 << 20)));
    if (!chunk.ok()) break;
    n += static_cast<uint64_t>(std::count(chunk->begin(), chunk->end(), '\n'));
  }
  return n;
}

// The last record, which the next one chains onto; nullopt for an empty log. Corruption
// naming the line when the log does not end in a complete, self-consistent record.
Result<std::optional<AuditRecord>> LastRecord(LogFd* fd, const std::string& path,
                                             const std::string& data_dir, uint64_t size) {
  if (size == 0) return std::optional<AuditRecord>();
  const size_t n = static_cast<size_t>(std::min<uint64_t>(size, kMaxAuditLine + 1));
  TCD_ASSIGN_OR_RETURN(std::string tail, fd->ReadAt(size - n, n));
  if (tail.size() != n) return Status::IOError("read " + path + ": file shrank while locked");
  const std::string repair = "`tcd audit --repair --data " + data_dir + "`";
  if (tail.back() != '\n') {
    return Status::Corruption(
        path + ": line " + std::to_string(CountNewlines(fd, size) + 1) +
        " is incomplete (a write was interrupted, e.g. by a crash or power cut); nothing was "
        "appended. Run " + repair + ": it keeps the torn bytes as evidence and records the repair");
  }
  const size_t begin = n >= 2 ? tail.rfind('\n', n - 2) : std::string::npos;
  std::string_view line;
  if (begin != std::string::npos) {
    line = std::string_view(tail).substr(begin + 1, n - 2 - begin);
  } else if (n == size) {
    line = std::string_view(tail).substr(0, n - 1);
  } else {
    line = std::string_view(tail);  // longer than any record: ParseLine says so
  }
  Parsed p;
  AuditProblem problem = AuditProblem::kNone;
  std::string why;
  bool ok = ParseLine(line, &p, &problem, &why);
  if (ok && p.computed != p.record.hash) {
    ok = false;
    problem = AuditProblem::kHashMismatch;
    why = "hash does not match the record's content";
  }
  if (!ok) {
    std::string hint = problem == AuditProblem::kBadJson
                           ? "if it is a torn write, run " + repair
                           : "run `tcd verify --audit --data " + data_dir + "` and investigate";
    return Status::Corruption(path + ": line " + std::to_string(CountNewlines(fd, size)) +
                              " (the last record) is damaged: " + AuditProblemName(problem) +
                              ": " + why + "; nothing was appended: " + hint);
  }
  return std::optional<AuditRecord>(std::move(p.record));
}

void FillIdentity(Env* env, AuditRecord* r) {
  r->time_us = env->NowMicros();
  r->uid = ::geteuid();
  long bufsize = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(bufsize > 0 ? static_cast<size_t>(bufsize) : 16384);
  struct passwd pw {}, *found = nullptr;
  if (::getpwuid_r(static_cast<uid_t>(r->uid), &pw, buf.data(), buf.size(), &found) == 0 &&
      found && found->pw_name)
    r->user = ValidUtf8(found->pw_name);
  const char* sudo = std::getenv("SUDO_USER");
  r->sudo_user = sudo ? ValidUtf8(sudo) : "";
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) == 0) r->host = ValidUtf8(host);
  r->pid = ::getpid();
}

// Appends *r (action, what, result, detail set) under the exclusive lock held on *fd.
Status AppendLocked(Env* env, LogFd* fd, const std::string& data_dir, AuditRecord* r) {
  const std::string path = AuditLogPath(data_dir);
  TCD_ASSIGN_OR_RETURN(uint64_t size, fd->Size());
  TCD_ASSIGN_OR_RETURN(std::optional<AuditRecord> last, LastRecord(fd, path, data_dir, size));
  r->seq = last ? last->seq + 1 : 0;
  r->prev = last ? last->hash : crypto::Hash256{};
  FillIdentity(env, r);
  const std::string line = EncodeAuditLine(r);
  if (line.size() > kMaxAuditLine)
    return Status::InvalidArgument(path + ": the record would be " +
                                   std::to_string(line.size()) + " bytes, more than " +
                                   std::to_string(kMaxAuditLine) + "; nothing was appended");
  Status s = fd->WriteAll(line);
  if (s.ok()) s = fd->Sync();
  if (!s.ok()) {
    // Take back a partial line (disk full mid-write) so the next append is not refused.
    if (fd->Truncate(size).ok()) (void)fd->Sync();
    return s.WithContext("nothing was appended");
  }
  if (size == 0) {  // the log (and maybe audit/) was just created: make the names durable
    TCD_RETURN_IF_ERROR(env->SyncDir(AuditDir(data_dir)));
    TCD_RETURN_IF_ERROR(env->SyncDir(data_dir));
  }
  return Status::OK();
}

Status OpenForAppend(Env* env, const std::string& data_dir, LogFd* fd) {
  if (!env->FileExists(data_dir))
    return Status::NotFound("data directory " + data_dir + " does not exist");
  TCD_RETURN_IF_ERROR(env->CreateDirs(AuditDir(data_dir)));
  TCD_RETURN_IF_ERROR(fd->Open(AuditLogPath(data_dir), O_RDWR | O_APPEND | O_CREAT));
  return fd->Lock(LOCK_EX);
}

Result<std::string> ReadAll(LogFd* fd) {
  TCD_ASSIGN_OR_RETURN(uint64_t size, fd->Size());
  return fd->ReadAt(0, static_cast<size_t>(size));
}

std::string CompactUtc(int64_t us) {  // 20261122T103207Z
  std::string t = FormatTime(us);
  std::string out;
  for (char c : t.substr(0, 19))
    if (c != '-' && c != ':') out += c;
  return out + "Z";
}

}  // namespace

std::string AuditLogPath(const std::string& data_dir) { return AuditDir(data_dir) + "/audit.log"; }

const char* AuditProblemName(AuditProblem p) {
  switch (p) {
    case AuditProblem::kNone: return "none";
    case AuditProblem::kIncompleteLine: return "incomplete-line";
    case AuditProblem::kBadJson: return "bad-json";
    case AuditProblem::kBadRecord: return "bad-record";
    case AuditProblem::kSeqGap: return "seq-gap";
    case AuditProblem::kPrevMismatch: return "prev-mismatch";
    case AuditProblem::kHashMismatch: return "hash-mismatch";
  }
  return "unknown";
}

std::string EncodeAuditLine(AuditRecord* r) {
  r->time = FormatTime(r->time_us);
  Json j = {{"v", kVersion},          {"seq", r->seq},       {"time", r->time},
            {"user", r->user},        {"uid", r->uid},       {"sudo_user", r->sudo_user},
            {"host", r->host},        {"pid", r->pid},       {"action", r->action},
            {"what", r->what},        {"result", r->result}, {"detail", r->detail},
            {"prev", ToHex(r->prev)}};
  r->hash = RecordHash(r->prev, Canonical(j));
  j["hash"] = ToHex(r->hash);
  return Canonical(j) + "\n";
}

Status AppendAudit(Env* env, const std::string& data_dir, const std::string& action,
                   const nlohmann::json& what, const std::string& result,
                   const std::string& detail) {
  const std::string path = AuditLogPath(data_dir);
  if (!ValidAction(action))
    return Status::InvalidArgument(path + ": action '" + action +
                                   "': expected 1-64 characters of [a-z0-9-]");
  if (!ValidResult(result))
    return Status::InvalidArgument(path + ": result '" + result +
                                   "': expected ok, failed or refused");
  if (!what.is_object() && !what.is_null())
    return Status::InvalidArgument(path + ": what: expected a JSON object");
  AuditRecord r;
  r.action = action;
  auto clean = CleanJson(what.is_null() ? Json::object() : what, "what");
  if (!clean.ok()) return Named(clean.status(), path);
  r.what = std::move(clean).value();
  r.result = result;
  r.detail = ValidUtf8(detail);
  LogFd fd;
  Status s = OpenForAppend(env, data_dir, &fd);
  if (s.ok()) s = AppendLocked(env, &fd, data_dir, &r);
  return Named(s, path);
}

Result<AuditReport> ReadAudit(Env* env, const std::string& data_dir, const AuditFilter& filter,
                              std::vector<AuditRecord>* records) {
  (void)env;
  const std::string path = AuditLogPath(data_dir);
  LogFd fd;
  Status s = fd.Open(path, O_RDONLY);
  if (!s.ok()) {
    if (s.IsNotFound()) return Status::NotFound(path + ": no audit log (nothing was audited yet)");
    return s;
  }
  (void)fd.Lock(LOCK_SH);  // best effort (e.g. no locks on this filesystem): read anyway
  auto data = ReadAll(&fd);
  if (!data.ok()) return data.status();
  VerifyState st;
  st.report.path = path;
  VerifyBytes(*data, filter, records, &st);
  return st.report;
}

Result<AuditReport> VerifyAudit(Env* env, const std::string& data_dir) {
  return ReadAudit(env, data_dir, AuditFilter(), nullptr);
}

Result<std::string> RepairAudit(Env* env, const std::string& data_dir) {
  const std::string path = AuditLogPath(data_dir), dir = AuditDir(data_dir);
  LogFd fd;
  Status s = fd.Open(path, O_RDWR | O_APPEND);
  if (s.ok()) s = fd.Lock(LOCK_EX);
  if (!s.ok()) return Named(s, path);
  auto data = ReadAll(&fd);
  if (!data.ok()) return Named(data.status(), path);
  VerifyState st;
  VerifyBytes(*data, AuditFilter(), nullptr, &st);
  const AuditReport& rep = st.report;
  if (rep.ok())
    return "nothing to repair: " + std::to_string(rep.records_checked) + " records verify";
  const bool torn = st.last_line_bad && (rep.problem == AuditProblem::kIncompleteLine ||
                                         rep.problem == AuditProblem::kBadJson);
  if (!torn)
    return Status::Corruption(path + ": line " + std::to_string(rep.bad_line) + ": " +
                              AuditProblemName(rep.problem) + ": " + rep.detail +
                              "; this is not a torn last line, so nothing was changed (it is "
                              "evidence: keep the file and investigate)");
  const std::string torn_bytes = data->substr(st.bad_offset);
  const std::string name = "audit.log.torn-" + CompactUtc(env->NowMicros()) + "-" +
                           std::to_string(st.bad_offset);
  s = env->WriteFileDurably(dir + "/" + name, AsBytes(torn_bytes), 0640);
  if (s.ok()) s = fd.Truncate(st.bad_offset);
  if (s.ok()) s = fd.Sync();
  if (!s.ok()) return Named(s, path);
  AuditRecord r;
  r.action = "audit-repair";
  r.what = {{"line", rep.bad_line},
            {"offset", st.bad_offset},
            {"bytes", torn_bytes.size()},
            {"blake2b", ToHex(crypto::Blake2b256(AsBytes(torn_bytes)))},
            {"problem", AuditProblemName(rep.problem)},
            {"saved_as", name}};
  r.result = "ok";
  r.detail = "moved the torn last line " + std::to_string(rep.bad_line) + " (" +
             std::to_string(torn_bytes.size()) + " bytes) to " + name;
  s = AppendLocked(env, &fd, data_dir, &r);
  if (!s.ok()) return Named(s, path);
  return "line " + std::to_string(rep.bad_line) + " (" + std::to_string(torn_bytes.size()) +
         " bytes, " + AuditProblemName(rep.problem) + ") moved to " + dir + "/" + name +
         "; the repair is record seq " + std::to_string(r.seq);
}

}  // namespace tcd::node
