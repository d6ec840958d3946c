// Session ids, session keys and segment blobs (docs/FORMAT.md §Session id, §Session key, §Blobs).
#include "crypto/session_crypto.h"

#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "crypto/internal.h"

namespace tcd::crypto {
namespace {

constexpr char kBlobMagic[] = "TCDB";
constexpr uint8_t kBlobVersion = 1;
constexpr uint8_t kBlobAlgXChaCha20Poly1305 = 1;
constexpr size_t kNonceSize = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kHeaderSize = 4 + 1 + 1 + kNonceSize;
static_assert(kBlobOverhead == kHeaderSize + crypto_aead_xchacha20poly1305_ietf_ABYTES);
static_assert(kSealedKeySize == crypto_box_SEALBYTES + crypto_secretbox_KEYBYTES);

// "tcd/blob/v1" 0x00 | session id | u64 seq
Bytes BlobAd(const SessionId& session, uint64_t seq) {
  Bytes ad;
  Writer w(&ad);
  w.Raw(std::string_view("tcd/blob/v1", 12));  // includes the 0x00
  w.Raw(session);
  w.U64(seq);
  return ad;
}

std::string BlobName(const SessionId& session, uint64_t seq) {
  return "blob of session " + SessionIdToString(session) + " seq " + std::to_string(seq);
}

}  // namespace

SessionId NewSessionId() {
  internal::MustInitCrypto();
  SessionId id;
  randombytes_buf(id.data(), id.size());
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  for (int i = 0; i < 6; ++i) id[i] = static_cast<uint8_t>(static_cast<uint64_t>(ms) >> (40 - 8 * i));
  id[6] = static_cast<uint8_t>(0x70 | (id[6] & 0x0f));  // version 7
  id[8] = static_cast<uint8_t>(0x80 | (id[8] & 0x3f));  // variant 10
  return id;
}

std::string SessionIdToString(const SessionId& id) {
  std::string hex = ToHex(id);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

Result<SessionId> SessionIdFromString(std::string_view s) {
  std::string hex;
  if (s.size() == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-') {
    for (size_t i = 0; i < s.size(); ++i) {
      if (i != 8 && i != 13 && i != 18 && i != 23) hex.push_back(s[i]);
    }
  } else if (s.size() == 32) {
    hex = std::string(s);
  }
  std::optional<Bytes> b = hex.size() == 32 ? FromHex(hex) : std::nullopt;
  if (!b) {
    return Status::InvalidArgument("session id '" + std::string(s) +
                                   "': expected 32 hex digits, optionally as 8-4-4-4-12");
  }
  SessionId id;
  std::copy(b->begin(), b->end(), id.begin());
  return id;
}

SecretBytes NewSessionKey() {
  internal::MustInitCrypto();
  SecretBytes key(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
  randombytes_buf(key.data(), key.size());
  return key;
}

Bytes SealSessionKey(const SecretBytes& session_key, const ArchivePublic& recipient) {
  internal::MustInitCrypto();
  Bytes sealed(crypto_box_SEALBYTES + session_key.size());
  crypto_box_seal(sealed.data(), session_key.data(), session_key.size(), recipient.box_pk.data());
  return sealed;
}

Result<SecretBytes> OpenSessionKey(ByteView sealed, const ArchiveKeyPair& key) {
  internal::MustInitCrypto();
  if (sealed.size() != kSealedKeySize) {
    return Status::Corruption("sealed session key: expected " + std::to_string(kSealedKeySize) +
                              " bytes, got " + std::to_string(sealed.size()));
  }
  SecretBytes session_key(sealed.size() - crypto_box_SEALBYTES);
  if (crypto_box_seal_open(session_key.data(), sealed.data(), sealed.size(),
                           key.pub.box_pk.data(), key.box_sk.data()) != 0) {
    return Status::Unauthenticated("sealed session key does not open with archive key " +
                                   KeyId(key.pub.box_pk));
  }
  return session_key;
}

Bytes EncryptBlob(const SecretBytes& session_key, const SessionId& session, uint64_t seq,
                  ByteView plaintext) {
  internal::MustInitCrypto();
  if (session_key.size() != crypto_aead_xchacha20poly1305_ietf_KEYBYTES) std::abort();
  Bytes blob(kBlobOverhead + plaintext.size());
  std::copy(kBlobMagic, kBlobMagic + 4, blob.begin());
  blob[4] = kBlobVersion;
  blob[5] = kBlobAlgXChaCha20Poly1305;
  uint8_t* nonce = blob.data() + 6;
  randombytes_buf(nonce, kNonceSize);
  Bytes ad = BlobAd(session, seq);
  crypto_aead_xchacha20poly1305_ietf_encrypt(blob.data() + kHeaderSize, nullptr, plaintext.data(),
                                             plaintext.size(), ad.data(), ad.size(), nullptr,
                                             nonce, session_key.data());
  return blob;
}

Result<Bytes> DecryptBlob(const SecretBytes& session_key, const SessionId& session, uint64_t seq,
                          ByteView blob) {
  internal::MustInitCrypto();
  if (session_key.size() != crypto_aead_xchacha20poly1305_ietf_KEYBYTES) {
    return Status::InvalidArgument("session key: expected 32 bytes");
  }
  if (blob.size() < kBlobOverhead) {
    return Status::Corruption(BlobName(session, seq) + ": blob too short (" +
                              std::to_string(blob.size()) + " bytes, minimum " +
                              std::to_string(kBlobOverhead) + ")");
  }
  if (!std::equal(kBlobMagic, kBlobMagic + 4, blob.begin())) {
    return Status::Corruption(BlobName(session, seq) + ": bad magic");
  }
  if (blob[4] != kBlobVersion || blob[5] != kBlobAlgXChaCha20Poly1305) {
    return Status::Corruption(BlobName(session, seq) + ": unknown version/alg " +
                              std::to_string(blob[4]) + "/" + std::to_string(blob[5]));
  }
  Bytes ad = BlobAd(session, seq);
  ByteView ct = blob.subspan(kHeaderSize);
  Bytes plain(ct.size() - crypto_aead_xchacha20poly1305_ietf_ABYTES);
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain.data(), nullptr, nullptr, ct.data(),
                                                 ct.size(), ad.data(), ad.size(),
                                                 blob.data() + 6, session_key.data()) != 0) {
    return Status::Unauthenticated(BlobName(session, seq) +
                                   ": authentication failed (wrong key, wrong session/sequence, "
                                   "or altered bytes)");
  }
  return plain;
}

}  // namespace tcd::crypto
