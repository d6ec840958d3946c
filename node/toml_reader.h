// TomlReader: the toml++ adapter of node/config.cc (private to node/). Turns toml++ values and
// exceptions into Status, so that every config error reads "<file>: <key path>: <problem>"
// ("recorder.toml: source[1].mode: must be auto, schedule or manual (got 'always')"). Key paths
// join table keys with '.' and index arrays from 0 ("schedule[0].days[2]").
//
// Thread-safety: a TomlReader is immutable; the toml++ tables it reads must outlive each call.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "base/status.h"

namespace tcd::node {

class TomlReader {
 public:
  explicit TomlReader(std::string file) : file_(std::move(file)) {}

  // Parses a document. A syntax error is InvalidArgument "<file>: line N: <description>".
  // No exception leaves this call.
  Result<toml::table> Parse(std::string_view text) const;

  // InvalidArgument "<file>: <path>: <problem>".
  Status Err(const std::string& path, const std::string& problem) const;
  const std::string& file() const { return file_; }
  // "a.b" (or "b" when prefix is empty).
  static std::string Join(const std::string& prefix, std::string_view key);

  // Refuses keys of `t` not in `allowed`: a typo must not be silently ignored.
  Status CheckKeys(const toml::table& t, const std::string& prefix,
                   std::initializer_list<std::string_view> allowed) const;

  // The Get* calls leave *out unchanged when the key is absent (and not required).
  // A required string must be present and non-empty.
  Status GetString(const toml::table& t, const std::string& prefix, std::string_view key,
                   bool required, std::string* out) const;
  Status GetBool(const toml::table& t, const std::string& prefix, std::string_view key,
                 bool* out) const;
  // A number in [lo, hi]; an integer is accepted where a double is expected. NaN is refused.
  Status GetDouble(const toml::table& t, const std::string& prefix, std::string_view key, double lo,
                   double hi, double* out) const;
  // A non-negative integer (floats are refused).
  Status GetUint(const toml::table& t, const std::string& prefix, std::string_view key,
                 uint64_t* out) const;
  // Appends the strings of an array of strings (or, when `allow_single`, of one string) to *out.
  Status GetStrings(const toml::node& n, const std::string& path, bool allow_single,
                    std::vector<std::string>* out) const;
  // A time of day: "HH:MM" (00:00 … 24:00) or a TOML local time of whole minutes;
  // *out = minutes after midnight. The key is required.
  Status GetMinuteOfDay(const toml::table& t, const std::string& prefix, std::string_view key,
                        int* out) const;
  // An optional top-level [key] table / [[key]] array of tables; *out = nullptr when absent.
  Status GetTable(const toml::table& t, std::string_view key, const toml::table** out) const;
  Status GetTables(const toml::table& t, std::string_view key, const toml::array** out) const;

 private:
  const std::string file_;
};

}  // namespace tcd::node
