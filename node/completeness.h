// Completeness (issue 6): does this archive still hold everything its downstream nodes logged?
// For every downstream log copy a province or central archive keeps (node/node_log.h), every
// leaf is checked against the store: an entry leaf's chain entry must be present with the
// logged entry hash and, for init and segment entries, its blob file must be present (or still
// be on its way: in the inbox). A whole session deleted at the province — files and catalog rows
// — leaves its leaves in the cosigned copy, so it is found and named.
//
// Thread-safety: reads only; safe while the node runs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "crypto/keys.h"
#include "node/store.h"

namespace tcd::node {

struct MissingLeaf {
  uint64_t index = 0;
  crypto::SessionId session{};
  uint64_t seq = 0;
  std::string what;  // "chain entry missing", "chain entry differs", "blob missing"
};

struct LogCompleteness {
  crypto::PublicKey signer{};  // the downstream node's signing key
  std::string origin;
  uint64_t leaves = 0;          // leaves in the copy (all cosigned here)
  uint64_t entry_leaves = 0;    // of them, chain entries
  uint64_t checkpoint_leaves = 0;  // of them, checkpoints of the node's own downstream nodes
  uint64_t pending_blobs = 0;   // blobs still being received (not missing)
  uint64_t evicted_blobs = 0;   // blobs evicted here by retention (not missing)
  uint64_t missing = 0;         // leaves whose entry or blob is absent or differs
  std::vector<MissingLeaf> first_missing;  // up to 20, in leaf order
  std::vector<crypto::SessionId> sessions_missing;  // every session with a missing leaf
};

// One result per downstream log copy, in signer key order.
Result<std::vector<LogCompleteness>> CheckCompleteness(Store* store);

}  // namespace tcd::node
