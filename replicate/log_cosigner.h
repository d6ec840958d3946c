// LogCosigner: what a province or central archive does with a downstream node's LOG message
// (docs/FORMAT.md §Node log: cosigning). It keeps a copy of each downstream node's log — and,
// at the central archive, of each recorder's log a province relays — and cosigns a new
// checkpoint only when
//   * it is a well-formed checkpoint of the sender's own log (origin of its enrolled signing key)
//     and that key signed it; or, relayed, of the log of the key named in the LOG, signed by
//     that key and cosigned by the (enrolled) sender;
//   * an RFC 9162 consistency proof leads from the copy's root to it (a checkpoint of a size
//     already held must have the copy's root): otherwise it is a split view — the sender showed
//     two histories — which is kept as evidence and refused;
//   * every new leaf names a chain entry this node durably holds, with the same entry hash (or,
//     for a checkpoint leaf, is a well-formed checkpoint), and the leaves lead to its root.
// The leaves, the cosigned checkpoint and (for the sender's own log) a leaf of this node's own
// log holding the checkpoint are then stored in one synced batch; the cosigned note is the
// answer.
//
// Thread-safety: one receiver thread calls it.
#pragma once

#include "crypto/keys.h"
#include "node/store.h"
#include "replicate/enrollment.h"
#include "replicate/protocol.h"

namespace tcd::replicate {

class LogCosigner {
 public:
  // REQUIRES: store and identity outlive the cosigner.
  LogCosigner(node::Store* store, const crypto::NodeIdentity* identity)
      : store_(store), identity_(identity) {}

  // The answer to `msg` from `peer`. A Status error is a local failure (nothing cosigned).
  Result<Cosigned> Accept(const EnrolledNode& peer, const Log& msg);

 private:
  // Keeps `msg`'s checkpoint as a split view of `signer`'s log and returns the refusal naming
  // `why`.
  Result<Cosigned> SplitView(const EnrolledNode& peer, const Log& msg,
                             const crypto::PublicKey& signer, uint64_t size,
                             const std::string& why);
  node::Store* const store_;
  const crypto::NodeIdentity* const identity_;
};

}  // namespace tcd::replicate
