// Appending signed entries to a session's chain: the one place where an entry gets its
// sequence number, its link to the previous head and the node's head signature before the
// store makes it durable. Used by the live recorder, and for entries added to sessions that no
// recorder holds: annotations (metadata amended after the fact, never overwritten) and the
// recovery note that closes a session interrupted by a crash.
//
// REQUIRES: appends to one session are serialized by the caller (one recorder, or the daemon's
// lock); the store's catalog holds the current summary.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "crypto/chain.h"
#include "crypto/keys.h"
#include "node/store.h"

namespace tcd::node {

// Signs `entry` as the entry after `current` (fills session, seq, prev_hash), appends it with
// `blob`, and returns the stored summary: `next` with next_seq and head_hash set.
Result<SessionRecord> AppendSigned(Store* store, const crypto::SecretBytes& sign_sk,
                                   const SessionRecord& current, crypto::ChainEntry entry,
                                   std::optional<ByteView> blob, SessionRecord next);

// An annotation entry: time = now, body = MetaBody. REQUIRES: `meta` validated.
crypto::ChainEntry MakeAnnotation(Env* env, const crypto::Metadata& meta);

// Appends an annotation to a session that no live recorder holds. The node must be the
// session's signer (InvalidArgument otherwise: the verifier checks every entry with the key
// of the open entry). Returns the annotation's seq.
Result<uint64_t> AnnotateStoredSession(Store* store, const crypto::NodeIdentity& identity,
                                       const crypto::SessionId& session,
                                       const crypto::Metadata& meta);

// After recovery: appends a signed recovery-close note to every session left unsealed by an
// unclean stop whose signer is `identity` and marks it recovered. Returns their ids.
Result<std::vector<std::string>> CloseInterruptedSessions(Store* store,
                                                          const crypto::NodeIdentity& identity);

// The open entry's body of a stored session (signer, recipients, metadata).
Result<crypto::OpenBody> ReadOpenBody(Store* store, const crypto::SessionId& session);

}  // namespace tcd::node
