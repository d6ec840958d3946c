// Checkpoints of a node log, signed and cosigned in the public C2SP formats (docs/FORMAT.md
// §Node log), so that any signed-note / tlog tool can read and check them:
//   * signed-note v1.0.0: a text body, a blank line, then signature lines
//       "— <key name> base64(key id[4] || signature)\n"
//     key id = SHA-256(name || "\n" || type || public key)[:4]; Ed25519 is type 0x01 and signs
//     the body bytes.
//   * tlog-checkpoint v1.0.0: the body "<origin>\n<size>\n<base64 root hash>\n".
//   * tlog-cosignature v1.0.0 (Ed25519, type 0x04): the signature is u64 timestamp (BE, POSIX
//     seconds) || Ed25519 over "cosignature/v1\ntime <timestamp>\n" || body.
// Parsing is strict: one encoding per value (canonical base64, decimal without leading zeros),
// and every error names the line and what is wrong.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "crypto/hash.h"
#include "crypto/keys.h"

namespace tcd::crypto::note {

constexpr uint8_t kTypeEd25519 = 0x01;      // signed-note signature of the log itself
constexpr uint8_t kTypeCosignature = 0x04;  // tlog-cosignature/v1 (Ed25519)
constexpr size_t kMaxSignatures = 100;      // signed-note: more lines is a malformed note
constexpr size_t kMaxOrigin = 255;          // bytes of a checkpoint's origin line

struct Checkpoint {
  std::string origin;  // the log's name: one line, no control characters
  uint64_t size = 0;   // leaves
  Hash256 root{};      // RFC 9162 root hash of those leaves
};
// REQUIRES: origin valid (see ParseCheckpoint).
std::string CheckpointBody(const Checkpoint& c);
// Exactly three lines; extension lines are refused (tcd writes none, and a verifier must not
// have to decide what they mean).
Result<Checkpoint> ParseCheckpoint(std::string_view body);

// SHA-256(name || "\n" || type || pk)[:4], big-endian.
uint32_t KeyId(std::string_view name, uint8_t type, const PublicKey& pk);
// The verifier key text "<name>+<key id, 8 hex>+base64(type || pk)".
std::string VerifierKey(std::string_view name, uint8_t type, const PublicKey& pk);
// A key name: non-empty, UTF-8, no spaces, no '+', no control characters.
bool ValidKeyName(std::string_view name);

struct Signature {
  std::string name;
  uint32_t key_id = 0;
  Bytes sig;  // after the key id: 64 bytes (type 0x01) or 72 (cosignature: time || sig)
};
struct Note {
  std::string body;  // ends with "\n"
  std::vector<Signature> sigs;
};
std::string FormatNote(const Note& n);
// A well-formed signed note (signatures are parsed, not verified).
Result<Note> ParseNote(std::string_view text);

// REQUIRES: sign_sk is a 64-byte libsodium Ed25519 secret key, name valid.
Signature Sign(std::string_view body, std::string_view name, const SecretBytes& sign_sk);
Signature Cosign(std::string_view body, std::string_view name, const SecretBytes& sign_sk,
                 uint64_t timestamp);
// The signature line by `name` with `pk` (matched by name and key id) must be present and
// valid: OK, or Corruption "no signature by NAME" / "the signature by NAME (key id …) does
// not verify".
Status VerifySignature(const Note& n, std::string_view name, const PublicKey& pk);
// The same for a cosignature; returns its timestamp.
Result<uint64_t> VerifyCosignature(const Note& n, std::string_view name, const PublicKey& pk);

}  // namespace tcd::crypto::note
