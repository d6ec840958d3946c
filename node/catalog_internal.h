// Private to node/catalog*.cc: RocksDB status conversion and key encodings.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include <cstdarg>
#include <string>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/session_crypto.h"

namespace tcd::node {
namespace internal {

inline Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::OK();
  std::string m = what + ": " + s.ToString();
  if (s.IsNotFound()) return Status::NotFound(m);
  if (s.IsCorruption()) return Status::Corruption(m);
  if (s.IsNoSpace()) return Status::NoSpace(m);
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos)
    return Status::IOError(m + " (is the data directory in use by another tcd process?)");
  return Status::IOError(m);
}

// RocksDB's informational log goes to our log (debug level; warnings and worse as warnings)
// instead of LOG files inside the catalog: opening an archive, even read-only, writes nothing.
class SpdlogLogger : public rocksdb::Logger {
 public:
  SpdlogLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char buf[1024];
    vsnprintf(buf, sizeof buf, format, ap);
    spdlog::warn("rocksdb: {}", buf);
  }
};

inline std::string ChainKey(const crypto::SessionId& id, uint64_t seq) {
  Bytes k(id.begin(), id.end());
  Writer(&k).U64(seq);
  return std::string(AsChars(k));
}

inline std::string IdKey(const crypto::SessionId& id) {
  return std::string(reinterpret_cast<const char*>(id.data()), id.size());
}

// The inbox keys of `peer`, or of `peer` and `session`: peer_pk[32] || session_id[16].
inline std::string InboxPrefix(const crypto::PublicKey& peer, const crypto::SessionId* session) {
  std::string k(reinterpret_cast<const char*>(peer.data()), peer.size());
  if (session) k.append(reinterpret_cast<const char*>(session->data()), session->size());
  return k;
}

inline rocksdb::Slice ToSlice(ByteView b) {
  return rocksdb::Slice(reinterpret_cast<const char*>(b.data()), b.size());
}
inline ByteView FromSlice(const rocksdb::Slice& s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

}  // namespace internal
}  // namespace tcd::node
