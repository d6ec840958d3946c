// The session hash chain (docs/FORMAT.md §Chain).
//
// A session is a sequence of entries numbered 0,1,2,… Entry 0 opens the session (metadata,
// signer, sealed keys); init and media segments, gaps and annotations follow; a seal closes it.
// Each entry commits to the previous entry's hash, and the recorder signs every entry hash
// (= every chain head) with its Ed25519 key, so any prefix of a session verifies on its own.
//
// Encoding (all integers big-endian):
//   u8 version (=1) | u8 kind | session_id[16] | u64 seq | i64 start_us | i64 duration_us |
//   cipher_hash[32] | plain_hash[32] | u64 cipher_size | u64 plain_size | prev_hash[32] |
//   u32 body_len | body[body_len]
// entry_hash = BLAKE2b-256("tcd/chain-entry/v1" 0x00 || encoding)
// signature  = Ed25519 over ("tcd/chain-head/v1" 0x00 || session_id || u64 seq || entry_hash)
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/hash.h"
#include "crypto/keys.h"
#include "crypto/session_crypto.h"

namespace tcd::crypto {

// On disk and on the wire: never renumber.
enum class EntryKind : uint8_t {
  kOpen = 1,        // seq 0: OpenBody
  kInit = 2,        // an init segment (ftyp+moov) starting run `body` (u32 run)
  kSegment = 3,     // a media segment (moof+mdat); body: u32 run
  kGap = 4,         // source unavailable from start_us for duration_us; body: UTF-8 reason
  kAnnotation = 5,  // metadata amendment after the fact; body: MetaBody
  kSeal = 6,        // closes the session; body: SealBody
  kRecoveryClose = 7,  // closed by recovery after an unclean stop; body: UTF-8 note
};
const char* EntryKindName(EntryKind k);

struct ChainEntry {
  EntryKind kind = EntryKind::kOpen;
  SessionId session{};
  uint64_t seq = 0;
  int64_t start_us = 0;     // UTC µs since the Unix epoch (recorder's clock: a claim)
  int64_t duration_us = 0;  // media duration (segments), gap length (gaps), 0 otherwise
  Hash256 cipher_hash{};    // BLAKE2b-256 of the blob file (init/segment), zero otherwise
  Hash256 plain_hash{};     // BLAKE2b-256 of the plaintext segment bytes, zero otherwise
  uint64_t cipher_size = 0;
  uint64_t plain_size = 0;
  Hash256 prev_hash{};      // entry_hash of entry seq-1; zero for seq 0
  Bytes body;
};

// Size of the encoding without the body: 1+1+16+8+8+8+32+32+8+8+32+4.
constexpr size_t kEntryHeaderSize = 158;

// REQUIRES: e.body.size() < 2^32.
Bytes EncodeEntry(const ChainEntry& e);
// Corruption naming the field when the bytes are not a well-formed entry of a known version
// and kind, or when bytes follow the body. Does not check chain invariants (seq, links).
Result<ChainEntry> DecodeEntry(ByteView bytes);
// DomainHash("tcd/chain-entry/v1", EncodeEntry(e)).
Hash256 EntryHash(const ChainEntry& e);
// The same from an entry's encoding.
Hash256 EntryHashOf(ByteView encoding);

// The bytes an Ed25519 signature on entry (session, seq, entry_hash) covers.
Bytes HeadMessage(const SessionId& session, uint64_t seq, const Hash256& entry_hash);
// REQUIRES: sign_sk is a 64-byte libsodium Ed25519 secret key (aborts otherwise).
Signature SignHead(const SecretBytes& sign_sk, const SessionId& session, uint64_t seq,
                   const Hash256& entry_hash);
bool VerifyHead(const PublicKey& sign_pk, const SessionId& session, uint64_t seq,
                const Hash256& entry_hash, const Signature& sig);

// Body of the open entry: u8 version=1 | signer_pk[32] | u16 n_recipients |
//   n × (recipient_pk[32] | sealed_key[80]) | MetaBody
struct Recipient {
  PublicKey pk{};
  Bytes sealed_key;  // kSealedKeySize bytes
};
using Metadata = std::vector<std::pair<std::string, std::string>>;  // ordered, keys repeatable
struct OpenBody {
  PublicKey signer_pk{};
  std::vector<Recipient> recipients;
  Metadata meta;
};
// MetaBody: u32 n | n × (u16 key_len | key | u32 value_len | value), in the given order.
// REQUIRES (encoders): keys < 65536 bytes, fewer than 65536 recipients, each sealed_key exactly
// kSealedKeySize bytes. Decoders return Corruption naming the field on truncation, trailing
// bytes or an unknown version.
void EncodeMeta(const Metadata& meta, Bytes* out);
Bytes EncodeOpenBody(const OpenBody& b);
Result<OpenBody> DecodeOpenBody(ByteView body);
Result<Metadata> DecodeMetaBody(ByteView body);

// Body of the seal: u8 version=1 | u8 reason | u64 segments | i64 media_duration_us
// Never renumber.
enum class SealReason : uint8_t {
  kStopped = 1,          // operator or signal
  kDurationReached = 2,  // --duration
  kSourceEnded = 3,      // end of file / source gone for good
  kDiskFull = 4,
  kError = 5,
};
const char* SealReasonName(SealReason r);
struct SealBody {
  SealReason reason = SealReason::kStopped;
  uint64_t segments = 0;          // number of kSegment entries in the session
  int64_t media_duration_us = 0;  // sum of their durations
};
Bytes EncodeSealBody(const SealBody& b);
// Corruption also for an unknown reason.
Result<SealBody> DecodeSealBody(ByteView body);

// u32 run for kInit / kSegment bodies.
Bytes EncodeRunBody(uint32_t run);
Result<uint32_t> DecodeRunBody(ByteView body);

}  // namespace tcd::crypto
