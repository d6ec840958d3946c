// Evidence bundles (docs/FORMAT.md §Evidence bundle): a BagIt bag (RFC 8493) holding, per
// session, the decrypted recording (one MP4 per run, or a clip at segment boundaries), the
// whole signed chain (chain.bin), the signer's public key (signer.pub), the session's metadata
// (session.json) and which chain entries each MP4 concatenates (contents.json). A bundle is
// checked offline with nothing but itself: every file against the manifests, every entry's
// link and Ed25519 signature, and every MP4 piece against the signed plaintext hash and size.
//
// ExportBundle writes the bag into a temporary directory beside the requested one, fsyncs
// everything and renames it into place: a failed export never leaves a partial bundle under
// the requested name. VerifyBundle reports every problem it finds, the first one first.
//
// Thread-safety: the functions are safe to call concurrently (on different output dirs).
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "crypto/chain.h"
#include "crypto/keys.h"
#include "node/bagit.h"
#include "node/log_proof.h"
#include "node/verifier.h"

namespace tcd::node {

class Store;

// --- Clip range ----------------------------------------------------------------------------

// A time typed on the command line (--from/--to).
struct TimeSpec {
  bool relative = false;  // us is an offset from the (first) session's start
  int64_t us = 0;         // UTC µs since the Unix epoch, or the offset
  int64_t span_us = 0;    // length of what was typed when only a date was given (else 0)
};
// RFC 3339 ("2026-11-22T10:32:07Z", "…07.250+07:00"), "YYYY-MM-DD HH:MM[:SS]" or "YYYY-MM-DD"
// in the process's local time zone, or "+300s" / "+300" / "+1.5s": seconds after the session's
// start. InvalidArgument naming `what` otherwise.
Result<TimeSpec> ParseTimeSpec(const std::string& text, const std::string& what);

// [from_us, to_us): a segment belongs to a clip when it overlaps the range
// (start_us < to_us and start_us + duration_us > from_us).
struct ClipRange {
  int64_t from_us = 0;
  int64_t to_us = 0;
};
bool InClip(const ClipRange& clip, const crypto::ChainEntry& segment);

// --- Export --------------------------------------------------------------------------------

struct BundleProgress {
  uint64_t entries_done = 0;  // init/segment entries decrypted and written
  uint64_t entries_total = 0;
  uint64_t bytes_done = 0;  // MP4 bytes written
};

struct BundleOptions {
  crypto::SessionId session{};       // the session asked for
  std::string out_dir;               // the bundle directory to create
  std::optional<TimeSpec> from, to;  // a clip when either is set
  bool only_session = false;         // without the other sessions of its conference
  bool force = false;        // replace an existing bundle (only a bag or an empty directory)
  std::string organization;  // bag-info.txt Source-Organization ("" = not written)
  // Called after each entry written (may be empty).
  std::function<void(const BundleProgress&)> progress;
  // Runs when the bag is complete and durable under its temporary name, before it is renamed
  // into place (e.g. the audit record); when it fails nothing is published.
  std::function<Status()> before_publish;
};

struct BundleExportResult {
  std::string dir;                     // the bundle directory
  std::vector<std::string> sessions;   // ids, the requested one first
  std::vector<std::string> unsealed;   // of those, exported although not sealed
  std::vector<std::string> unproven;   // of those, without log-proof.json (no checkpoint of
                                       // the recorder's log covering them is kept here yet)
  std::vector<std::string> mp4_files;  // relative to dir
  bagit::Oxum payload;
  uint64_t segments = 0;
  int64_t media_duration_us = 0;
  std::optional<ClipRange> clip;
};

// InvalidArgument: out_dir exists (without force, or it is not a bag), a bad clip range, no
// segment of the session in the range. Unauthenticated: `key` is not a recipient of a session.
// Corruption: a session does not verify (names the session, seq and problem). On any failure
// nothing is left under out_dir (an existing bundle there is kept).
Result<BundleExportResult> ExportBundle(Store* store, const crypto::ArchiveKeyPair& key,
                                        const BundleOptions& options);

// --- What the bundle says about a session, derived from its verified chain -----------------
// ExportBundle writes these; VerifyBundle derives them again and compares.

// The first 8 bytes of chain.bin (FORMAT.md §Evidence bundle, chain.bin).
constexpr char kChainMagic[] = "TCDCHAIN";

struct SessionFacts {
  std::string sid;
  VerifyReport report;  // of the chain (meta, annotations, seal, signer, counts)
  int64_t end_us = 0;   // end of the last segment or gap; the start when there is none
  std::vector<std::string> recipients;  // key ids of the archive keys it is sealed to
  struct Gap {
    uint64_t seq = 0;
    int64_t from_us = 0, duration_us = 0;
    std::string reason;
  };
  std::vector<Gap> gaps;
};
// REQUIRES: entries are the verified chain (index = seq), report its VerifyReport.
SessionFacts DescribeSession(const VerifyReport& report,
                             const std::vector<crypto::ChainEntry>& entries);
std::string StateName(const SessionFacts& f);  // "sealed" | "recovered" | "unsealed"
// The session's Tcd- labels of bag-info.txt, in order, starting with Tcd-Session.
std::vector<bagit::Tag> SessionTags(const SessionFacts& f, const std::optional<ClipRange>& clip);
// session.json's document.
nlohmann::ordered_json SessionJson(const SessionFacts& f);
// A metadata value as a bag-info.txt value: '\', control characters and a leading or trailing
// space as \xHH (and, in text that is not UTF-8, every byte >= 0x80).
std::string EscapeTagValue(const std::string& value);

// signer.pub: {"format": "tcd-signer-pub", "version": 1, "sign_public": hex, "key_id": id}.
std::string EncodeSignerPub(const crypto::PublicKey& pk);
// InvalidArgument naming `source` and the field; Corruption when key_id does not match.
Result<crypto::PublicKey> DecodeSignerPub(std::string_view text, const std::string& source);

// chain.bin: "TCDCHAIN" | u8 version=1 | session_id[16] | u64 n |
//            n × (u32 entry_len | entry | signature[64])
Bytes EncodeChainFile(const crypto::SessionId& session,
                      const std::vector<std::pair<uint64_t, ChainRecord>>& chain);
// Corruption naming what is wrong (magic, version, truncation, trailing bytes).
Result<std::pair<crypto::SessionId, std::vector<ChainRecord>>> DecodeChainFile(ByteView data);

// --- Verification --------------------------------------------------------------------------

struct BundleVerifyOptions {
  // When non-empty, every session's signer must be one of these (the enrolled node.pub).
  std::vector<crypto::PublicKey> trusted_signers;
  // When non-empty, the province and central keys of every log-proof.json must be among these.
  std::vector<crypto::PublicKey> trusted_cosigners;
};

struct BundleProblem {
  std::string file;     // relative to the bundle ("data/<id>/recording.mp4")
  std::string session;  // "" when not about one session
  std::optional<uint64_t> seq;
  std::string problem;       // stable name (FORMAT.md §Bundle verification)
  std::string detail;        // for a person
  std::string Text() const;  // "<file>: seq N: <detail> (<problem>)"
};

struct BundleMediaCheck {
  std::string file;  // relative to the bundle
  uint32_t run = 0;
  bool clip = false;
  uint64_t bytes = 0;
  std::vector<uint64_t> seqs;  // the pieces, init first
  bool ok = false;
};

struct BundleSessionCheck {
  std::string session;
  // log-proof.json, when the bundle has one and it checks (node/log_proof.h).
  std::optional<LogProofCheck> log_proof;
  VerifyReport chain;  // VerifyChain of chain.bin (no blobs: plaintext side only)
  std::string state;   // sealed | recovered | unsealed | failed
  std::optional<ClipRange> clip;
  std::vector<BundleMediaCheck> media;
};

struct BundleReport {
  std::string path;
  bool ok = false;
  bool is_bag = false;         // bagit.txt present and well-formed
  uint64_t payload_files = 0;  // checked against manifest-sha256.txt
  uint64_t payload_bytes = 0;
  uint64_t tag_files = 0;   // checked against tagmanifest-sha256.txt
  uint64_t entries = 0;     // chain entries decoded and checked
  uint64_t signatures = 0;  // head signatures that verified
  uint64_t pieces = 0;      // MP4 pieces that matched their signed plain_hash
  std::vector<std::string> signer_key_ids;
  bool signers_checked = false;  // trusted signers were given
  std::vector<BundleSessionCheck> sessions;
  std::vector<BundleProblem> problems;  // in the order found
};

// Checks the bundle at `dir`. Fails (NotFound / InvalidArgument) only when `dir` is not a
// directory; everything wrong inside it is a problem of the report (ok = false).
Result<BundleReport> VerifyBundle(const std::string& dir, const BundleVerifyOptions& options = {});

}  // namespace tcd::node
