// SessionRecorder: turns the segments of one reception session into the signed, encrypted,
// hash-chained entries of the archive (DESIGN.md §3-4). For every segment it encrypts the
// plaintext with the session key, hashes ciphertext and plaintext (BLAKE2b-256), links the
// entry to the previous one, signs the new chain head with the node key and appends it to the
// store (blob durable first, then the synced catalog batch). Plaintext never touches the disk.
//
// The session key exists only in this object's memory; Seal() (or destruction) wipes it, so a
// recorder that is not itself a recipient cannot decrypt the session afterwards.
//
// Thread-safety: the capture thread calls the SegmentSink methods and Seal(); Annotate() and
// record() may be called from any thread at the same time (an internal mutex serializes
// appends).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "crypto/chain.h"
#include "crypto/keys.h"
#include "ingest/capture.h"
#include "node/store.h"

namespace tcd::node {

class SessionRecorder : public ingest::SegmentSink {
 public:
  // Writes the open entry (seq 0): metadata, signer, session key sealed to every recipient.
  // REQUIRES: recipients non-empty; `store` and `identity` outlive the recorder.
  static Result<std::unique_ptr<SessionRecorder>> Start(
      Store* store, const crypto::NodeIdentity* identity,
      const std::vector<crypto::ArchivePublic>& recipients, const crypto::Metadata& meta);

  Status OnInit(uint32_t run, Bytes init, const std::string& codecs) override;
  Status OnSegment(ingest::MediaSegment segment) override;
  Status OnGap(int64_t from_us, int64_t to_us, const std::string& reason) override;

  // Appends the seal entry, marks the session sealed and wipes the session key.
  // After Seal() only Annotate() is allowed.
  Status Seal(crypto::SealReason reason);

  // Appends a signed annotation (metadata amended after the fact). Returns its seq.
  // REQUIRES: `meta` validated (node::ValidateMetadata).
  Result<uint64_t> Annotate(const crypto::Metadata& meta);

  const crypto::SessionId& id() const { return id_; }
  SessionRecord record() const;

 private:
  SessionRecorder(Store* store, const crypto::NodeIdentity* identity);
  // Appends `entry` after the current head; `update` adjusts the summary (counts, state).
  // Updates record_ only when durable. REQUIRES: mu_ held.
  Status AppendLocked(crypto::ChainEntry entry, std::optional<ByteView> blob,
                      const std::function<void(SessionRecord*)>& update);
  Status AppendMedia(crypto::EntryKind kind, uint32_t run, const Bytes& plain, int64_t start_us,
                     int64_t duration_us);

  Store* const store_;
  const crypto::NodeIdentity* const identity_;
  crypto::SessionId id_{};  // constant after Start()
  mutable std::mutex mu_;
  crypto::SecretBytes session_key_;  // GUARDED_BY(mu_); wiped by Seal()
  SessionRecord record_;             // GUARDED_BY(mu_)
  bool sealed_ = false;              // GUARDED_BY(mu_)
};

}  // namespace tcd::node
