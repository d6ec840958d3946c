#include "base/time_format.h"

#include <cstdio>
#include <ctime>
#include <optional>

namespace tcd {

std::string FormatUtc(int64_t us) {
  time_t t = static_cast<time_t>(us / 1000000);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string FormatLocal(int64_t us) {
  time_t t = static_cast<time_t>(us / 1000000);
  struct tm tm;
  localtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

Result<ParsedTime> ParseTime(std::string_view text, const std::string& what) {
  auto bad = [&] {
    return Status::InvalidArgument(what + " '" + std::string(text) +
                                   "': expected YYYY-MM-DD, YYYY-MM-DD HH:MM or "
                                   "YYYY-MM-DD HH:MM:SS, optionally followed by Z or +HH:MM");
  };
  std::string s(text);
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, n = 0;
  ParsedTime out;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10) return bad();
  size_t pos = 10;
  out.date_only = pos == s.size();
  out.span_us = 86400ll * 1000000;
  if (!out.date_only) {
    if (s[pos] != ' ' && s[pos] != 'T') return bad();
    int m = 0;
    if (std::sscanf(s.c_str() + pos + 1, "%2d:%2d%n", &h, &mi, &m) != 2 || m != 5) return bad();
    pos += 6;
    out.span_us = 60ll * 1000000;
    if (pos < s.size() && s[pos] == ':') {
      if (std::sscanf(s.c_str() + pos + 1, "%2d%n", &sec, &m) != 1 || m != 2) return bad();
      pos += 3;
      out.span_us = 1000000;
    }
  }
  std::optional<int> offset_s;
  if (pos < s.size() && !out.date_only) {
    std::string zone = s.substr(pos);
    int oh = 0, om = 0, m = 0;
    if (zone == "Z") {
      offset_s = 0;
    } else if ((zone[0] == '+' || zone[0] == '-') &&
               std::sscanf(zone.c_str() + 1, "%2d:%2d%n", &oh, &om, &m) == 2 && m == 5 &&
               oh <= 14 && om < 60) {
      offset_s = (zone[0] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
    } else {
      return bad();
    }
  } else if (pos != s.size()) {
    return bad();
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59 || y < 1970)
    return bad();
  struct tm tm = {};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  tm.tm_isdst = -1;
  struct tm check = tm;
  time_t t = offset_s ? timegm(&tm) - *offset_s : mktime(&tm);
  if (t == static_cast<time_t>(-1) || tm.tm_mday != check.tm_mday || tm.tm_mon != check.tm_mon)
    return bad();  // e.g. 2026-02-30 normalized into March
  out.unix_us = static_cast<int64_t>(t) * 1000000;
  return out;
}

std::string FormatDuration(int64_t us) {
  long long s = (us + 500000) / 1000000;
  char buf[32];
  if (s >= 3600)
    snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  else
    snprintf(buf, sizeof buf, "%lld:%02lld", s / 60, s % 60);
  return buf;
}

}  // namespace tcd
