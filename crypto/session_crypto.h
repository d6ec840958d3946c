// Confidentiality of a session's media (docs/FORMAT.md §Blobs, §Session key).
//
// A fresh random 32-byte session key per session. Each segment (the init segment included) is
// one blob: XChaCha20-Poly1305-IETF with a random 24-byte nonce and associated data binding the
// blob to its session and sequence number, so a blob moved to another place in the chain, or
// truncated, fails authentication. The session key is sealed (crypto_box_seal) to each recipient
// archive key; a recorder that is not a recipient cannot decrypt a closed session.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/keys.h"

namespace tcd::crypto {

using SessionId = std::array<uint8_t, 16>;

// A new session id: UUIDv7 layout (48-bit Unix ms timestamp, version 7, random bits), so ids
// sort by creation time.
SessionId NewSessionId();
std::string SessionIdToString(const SessionId& id);  // canonical 8-4-4-4-12 lower-case hex
Result<SessionId> SessionIdFromString(std::string_view s);  // accepts with or without dashes

SecretBytes NewSessionKey();  // 32 random bytes

// The sealed key for one recipient: crypto_box_seal(session_key) = 48 + 32 = 80 bytes.
constexpr size_t kSealedKeySize = 80;
Bytes SealSessionKey(const SecretBytes& session_key, const ArchivePublic& recipient);
// Unauthenticated when `sealed` was not sealed to `key`; Corruption when it is not 80 bytes.
Result<SecretBytes> OpenSessionKey(ByteView sealed, const ArchiveKeyPair& key);

// Blob layout: "TCDB" | u8 version=1 | u8 alg=1 (XChaCha20-Poly1305-IETF) | nonce[24] |
// ciphertext (plaintext size + 16-byte tag). AD = "tcd/blob/v1" 0x00 | session id | u64 seq BE.
constexpr size_t kBlobOverhead = 4 + 1 + 1 + 24 + 16;
// REQUIRES (EncryptBlob, DecryptBlob): session_key is 32 bytes (NewSessionKey/OpenSessionKey).
Bytes EncryptBlob(const SecretBytes& session_key, const SessionId& session, uint64_t seq,
                  ByteView plaintext);
// Corruption for a malformed header; Unauthenticated when the tag does not verify (wrong key,
// wrong session/seq, any flipped or missing byte).
Result<Bytes> DecryptBlob(const SecretBytes& session_key, const SessionId& session, uint64_t seq,
                          ByteView blob);

}  // namespace tcd::crypto
