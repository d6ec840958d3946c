#include "node/blob_store.h"

#include <cassert>
#include <random>

#include <spdlog/spdlog.h>

namespace tcd::node {
namespace {

std::string RandomName() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t v[2] = {rng(), rng()};
  return ToHex(ByteView(reinterpret_cast<const uint8_t*>(v), sizeof(v)));
}

// A blob file name: 64 lowercase hex digits (the form ToHex writes).
bool ParseBlobName(const std::string& name, crypto::Hash256* h) {
  if (name.size() != 64) return false;
  auto bytes = FromHex(name);
  if (!bytes || ToHex(*bytes) != name) return false;
  std::copy(bytes->begin(), bytes->end(), h->begin());
  return true;
}

std::string StripTrailingSlash(std::string s) {
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

BlobStore::BlobStore(Env* env, std::string root)
    : env_(env),
      root_(std::move(root)),
      tmp_dir_(root_ + "/tmp"),
      quarantine_dir_(root_ + "/quarantine") {}

Result<std::unique_ptr<BlobStore>> BlobStore::Open(Env* env, const std::string& root) {
  std::unique_ptr<BlobStore> store(new BlobStore(env, StripTrailingSlash(root)));
  TCD_RETURN_IF_ERROR(env->CreateDirs(store->tmp_dir_));
  TCD_RETURN_IF_ERROR(env->CreateDirs(store->quarantine_dir_));
  return store;
}

std::string BlobStore::ShardOf(const std::string& hex) const {
  return root_ + "/" + hex.substr(0, 2);
}

std::string BlobStore::PathOf(const crypto::Hash256& h) const {
  std::string hex = ToHex(h);
  return ShardOf(hex) + "/" + hex;
}

Result<crypto::Hash256> BlobStore::Put(ByteView data) { return Put(data, crypto::Blake2b256(data)); }

Result<crypto::Hash256> BlobStore::Put(ByteView data, const crypto::Hash256& h) {
  assert(h == crypto::Blake2b256(data));
  const std::string hex = ToHex(h);
  const std::string shard = ShardOf(hex);
  const std::string final_path = shard + "/" + hex;
  if (env_->FileExists(final_path)) {
    auto size = env_->FileSize(final_path);
    if (size.ok() && *size == data.size()) {
      // Present already. Its data was synced before its rename; sync the directory again in
      // case the Put that renamed it failed before its own SyncDir.
      TCD_RETURN_IF_ERROR(env_->SyncDir(shard));
      return h;
    }
  }
  const std::string tmp = tmp_dir_ + "/" + RandomName() + ".tmp";
  Status s;
  {
    auto file = env_->NewWritableFile(tmp, 0644);
    if (!file.ok()) return file.status().WithContext("put blob " + hex);
    s = (*file)->Append(data);
    if (s.ok()) s = (*file)->Sync();
    if (s.ok()) s = (*file)->Close();
  }
  if (s.ok()) {
    // The shard's own directory entry must be durable before a blob in it is acknowledged,
    // also when an earlier process created the shard and crashed before syncing root_.
    std::lock_guard<std::mutex> lock(mu_);
    s = env_->CreateDirs(shard);
    if (s.ok() && !durable_shards_.count(shard)) {
      s = env_->SyncDir(root_);
      if (s.ok()) durable_shards_.insert(shard);
    }
  }
  if (s.ok()) s = env_->RenameFile(tmp, final_path);
  if (!s.ok()) {
    (void)env_->RemoveFile(tmp);  // best effort; CleanTemp() collects what remains
    return s.WithContext("put blob " + hex);
  }
  s = env_->SyncDir(shard);
  if (!s.ok()) return s.WithContext("put blob " + hex);
  return h;
}

Result<Bytes> BlobStore::Read(const crypto::Hash256& h, std::string* hex, std::string* path) {
  *hex = ToHex(h);
  *path = PathOf(h);
  auto bytes = env_->ReadFile(*path);
  if (!bytes.ok()) {
    if (bytes.status().IsNotFound()) {
      return Status::NotFound("blob " + *hex + " not found (" + *path + ")");
    }
    return bytes.status().WithContext("blob " + *hex);
  }
  return bytes;
}

Result<Bytes> BlobStore::Get(const crypto::Hash256& h) {
  std::string hex, path;
  TCD_ASSIGN_OR_RETURN(Bytes bytes, Read(h, &hex, &path));
  if (crypto::Blake2b256(bytes) != h) {
    return Status::Corruption("blob " + hex + ": content hash mismatch (" + path + ")");
  }
  return bytes;
}

Result<Bytes> BlobStore::GetUnverified(const crypto::Hash256& h) {
  std::string hex, path;
  return Read(h, &hex, &path);
}

bool BlobStore::Exists(const crypto::Hash256& h) { return env_->FileExists(PathOf(h)); }

Result<uint64_t> BlobStore::Size(const crypto::Hash256& h) {
  const std::string path = PathOf(h);
  auto size = env_->FileSize(path);
  if (size.status().IsNotFound())
    return Status::NotFound("blob " + ToHex(h) + " not found (" + path + ")");
  return size;
}

Result<std::vector<crypto::Hash256>> BlobStore::List() {
  std::vector<crypto::Hash256> out;
  for (int first = 0; first < 256; ++first) {
    TCD_ASSIGN_OR_RETURN(std::vector<crypto::Hash256> shard,
                         ListShard(static_cast<uint8_t>(first)));
    out.insert(out.end(), shard.begin(), shard.end());
  }
  return out;
}

Result<std::vector<crypto::Hash256>> BlobStore::ListShard(uint8_t first) {
  const std::string shard = ToHex(ByteView(&first, 1));
  auto names = env_->ListDir(root_ + "/" + shard);
  if (!names.ok()) {
    if (names.status().IsNotFound()) return std::vector<crypto::Hash256>{};  // none yet
    return names.status();
  }
  std::vector<crypto::Hash256> out;
  for (const std::string& name : *names) {
    crypto::Hash256 h;
    if (ParseBlobName(name, &h) && h[0] == first) out.push_back(h);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status BlobStore::MakeDurable(const crypto::Hash256& h) {
  const std::string hex = ToHex(h);
  TCD_RETURN_IF_ERROR(env_->SyncDir(root_).WithContext("sync blob root"));
  return env_->SyncDir(ShardOf(hex)).WithContext("sync blob " + hex);
}

Status BlobStore::Remove(const crypto::Hash256& h) {
  const std::string hex = ToHex(h);
  const std::string path = PathOf(h);
  Status s = env_->RemoveFile(path);
  if (s.IsNotFound()) return Status::NotFound("blob " + hex + " not found (" + path + ")");
  if (!s.ok()) return s.WithContext("remove blob " + hex);
  return env_->SyncDir(ShardOf(hex)).WithContext("remove blob " + hex);
}

Status BlobStore::Quarantine(const crypto::Hash256& h, const std::string& reason) {
  const std::string hex = ToHex(h);
  const std::string path = PathOf(h);
  std::string dest =
      quarantine_dir_ + "/" + hex + "." + std::to_string(env_->NowMicros() / 1000000);
  if (env_->FileExists(dest)) {
    dest += '-';  // not `"-" + string`: g++ 12 at -O3 reports a false -Wrestrict for it
    dest += RandomName().substr(0, 8);
  }
  Status s = env_->RenameFile(path, dest);
  if (s.IsNotFound()) return Status::NotFound("blob " + hex + " not found (" + path + ")");
  if (!s.ok()) return s.WithContext("quarantine blob " + hex);
  TCD_RETURN_IF_ERROR(env_->SyncDir(quarantine_dir_).WithContext("quarantine blob " + hex));
  TCD_RETURN_IF_ERROR(env_->SyncDir(ShardOf(hex)).WithContext("quarantine blob " + hex));
  spdlog::warn("blob {} quarantined to {}: {}", hex, dest, reason);
  Status note = env_->WriteFileDurably(dest + ".reason", AsBytes(reason + "\n"));
  if (!note.ok()) spdlog::warn("blob {}: cannot write quarantine reason: {}", hex, note.ToString());
  return Status::OK();
}

Result<int> BlobStore::CleanTemp() {
  TCD_ASSIGN_OR_RETURN(std::vector<std::string> names, env_->ListDir(tmp_dir_));
  int removed = 0;
  for (const std::string& name : names) {
    Status s = env_->RemoveFile(tmp_dir_ + "/" + name);
    if (s.IsNotFound()) continue;
    TCD_RETURN_IF_ERROR(s.WithContext("clean blob temp files"));
    ++removed;
  }
  if (removed > 0) TCD_RETURN_IF_ERROR(env_->SyncDir(tmp_dir_));
  return removed;
}

}  // namespace tcd::node
