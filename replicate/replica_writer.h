// ReplicaWriter: the receiving side's store operations (DESIGN.md §5). It checks what a
// downstream node sends before anything is stored — entry encoding, sequence, hash link to the
// stored head, the session signer's Ed25519 signature on every head, and (at a province) that
// the signer is the sending node's enrolled key — and acknowledges only what is durable.
// Entries are stored before their blobs ("metadata first"); a blob is wanted until it arrives
// complete and matching its signed cipher hash and size.
//
// Thread-safety: one receiver thread calls it; it is safe against concurrent reads of the
// store and against the province's sender thread updating replication records.
#pragma once

#include <string>

#include "node/store.h"
#include "replicate/enrollment.h"
#include "replicate/protocol.h"

namespace tcd::replicate {

class ReplicaWriter {
 public:
  // `self` is this node's role (province or central). REQUIRES: store outlives the writer.
  ReplicaWriter(node::Store* store, Role self);

  // Verifies and stores the entries of `msg` sent by `peer`. A refusal is an ack with result
  // kRejected whose detail names the seq and the problem (bad-entry, broken-link, bad-signature,
  // fork, foreign-signer, out-of-order); nothing of the message is stored then. Entries already
  // stored identically are skipped (replays are harmless); entries beyond the stored head are
  // not accepted (the ack's `stored` tells the sender where to resume). A Status error means a
  // local failure (I/O, disk full): nothing acknowledged.
  Result<SessionAck> Accept(const EnrolledNode& peer, const Entries& msg);

  // The current ack for a session (answer to QUERY, and after a blob arrived). kUnknown when
  // the session is not stored here.
  Result<SessionAck> AckFor(const crypto::SessionId& session);

  // A wanted blob arrived complete: checks its size and BLAKE2b-256 against the signed values
  // (Corruption naming the session and seq otherwise: the caller discards it and fetches
  // again), makes it durable, then removes it from the inbox.
  Status StoreBlob(const node::WantedBlob& w, ByteView bytes);

 private:
  Result<SessionAck> Reject(const crypto::SessionId& session, const std::string& peer_name,
                            const std::string& detail);
  node::Store* const store_;
  const Role self_;
};

}  // namespace tcd::replicate
