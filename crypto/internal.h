// Private helpers of tcd_crypto; not part of the module's interface.
#pragma once

#include <string>

#include "base/bytes.h"
#include "crypto/keys.h"

namespace tcd::crypto::internal {

// InitCrypto() or abort: for functions that cannot report failure (key generation, random
// nonces). sodium_init() fails only when the system has no usable randomness source.
void MustInitCrypto();

// Copies `b` into SecretBytes and zeroes `b`.
SecretBytes TakeSecret(Bytes* b);

}  // namespace tcd::crypto::internal
