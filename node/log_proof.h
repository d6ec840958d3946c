// The node-log proof of a session in an evidence bundle (docs/FORMAT.md §Evidence bundle,
// log-proof.json): that the session's chain, up to an entry, is in its recorder's node log at
// a checkpoint the recorder signed and its province cosigned, and that this checkpoint is in
// the province's log at a checkpoint the central archive cosigned. With the bundle alone an
// inspector can so check that the session was in custody at every tier, and that none of them
// can later show a history without it (a split view would be caught by the cosigners).
//
// Thread-safety: pure functions over the store's reads.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/chain.h"
#include "crypto/keys.h"

namespace tcd::node {

class Store;

// log-proof.json for `session` (whose signer, the recorder, is `recorder_pk`): the newest entry
// of its chain (below `next_seq`) that the recorder's log held at a kept checkpoint, and, when
// this archive keeps the province log that holds that checkpoint, the proof through it.
// nullopt when this archive keeps no checkpoint of the recorder's log covering the session.
Result<std::optional<std::string>> BuildLogProof(Store* store, const crypto::SessionId& session,
                                                 uint64_t next_seq,
                                                 const crypto::PublicKey& recorder_pk);

struct LogProofCheck {
  uint64_t seq = 0;  // the entry proved; the chain links every earlier one to it
  std::string recorder_origin;
  uint64_t recorder_size = 0;
  std::vector<std::string> recorder_cosigners;  // "tcd-archive/… at 2026-…Z" (checked ones)
  bool through_province = false;
  std::string province_origin;
  uint64_t province_size = 0;
  bool central_cosigned = false;
  std::string central_origin;
  bool cosigners_checked = false;  // the province and central keys were trusted ones
  std::string Tiers() const;  // "recorder", "recorder → province", "… → central"
};

// Checks log-proof.json against the session's chain as the bundle holds it (entry encodings,
// index = seq; already verified) and its signer. When `trusted_cosigners` is not empty, the
// province and central keys the file names must be among them (the archives' node.pub signing
// keys, known to the inspector); otherwise they are taken from the file (cosigners_checked =
// false). Corruption naming the part that fails: the recorder or province checkpoint (which
// signature or cosignature), the inclusion proof (which log, which leaf), or an untrusted key.
Result<LogProofCheck> CheckLogProof(std::string_view json_text, const crypto::SessionId& session,
                                    const std::vector<ByteView>& entries,
                                    const crypto::PublicKey& recorder_pk,
                                    const std::vector<crypto::PublicKey>& trusted_cosigners = {});

}  // namespace tcd::node
