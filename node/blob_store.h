// BlobStore: the node's media blobs as content-addressed, immutable files (DESIGN §6).
// Crash-safety order of the node: blob durable first (Put returns), then the catalog batch.
//
// Layout under `root`:
//   root/<h[0:2]>/<64 lowercase hex of BLAKE2b-256 of the bytes>   the blobs
//   root/tmp/<random>.tmp                                          Put in progress / crash leftovers
//   root/quarantine/<hex>.<unix-time>[.reason]                     damaged blobs kept for inspection
//
// Every file operation goes through the Env, so a FaultInjectionEnv can crash any step. After a
// crash at any step of Put and a power loss the blob is either absent or complete and correct
// under its final name (never a partial file there); temp files may remain until CleanTemp().
//
// Thread-safety: safe for concurrent Put/Get/Exists/List of different blobs (and concurrent Put
// of the same bytes). Remove/Quarantine of a blob concurrent with its Put or Get is not defined
// beyond "no partial file is ever served".
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/env.h"
#include "base/status.h"
#include "crypto/hash.h"

namespace tcd::node {

// Content-addressed, immutable blob files under `root`: root/<h[0:2]>/<64 hex chars of BLAKE2b-256 of the bytes>.
// Thread-safe for concurrent Put/Get of different blobs.
class BlobStore {
 public:
  // creates root, root/tmp, root/quarantine. REQUIRES: env outlives the store.
  static Result<std::unique_ptr<BlobStore>> Open(Env* env, const std::string& root);

  // Durable before returning: write root/tmp/<random>.tmp, Sync, Close, CreateDirs(shard)
  // (SyncDir(root) when the shard dir was new), Rename to final path, SyncDir(shard).
  // Idempotent: if the final path exists with the right size, OK without rewriting. Returns
  // the hash. On failure the temp file is removed where possible (best effort).
  Result<crypto::Hash256> Put(ByteView data);
  // Put with the hash the caller computed from these very bytes (the recorder hashes each
  // ciphertext for its chain entry; hashing 2 MB again would cost a third of a segment's
  // crypto). REQUIRES: hash == Blake2b256(data); checked in debug builds only.
  Result<crypto::Hash256> Put(ByteView data, const crypto::Hash256& hash);
  // NotFound("blob <hex> not found (<path>)"), or Corruption("blob <hex>: content hash
  // mismatch (<path>)") when the bytes do not hash to the name.
  Result<Bytes> Get(const crypto::Hash256& h);
  // Reads without hashing (for callers that verify themselves). NotFound as Get.
  Result<Bytes> GetUnverified(const crypto::Hash256& h);
  bool Exists(const crypto::Hash256& h);
  // The blob file's size, without reading it; NotFound as Get.
  Result<uint64_t> Size(const crypto::Hash256& h);
  // Every blob file present (ignores tmp/ and quarantine/ and names that are not 64 hex),
  // ascending.
  Result<std::vector<crypto::Hash256>> List();
  // The blob files of one shard, those whose hash starts with byte `first`, ascending: a 256th
  // of the store, for a caller that walks it in order without holding it all.
  Result<std::vector<crypto::Hash256>> ListShard(uint8_t first);
  // Makes an existing blob's name durable (SyncDir of its shard and of the root): Put's data is
  // fsynced before its rename, but a crash between the rename and the directory sync leaves a
  // name that a power loss could still take away. Call before trusting Exists() for an ack.
  Status MakeDurable(const crypto::Hash256& h);
  // Removes and SyncDir. NotFound if absent.
  Status Remove(const crypto::Hash256& h);
  // Moves a damaged blob to root/quarantine/<hex>.<unix-time> so it is kept for inspection but
  // no longer served; `reason` is written beside it as <hex>.<unix-time>.reason (best effort)
  // and logged. NotFound if absent.
  Status Quarantine(const crypto::Hash256& h, const std::string& reason);
  // Removes leftover temp files (after a crash); returns how many.
  // REQUIRES: no Put is in progress (it would remove that Put's temp file and fail it).
  Result<int> CleanTemp();
  std::string PathOf(const crypto::Hash256& h) const;

  const std::string& root() const { return root_; }

 private:
  BlobStore(Env* env, std::string root);
  std::string ShardOf(const std::string& hex) const;
  Result<Bytes> Read(const crypto::Hash256& h, std::string* hex, std::string* path);

  Env* const env_;
  const std::string root_;
  const std::string tmp_dir_;
  const std::string quarantine_dir_;
  std::mutex mu_;
  // Shard directories whose entry in root_ this process has made durable (SyncDir(root_)
  // after creating or finding them). GUARDED_BY(mu_)
  std::set<std::string> durable_shards_;
};

}  // namespace tcd::node
