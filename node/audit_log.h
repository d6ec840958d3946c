// The audit log: who searched and exported what, when, and with which result (issue 5). It is
// an append-only, hash-chained text file, DATA/audit/audit.log, one canonical JSON record per
// line; each record's hash covers the previous record's hash, so an edited, deleted, reordered
// or inserted record is found by VerifyAudit (docs/FORMAT.md §Audit log, byte for byte, so that
// an inspector can check it with independent code).
//
// Fails closed: a caller that shows search results or writes an export must call AppendAudit
// first and refuse to show or write anything when it fails.
//
// Concurrency: appends from any number of threads and processes are serialized by an exclusive
// flock on the log file itself; each append is written with one write(2) and fdatasync'd before
// the lock is released (and the directories are fsync'd when the log is created). Readers take
// a shared flock, so they never see a half-written record of a live writer, and never write.
//
// A torn last line (a crash in the middle of an append) is never chained onto: AppendAudit
// refuses, naming the line, until RepairAudit (`tcd audit --repair`) has moved the torn bytes to
// an evidence file and recorded that in the log.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/env.h"
#include "base/status.h"
#include "crypto/hash.h"

namespace tcd::node {

// The domain string of the record hash (FORMAT.md §Conventions).
constexpr const char* kAuditDomain = "tcd/audit-record/v1";
// Longest record line, newline included; longer records are refused (InvalidArgument).
constexpr size_t kMaxAuditLine = 64 * 1024;

// DATA/audit/audit.log
std::string AuditLogPath(const std::string& data_dir);

// One record as stored.
struct AuditRecord {
  uint64_t seq = 0;        // 0 for the first record, then +1 per record
  std::string time;        // RFC 3339 UTC with microseconds: "2026-11-22T10:32:07.123456Z"
  int64_t time_us = 0;     // the same, UTC µs since the Unix epoch (a claim of the PC clock)
  std::string user;        // name of the effective OS user ("" when it has no passwd entry)
  uint64_t uid = 0;        // effective uid
  std::string sudo_user;   // $SUDO_USER of the process ("" when unset): a claim, not checked
  std::string host;        // gethostname()
  int64_t pid = 0;
  std::string action;      // "search", "export", "verify-bundle", "audit-repair", …
  nlohmann::json what;     // a JSON object: the query, session id, options
  std::string result;      // "ok" | "failed" | "refused"
  std::string detail;      // "12 hits", the error, …
  crypto::Hash256 prev{};  // hash of the previous record; zeros for seq 0
  crypto::Hash256 hash{};
  // Where it was read from (not stored): 1-based line, and whether the chain from line 1 up to
  // and including this record verified.
  uint64_t line = 0;
  bool verified = false;
};

// Stable names (FORMAT.md §Audit log; the "problem" of `tcd verify --audit --json`).
enum class AuditProblem : uint8_t {
  kNone = 0,
  kIncompleteLine = 1,  // the last line has no terminating newline (torn write or truncation)
  kBadJson = 2,         // not JSON / not UTF-8
  kBadRecord = 3,       // JSON, but not a canonical record of this version
  kSeqGap = 4,          // seq is not the previous seq + 1 (a record deleted, moved or inserted)
  kPrevMismatch = 5,    // prev is not the previous record's hash
  kHashMismatch = 6,    // hash does not match the record's bytes (a value was edited)
};
const char* AuditProblemName(AuditProblem p);  // "incomplete-line", "bad-json", …

struct AuditWarning {
  uint64_t line = 0;
  std::string detail;  // "time goes backwards: … after …"
};

// What VerifyAudit found. Verification stops at the first bad line.
struct AuditReport {
  std::string path;
  uint64_t records_checked = 0;  // records that verified (lines 1 .. bad_line-1 on a problem)
  crypto::Hash256 head{};        // hash of the last verified record (zeros when none)
  AuditProblem problem = AuditProblem::kNone;
  uint64_t bad_line = 0;         // 1-based line of the problem; 0 when none
  std::string detail;            // what is wrong at bad_line
  std::vector<AuditWarning> warnings;  // among the verified records; not errors
  bool ok() const { return problem == AuditProblem::kNone; }
};

// Which records ReadAudit returns. Empty fields do not filter.
struct AuditFilter {
  std::optional<int64_t> from_us;  // time_us >= from_us
  std::optional<int64_t> to_us;    // time_us <  to_us
  std::string action;              // exactly this action
};

// Appends one record for the calling process (time, user, uid, sudo_user, host, pid are taken
// from `env` and the OS). `action` is 1-64 of [a-z0-9-]; `what` a JSON object without
// floating-point numbers; `result` "ok", "failed" or "refused" — otherwise InvalidArgument and
// nothing is written. Invalid UTF-8 in strings is replaced by U+FFFD. Creates DATA/audit/ and
// the log (mode 0640) on first use; REQUIRES: data_dir exists.
// OK only when the record is durable (fdatasync'd). Any failure — unwritable directory, full
// disk, a torn or damaged last record — returns a Status naming the log file; the caller must
// then refuse to show results. Safe to call from several threads and processes at once.
Status AppendAudit(Env* env, const std::string& data_dir, const std::string& action,
                   const nlohmann::json& what, const std::string& result,
                   const std::string& detail);

// Reads and verifies the whole log. Every record that can be parsed and passes `filter` is
// appended to *records (when non-null) in file order, records after a problem too (with
// verified = false). NotFound (naming the file) when there is no log; IOError when it cannot
// be read. A damaged log is not an error Status: it is the report's problem.
Result<AuditReport> ReadAudit(Env* env, const std::string& data_dir, const AuditFilter& filter,
                              std::vector<AuditRecord>* records);
// ReadAudit without records.
Result<AuditReport> VerifyAudit(Env* env, const std::string& data_dir);

// Repairs a torn tail, and nothing else. When every line verifies but the last one, and the
// last one is incomplete or not JSON (what a crash in the middle of an append leaves), its
// bytes are saved durably to DATA/audit/audit.log.torn-<YYYYMMDDTHHMMSSZ>-<offset>, the log is
// truncated after the last good record, and an "audit-repair" record naming the line, offset,
// size, BLAKE2b-256 and evidence file is appended. Returns a one-line description of what was
// done ("nothing to repair" on an intact log). Any other problem (an edited, missing or
// reordered record) is refused with Corruption naming the line: that is evidence, not a torn
// write, and is never cut.
Result<std::string> RepairAudit(Env* env, const std::string& data_dir);

// The record's line as stored, newline included. Uses r's seq, time_us, user, uid, sudo_user,
// host, pid, action, what, result, detail and prev as given (no validation; REQUIRES: what is
// an object of valid UTF-8 without floats) and sets r->time and r->hash. For known-answer
// tests and tools; AppendAudit uses it.
std::string EncodeAuditLine(AuditRecord* r);

}  // namespace tcd::node
