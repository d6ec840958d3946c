// Retention on a recorder (DESIGN.md §6): a media blob may be evicted only after the central
// tier has acknowledged holding it (ReplRecord::central_held) and the retention period has
// passed both since the segment ended and since that acknowledgment arrived; a session on
// evidence hold is never evicted. Chain entries are never evicted: the session still verifies
// locally (its evicted blobs are counted as such, VerifyOptions::evicted_below).
//
// Order on disk: the session's evicted_below is raised (synced) before blob files are removed,
// so a crash leaves at most blob files that a later pass removes, never a missing blob that
// the catalog does not account for.
#pragma once

#include <cstdint>

#include "node/store.h"

namespace tcd::replicate {

struct RetentionReport {
  uint64_t sessions_examined = 0;
  uint64_t blobs_evicted = 0;
  uint64_t bytes_freed = 0;
  uint64_t sessions_on_hold = 0;
  uint64_t errors = 0;  // sessions whose blobs could not all be removed (logged; retried)
};

// One pass over every session. `retention_us` ≤ 0 evicts nothing (reports holds only).
// `sweep` (the first pass after start) also removes blob files left below evicted_below by a
// pass that a crash interrupted.
Result<RetentionReport> EvictExpired(node::Store* store, int64_t retention_us, int64_t now_us,
                                     bool sweep);

}  // namespace tcd::replicate
