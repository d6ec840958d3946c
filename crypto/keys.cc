// SecretBytes, libsodium initialization, key ids and key generation. Key files: key_files.cc.
#include "crypto/keys.h"

#include <sodium.h>

#include <cstdlib>
#include <mutex>

#include "crypto/hash.h"
#include "crypto/internal.h"

namespace tcd::crypto {

SecretBytes::SecretBytes(size_t n) : data_(n, 0) {}

SecretBytes::SecretBytes(const uint8_t* p, size_t n) : data_(p, p + n) {}

SecretBytes::~SecretBytes() { Wipe(); }

SecretBytes::SecretBytes(SecretBytes&& o) noexcept : data_(std::move(o.data_)) {
  o.Wipe();
  o.data_.clear();
}

SecretBytes& SecretBytes::operator=(SecretBytes&& o) noexcept {
  if (this != &o) {
    Wipe();
    data_ = std::move(o.data_);
    o.Wipe();
    o.data_.clear();
  }
  return *this;
}

void SecretBytes::Wipe() {
  if (!data_.empty()) sodium_memzero(data_.data(), data_.size());
}

Status InitCrypto() {
  static std::once_flag once;
  static int rc = 0;
  std::call_once(once, [] { rc = sodium_init(); });
  // 0: initialized now, 1: already initialized (by someone else), -1: failure.
  if (rc < 0) return Status::IOError("sodium_init failed: no usable randomness source");
  return Status::OK();
}

namespace internal {

void MustInitCrypto() {
  if (!InitCrypto().ok()) std::abort();
}

SecretBytes TakeSecret(Bytes* b) {
  SecretBytes s(b->data(), b->size());
  if (!b->empty()) sodium_memzero(b->data(), b->size());
  return s;
}

}  // namespace internal

std::string KeyId(const PublicKey& pk) {
  Hash256 h = DomainHash("tcd/key-id/v1", pk);
  return ToHex(ByteView(h.data(), 8));
}

NodeIdentity GenerateNodeIdentity() {
  internal::MustInitCrypto();
  NodeIdentity id;
  id.sign_sk = SecretBytes(crypto_sign_SECRETKEYBYTES);
  crypto_sign_keypair(id.pub.sign_pk.data(), id.sign_sk.data());
  id.transport_sk = SecretBytes(crypto_box_SECRETKEYBYTES);
  crypto_box_keypair(id.pub.transport_pk.data(), id.transport_sk.data());
  return id;
}

ArchiveKeyPair GenerateArchiveKey() {
  internal::MustInitCrypto();
  ArchiveKeyPair k;
  k.box_sk = SecretBytes(crypto_box_SECRETKEYBYTES);
  crypto_box_keypair(k.pub.box_pk.data(), k.box_sk.data());
  return k;
}

}  // namespace tcd::crypto
