// Exporter: decrypts a session into playable MP4 files (no re-encoding): for each run, the
// init segment followed by its media segments, byte for byte as the recorder cut them. Every
// blob's ciphertext hash, AEAD tag and plaintext hash are checked against the signed chain on
// the way; the output is written to a temporary file, fsynced and renamed into place, so a
// failed export never leaves a partial MP4 under the requested name.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "crypto/keys.h"
#include "crypto/session_crypto.h"

namespace tcd::node {

class Store;

struct ExportResult {
  std::vector<std::string> files;  // one MP4 per run: OUT, then OUT-run2.mp4, …
  uint64_t segments = 0;
  int64_t media_duration_us = 0;
  uint64_t bytes = 0;
  bool sealed = false;
};

// `progress(done, total)` is called after each segment (may be empty).
// Fails with Unauthenticated when `key` is not a recipient of the session, Corruption when the
// chain does not verify (names the sequence number) or a blob fails its checks.
Result<ExportResult> ExportSession(Store* store, const crypto::SessionId& session,
                                   const crypto::ArchiveKeyPair& key, const std::string& out_mp4,
                                   const std::function<void(uint64_t, uint64_t)>& progress = {});

}  // namespace tcd::node
