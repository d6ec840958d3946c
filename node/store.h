// Store: a node's archive directory — content-addressed blob files (DATA/blobs) and the RocksDB
// catalog (DATA/catalog). It owns the crash-safety order: a blob is durable (temp, fsync,
// rename, fsync dir) before the catalog batch that references it is written (synced). Opening
// for writing runs recovery, which reconciles the two after a crash.
//
// Thread-safety: Append() calls for one session must be serialized by the caller; everything
// else is safe for concurrent use.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/env.h"
#include "base/status.h"
#include "crypto/chain.h"
#include "node/blob_store.h"
#include "node/catalog.h"

namespace tcd::node {

struct StoreOptions {
  bool read_only = false;
  // Media and open entries are refused with NoSpace when the data directory's filesystem has
  // less free space than this (bytes), so a full disk stops recording cleanly instead of
  // corrupting anything; gap and seal entries (a few hundred bytes) are still accepted so the
  // session can be sealed.
  uint64_t min_free_bytes = 64ull << 20;
  // Every appended session goes into the catalog's outbox (all but the central archive,
  // which has no upstream; a recorder may get one later).
  bool track_outbox = true;
  // The node's role (NodeConfig::role), recorded in the catalog on a writable open
  // (Catalog::SetRole); "" leaves what is recorded.
  std::string role;
};

// What recovery found and did when the store was opened for writing.
struct RecoveryReport {
  int temp_files_removed = 0;
  int orphan_blobs_removed = 0;  // durable blobs whose catalog batch never committed: moved
                                 // to blobs/quarantine/
  // Blobs referenced by the catalog but absent on disk: how many, and the first few (a lost
  // blob directory would otherwise make millions of log lines and strings).
  static constexpr size_t kMissingNamed = 10;
  size_t missing_blob_count = 0;
  std::vector<std::string> missing_blobs;     // the first kMissingNamed, as hex
  std::vector<std::string> sessions_unsealed; // were "recording" with no live recorder
};

class Store {
 public:
  // `env` must outlive the Store. Read-only stores can be opened while a recorder writes.
  static Result<std::unique_ptr<Store>> Open(Env* env, const std::string& dir,
                                             const StoreOptions& options = {});

  // Durably appends entry `record.next_seq - 1`: blob first (if any), then one synced catalog
  // batch with the entry, its signature, the blob reference and the session summary.
  // REQUIRES: the entry is already signed; blob.has_value() iff the entry is init/segment, and
  // then entry.cipher_hash was computed from *blob (it names the blob file without rehashing).
  Status Append(const SessionRecord& record, const crypto::ChainEntry& entry,
                const crypto::Signature& sig, std::optional<ByteView> blob);

  // Changes StoreOptions::min_free_bytes (configuration reload). Thread-safe.
  void set_min_free_bytes(uint64_t bytes) { min_free_bytes_ = bytes; }

  Catalog* catalog() { return catalog_.get(); }
  BlobStore* blobs() { return blobs_.get(); }
  Env* env() { return env_; }
  const std::string& dir() const { return dir_; }
  const RecoveryReport& recovery() const { return recovery_; }

  // Held while retention evicts a session's blobs and while an evidence hold is placed, so a
  // hold that returned is never overtaken by an eviction already under way.
  std::mutex& retention_mu() { return retention_mu_; }

  // Resolves a session id given in full or as a unique prefix of its text form.
  Result<crypto::SessionId> ResolveSession(const std::string& text);

 private:
  Store() = default;
  Status Recover();

  Env* env_ = nullptr;
  std::string dir_;
  StoreOptions options_;
  std::atomic<uint64_t> min_free_bytes_{0};
  std::unique_ptr<BlobStore> blobs_;
  std::unique_ptr<Catalog> catalog_;
  RecoveryReport recovery_;
  std::mutex retention_mu_;
};

}  // namespace tcd::node
