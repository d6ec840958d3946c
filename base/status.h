// Status and Result<T>: the one error type of tcd. No exception crosses a module boundary;
// foreign errors (libsodium -1, AVERROR, rocksdb::Status, boost error_code, zmq::error_t) are
// converted at the edge into a Status whose message names the thing that failed (file, field,
// sequence number). Facts a caller acts on (retryable? data lost?) are in the code, not the text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace tcd {

class [[nodiscard]] Status {
 public:
  // Never renumber: codes are shown in JSON reports and used as process exit reasons.
  enum class Code : uint8_t {
    kOk = 0,
    kNotFound = 1,
    kCorruption = 2,       // stored or received bytes fail a check: data is bad
    kInvalidArgument = 3,  // the caller's input (option, config, file content) is wrong
    kIOError = 4,          // the OS failed an operation; may succeed on retry
    kNoSpace = 5,          // disk full or below the configured threshold
    kPermission = 6,
    kUnauthenticated = 7,  // wrong key, wrong passphrase, failed AEAD or signature
    kUnavailable = 8,      // a source or peer cannot be reached now; retryable
    kAborted = 9,          // stopped on request (signal) or by an injected crash
  };

  Status() = default;
  static Status OK() { return Status(); }
  static Status NotFound(std::string m) { return Status(Code::kNotFound, std::move(m)); }
  static Status Corruption(std::string m) { return Status(Code::kCorruption, std::move(m)); }
  static Status InvalidArgument(std::string m) {
    return Status(Code::kInvalidArgument, std::move(m));
  }
  static Status IOError(std::string m) { return Status(Code::kIOError, std::move(m)); }
  static Status NoSpace(std::string m) { return Status(Code::kNoSpace, std::move(m)); }
  static Status Permission(std::string m) { return Status(Code::kPermission, std::move(m)); }
  static Status Unauthenticated(std::string m) {
    return Status(Code::kUnauthenticated, std::move(m));
  }
  static Status Unavailable(std::string m) { return Status(Code::kUnavailable, std::move(m)); }
  static Status Aborted(std::string m) { return Status(Code::kAborted, std::move(m)); }

  bool ok() const { return code_ == Code::kOk; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsCorruption() const { return code_ == Code::kCorruption; }
  bool IsInvalidArgument() const { return code_ == Code::kInvalidArgument; }
  bool IsIOError() const { return code_ == Code::kIOError; }
  bool IsNoSpace() const { return code_ == Code::kNoSpace; }
  bool IsPermission() const { return code_ == Code::kPermission; }
  bool IsUnauthenticated() const { return code_ == Code::kUnauthenticated; }
  bool IsUnavailable() const { return code_ == Code::kUnavailable; }
  bool IsAborted() const { return code_ == Code::kAborted; }
  // Worth retrying the same operation later (transient OS or network condition).
  bool retryable() const { return code_ == Code::kIOError || code_ == Code::kUnavailable; }

  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "Corruption: blob 3f2a… of session …, seq 7: hash mismatch"
  std::string ToString() const;
  static const char* CodeName(Code c);

  // Returns a copy whose message is "context: message" (same code).
  Status WithContext(const std::string& context) const;

 private:
  Status(Code c, std::string m) : code_(c), message_(std::move(m)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status s) : status_(std::move(s)) {}    // NOLINT: REQUIRES: !s.ok()
  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace tcd

// Propagates a non-OK Status from the enclosing function.
#define TCD_RETURN_IF_ERROR(expr)            \
  do {                                       \
    ::tcd::Status tcd_status_ = (expr);      \
    if (!tcd_status_.ok()) return tcd_status_; \
  } while (0)

#define TCD_CONCAT_INNER(a, b) a##b
#define TCD_CONCAT(a, b) TCD_CONCAT_INNER(a, b)
// TCD_ASSIGN_OR_RETURN(auto x, MakeX()); assigns the value or returns the Status.
#define TCD_ASSIGN_OR_RETURN(lhs, rexpr)                          \
  auto TCD_CONCAT(tcd_result_, __LINE__) = (rexpr);               \
  if (!TCD_CONCAT(tcd_result_, __LINE__).ok())                    \
    return TCD_CONCAT(tcd_result_, __LINE__).status();            \
  lhs = std::move(TCD_CONCAT(tcd_result_, __LINE__)).value()
