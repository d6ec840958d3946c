#include "base/time_format.h"

#include <cstdio>
#include <ctime>

namespace tcd {

std::string FormatUtc(int64_t us) {
  time_t t = static_cast<time_t>(us / 1000000);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
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
