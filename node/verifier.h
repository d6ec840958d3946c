// Verifier: checks a session with public information only (DESIGN.md §3, docs/FORMAT.md
// "How to verify a session"): entry encodings, contiguous sequence numbers, hash links, the
// open entry's signer's Ed25519 signature on every head, every blob's BLAKE2b-256 against the
// signed cipher_hash, and the seal. Stops at the first problem and names its sequence number.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "crypto/chain.h"
#include "node/catalog.h"

namespace tcd::node {

class Store;

// Stable names (shown in reports and JSON): never renumber or rename.
enum class Problem : uint8_t {
  kNone = 0,
  kBadEntry,        // an entry does not decode, or has a kind not allowed at its place
  kMissingEntry,    // a sequence number is absent from the chain
  kOutOfOrder,      // the entry stored at position N carries another sequence number/session
  kBrokenLink,      // prev_hash is not the previous entry's hash
  kBadSignature,    // the head signature does not verify with the session's signer key
  kMissingSegment,  // a segment's blob is absent
  kHashMismatch,    // a blob's BLAKE2b-256 (or size) differs from the signed value
  kUnsealed,        // no seal: recording interrupted or the end was cut off
  kSealMismatch,    // the seal's counts disagree with the chain
  kCatalogMismatch,  // the catalog's session summary disagrees with the signed chain
  kUntrustedSigner,  // signed by a key that is not one of the trusted signers given
};
const char* ProblemName(Problem p);  // "hash-mismatch", "broken-link", …

// Metadata amended after the fact: a signed annotation entry.
struct Annotation {
  uint64_t seq = 0;
  int64_t time_us = 0;  // the recorder's clock when it was added
  crypto::Metadata meta;
};

struct VerifyReport {
  crypto::SessionId session{};
  bool ok = false;
  Problem problem = Problem::kNone;
  std::optional<uint64_t> bad_seq;  // the first sequence number that failed (none for a
                                    // catalog mismatch: the chain itself is intact)
  std::string detail;               // one sentence for a person
  uint64_t entries = 0;             // entries checked and found good
  uint64_t segments = 0;
  int64_t media_duration_us = 0;
  uint32_t gaps = 0;
  uint64_t evicted = 0;             // blobs absent because retention evicted them (see
                                    // VerifyOptions::evicted_below)
  bool sealed = false;
  std::string seal_reason;
  bool recovered = false;           // closed by a signed recovery-close note, not a seal
  std::string recovery_note;
  crypto::Metadata meta;            // the open entry's (original) metadata
  int64_t start_us = 0;             // the open entry's start
  std::vector<Annotation> annotations;
  std::string signer_key_id;
  crypto::PublicKey signer_pk{};
  crypto::Hash256 head_hash{};      // hash of the last good entry
};

// Checks the blob named `hash`: true when it holds `size` bytes that hash to `hash`, false
// when it holds anything else; NotFound when absent; another error when it cannot be read.
using BlobChecker = std::function<Result<bool>(const crypto::Hash256& hash, uint64_t size)>;

struct VerifyOptions {
  // When non-empty, the session's signer must be one of these keys (the enrolled node.pub of
  // the reception point): a chain re-signed by anyone else fails as untrusted-signer.
  std::vector<crypto::PublicKey> trusted_signers;
  // Entries below this seq may lack their blob: retention evicted it after the central tier
  // acknowledged custody (ReplRecord::evicted_below). Such blobs are counted, not failed.
  uint64_t evicted_below = 0;
  // False: blobs are checked for presence and size only, not read (for a caller that checks
  // every byte itself next, as export does: the AEAD tag and the signed plaintext hash).
  bool blob_contents = true;
};

// Verifies `chain` (records in stored order, with the sequence number their key holds).
// `expected_entries`: how many entries the catalog says exist (detects a cut-off tail), or
// nullopt when unknown.
VerifyReport VerifyChain(const crypto::SessionId& session,
                         const std::vector<std::pair<uint64_t, ChainRecord>>& chain,
                         std::optional<uint64_t> expected_entries, const BlobChecker& check_blob,
                         const VerifyOptions& options = {});

// What a session says about itself, read from its chain without checking blobs: the open
// entry's metadata and signer and every annotation. (Not a verification: see VerifySession.)
struct SessionNotes {
  std::string signer_key_id;
  crypto::Metadata meta;
  std::vector<Annotation> annotations;
};
Result<SessionNotes> ReadSessionNotes(Store* store, const crypto::SessionId& session);

// Loads the session from `store` and verifies it, then checks that the catalog's summary
// (what `tcd sessions` shows) agrees with the chain. A session whose catalog record is missing
// or unreadable is verified from its chain and reported as catalog-mismatch.
Result<VerifyReport> VerifySession(Store* store, const crypto::SessionId& session,
                                   const VerifyOptions& options = {});

}  // namespace tcd::node
