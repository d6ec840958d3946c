#include "crypto/hash.h"

#include <sodium.h>

#include "crypto/internal.h"

namespace tcd::crypto {

Hash256 Blake2b256(ByteView data) {
  internal::MustInitCrypto();
  Hash256 h;
  crypto_generichash(h.data(), h.size(), data.data(), data.size(), nullptr, 0);
  return h;
}

Hash256 DomainHash(std::string_view domain, ByteView data) {
  Hasher hasher;
  hasher.Update(AsBytes(domain));
  const uint8_t zero = 0;
  hasher.Update(ByteView(&zero, 1));
  hasher.Update(data);
  return hasher.Final();
}

namespace {
crypto_generichash_state* State(unsigned char* storage) {
  return reinterpret_cast<crypto_generichash_state*>(storage);
}
}  // namespace

Hasher::Hasher() {
  static_assert(sizeof(crypto_generichash_state) <= sizeof(state_),
                "Hasher::state_ too small for crypto_generichash_state");
  static_assert(alignof(crypto_generichash_state) <= 64,
                "Hasher::state_ under-aligned for crypto_generichash_state");
  internal::MustInitCrypto();
  crypto_generichash_init(State(state_), nullptr, 0, crypto_generichash_BYTES);
}

void Hasher::Update(ByteView data) {
  crypto_generichash_update(State(state_), data.data(), data.size());
}

Hash256 Hasher::Final() {
  Hash256 h;
  crypto_generichash_final(State(state_), h.data(), h.size());
  return h;
}

}  // namespace tcd::crypto
