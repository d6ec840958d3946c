// Exporter: decrypts a session into playable MP4 files (no re-encoding): for each run, the
// init segment followed by its media segments, byte for byte as the recorder cut them. Every
// blob's ciphertext hash, AEAD tag and plaintext hash are checked against the signed chain on
// the way; the output is written to temporary files, fsynced and renamed into place only when
// every run is complete, so a failed export never leaves a partial MP4 under the requested
// name.
//
// The pieces (LoadForExport, PlanRuns, DecryptEntry) are shared with the evidence bundle
// (node/bundle.h).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <string>
#include <utility>
#include <vector>

#include "crypto/chain.h"
#include "crypto/keys.h"
#include "crypto/session_crypto.h"
#include "node/catalog.h"
#include "node/verifier.h"

namespace tcd::node {

class Store;

// A session ready to be decrypted: verified, decoded, its key opened.
struct ExportSource {
  crypto::SessionId id{};
  std::string sid;                                      // text form of id
  VerifyReport report;                                  // ok, or only unsealed
  std::vector<std::pair<uint64_t, ChainRecord>> chain;  // the verified entries, seq order
  std::vector<crypto::ChainEntry> entries;              // the same, decoded; index = seq
  crypto::SecretBytes session_key;
};

// Verifies the session (VerifySession: chain, signatures, seal, catalog; blobs present with
// their signed sizes, their bytes left to DecryptEntry) and refuses, with Corruption naming
// the seq and the problem, anything but a clean or merely unsealed session; then opens the
// session key: Unauthenticated naming the recipients when `key` is not one of them.
Result<ExportSource> LoadForExport(Store* store, const crypto::SessionId& session,
                                   const crypto::ArchiveKeyPair& key);

// One playable file: a run's init entry and then its segment entries, in seq order.
struct RunPieces {
  uint32_t run = 0;
  std::vector<uint64_t> seqs;  // init first
};
// The runs of `entries` in the order of their init entries (a repeated init of a run is
// ignored). With `keep`, only the segments it accepts are included and runs left without a
// segment are omitted.
std::vector<RunPieces> PlanRuns(const std::vector<crypto::ChainEntry>& entries,
                                const std::function<bool(const crypto::ChainEntry&)>& keep = {});

// Reads the blob of the init/segment entry `e` of `src`, decrypts it and checks its plaintext
// size and BLAKE2b-256 against the signed entry: every byte an export writes is proven by the
// signed plaintext hash. A blob that is missing, has another size, fails its AEAD tag or
// decrypts to other bytes is Corruption("session S does not verify at seq N (problem): …"),
// as LoadForExport words it; one evicted by retention (the session verified with evicted
// media) is NotFound saying so. (The ciphertext's own hash is `tcd verify`'s business: computing
// it here would cost a third pass over every byte.)
Result<Bytes> DecryptEntry(Store* store, const ExportSource& src, const crypto::ChainEntry& e);

// Decrypts entries `seqs` of `src` in order (DecryptEntry), up to two per core ahead of the
// caller, so that an export runs on every core while the caller writes. Memory: a few
// segments. REQUIRES: `store` and `src` outlive it; Next() called at most seqs.size() times.
class DecryptAhead {
 public:
  DecryptAhead(Store* store, const ExportSource& src, std::vector<uint64_t> seqs);
  ~DecryptAhead() = default;  // the futures wait for the work in flight
  Result<Bytes> Next();

 private:
  void Fill();

  Store* const store_;
  const ExportSource& src_;
  const std::vector<uint64_t> seqs_;
  size_t next_ = 0, launched_ = 0;  // seqs_[next_, launched_) are in flight
  const size_t window_;
  std::deque<std::future<Result<Bytes>>> inflight_;
};

struct ExportResult {
  std::vector<std::string> files;  // one MP4 per run: OUT, then OUT-run2.mp4, …
  uint64_t segments = 0;
  int64_t media_duration_us = 0;
  uint64_t bytes = 0;
  bool sealed = false;
};

// `progress(done, total)` is called after each init/segment entry (may be empty).
// `before_publish` (may be empty) runs when every file is complete and durable under its
// temporary name; when it fails nothing is published and its Status is returned.
// Fails with Unauthenticated when `key` is not a recipient of the session, Corruption when the
// chain does not verify (names the sequence number) or a blob fails its checks.
Result<ExportResult> ExportSession(Store* store, const crypto::SessionId& session,
                                   const crypto::ArchiveKeyPair& key, const std::string& out_mp4,
                                   const std::function<void(uint64_t, uint64_t)>& progress = {},
                                   const std::function<Status()>& before_publish = {});

}  // namespace tcd::node
