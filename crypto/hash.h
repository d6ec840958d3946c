// BLAKE2b-256 (crypto_generichash, unkeyed, 32-byte output).
#pragma once

#include <array>
#include <string_view>

#include "base/bytes.h"

namespace tcd::crypto {

using Hash256 = std::array<uint8_t, 32>;

Hash256 Blake2b256(ByteView data);
// BLAKE2b-256 over domain || data (domain is an ASCII string such as "tcd/chain-entry/v1",
// followed by one 0x00 byte so that no domain is a prefix of another's input).
Hash256 DomainHash(std::string_view domain, ByteView data);

// Incremental BLAKE2b-256. Not thread-safe.
class Hasher {
 public:
  Hasher();
  void Update(ByteView data);
  Hash256 Final();  // REQUIRES: called once

 private:
  alignas(64) unsigned char state_[384];
};

}  // namespace tcd::crypto
