// Human-readable times for reports and logs.
#pragma once

#include <cstdint>
#include <string>

namespace tcd {

std::string FormatUtc(int64_t unix_us);     // "2026-11-22T10:32:07Z"
std::string FormatDuration(int64_t us);     // "1:02:03" / "4:05"

}  // namespace tcd
