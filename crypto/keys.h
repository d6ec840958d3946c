// Key material of tcd and its key files (formats in docs/FORMAT.md §Keys).
//
//  * A node identity: an Ed25519 signing key pair (signs chain entries and, later, checkpoints)
//    and a Curve25519 (X25519) transport key pair (CurveZMQ). Files: node.key (secret, mode
//    0600) and node.pub.
//  * An archive recipient key: an X25519 key pair to which session keys are sealed
//    (crypto_box_seal). Files: archive.key (secret; encrypted under a passphrase with Argon2id
//    when one is given) and archive.pub.
//
// Key files are small JSON documents with a "format" string and a "version"; Decode* functions
// reject anything else with an InvalidArgument that names the file (`source`) and the field.
// Secret keys live in SecretBytes, which are zeroed (sodium_memzero) on destruction.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/status.h"

namespace tcd::crypto {

using PublicKey = std::array<uint8_t, 32>;
using Signature = std::array<uint8_t, 64>;

// Owned secret bytes, zeroed on destruction, move-only.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t n);
  SecretBytes(const uint8_t* p, size_t n);
  ~SecretBytes();
  SecretBytes(SecretBytes&& o) noexcept;
  SecretBytes& operator=(SecretBytes&& o) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  uint8_t* data() { return data_.data(); }
  const uint8_t* data() const { return data_.data(); }
  size_t size() const { return data_.size(); }

 private:
  void Wipe();
  Bytes data_;
};

// Initializes libsodium once; safe to call many times from any thread. Fails only if
// sodium_init() fails.
// Every function of tcd_crypto that needs libsodium calls it itself; callers need not.
Status InitCrypto();

// Short printable id of a public key: the first 8 bytes, as 16 lower-case hex chars, of
// DomainHash("tcd/key-id/v1", pk) = BLAKE2b-256("tcd/key-id/v1" 0x00 || pk).
std::string KeyId(const PublicKey& pk);

struct NodePublic {
  PublicKey sign_pk{};       // Ed25519
  PublicKey transport_pk{};  // X25519 (CurveZMQ)
};

struct NodeIdentity {
  NodePublic pub;
  SecretBytes sign_sk;       // 64 bytes, libsodium Ed25519 secret key (seed || pk)
  SecretBytes transport_sk;  // 32 bytes
};

struct ArchivePublic {
  PublicKey box_pk{};  // X25519
};

struct ArchiveKeyPair {
  ArchivePublic pub;
  SecretBytes box_sk;  // 32 bytes
};

NodeIdentity GenerateNodeIdentity();
ArchiveKeyPair GenerateArchiveKey();

// Key file texts (JSON, one trailing newline).
std::string EncodeNodeKey(const NodeIdentity& id);
std::string EncodeNodePub(const NodePublic& pub);
// With a passphrase the secret key is encrypted: Argon2id (crypto_pwhash, MODERATE limits:
// 3 passes, 256 MiB) derives a key that XChaCha20-Poly1305 uses to encrypt the 32-byte secret.
// With TCD_PWHASH_INTERACTIVE=1 in the environment, INTERACTIVE limits (2 passes, 64 MiB) are
// used instead (tests, small machines); the limits are stored in the file, so decoding needs no
// such setting. Fails (IOError) only when crypto_pwhash cannot get its memory.
Result<std::string> EncodeArchiveKey(const ArchiveKeyPair& key,
                                     const std::optional<std::string>& passphrase);
std::string EncodeArchivePub(const ArchivePublic& pub);

// `source` names the file in error messages. Node key files check that the stored public keys
// match the secret keys (Corruption otherwise).
Result<NodeIdentity> DecodeNodeKey(std::string_view text, const std::string& source);
Result<NodePublic> DecodeNodePub(std::string_view text, const std::string& source);
// Unauthenticated "wrong passphrase" when the passphrase does not open the key;
// InvalidArgument "… is passphrase-protected: give --passphrase-file" when none was given.
Result<ArchiveKeyPair> DecodeArchiveKey(std::string_view text, const std::string& source,
                                        const std::optional<std::string>& passphrase);
Result<ArchivePublic> DecodeArchivePub(std::string_view text, const std::string& source);

}  // namespace tcd::crypto
