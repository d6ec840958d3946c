// Human-readable times for reports and logs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace tcd {

std::string FormatUtc(int64_t unix_us);     // "2026-11-22T10:32:07Z"
std::string FormatDuration(int64_t us);     // "1:02:03" / "4:05"
std::string FormatLocal(int64_t unix_us);   // "2026-11-22 17:32:07" in the TZ of the process

// A point in time typed by a person: "YYYY-MM-DD", "YYYY-MM-DD HH:MM", "YYYY-MM-DD HH:MM:SS"
// ('T' may replace the space), each in the process's local time zone (TZ), or followed by "Z"
// or "+HH:MM"/"-HH:MM" for UTC or an explicit offset. InvalidArgument naming `what` and the
// expected forms otherwise (also for impossible dates such as 2026-02-30).
struct ParsedTime {
  int64_t unix_us = 0;
  bool date_only = false;  // only a date was given: unix_us is its local midnight
  int64_t span_us = 0;     // length of what was typed: a day, a minute or a second
};
Result<ParsedTime> ParseTime(std::string_view text, const std::string& what);

}  // namespace tcd
