// Key files (docs/FORMAT.md §Keys): node.key, node.pub, archive.key, archive.pub.
#include <sodium.h>

#include <cstdlib>
#include <cstring>

#include "crypto/internal.h"
#include "crypto/key_doc.h"
#include "crypto/keys.h"

namespace tcd::crypto {
namespace {

using internal::DumpKeyDoc;
using internal::Json;
using internal::KeyDoc;
using internal::NewKeyDoc;

constexpr char kProtectionNone[] = "none";
constexpr char kProtectionPwhash[] = "argon2id13+xchacha20poly1305";
constexpr char kArchiveKeyAd[] = "tcd/archive-key/v1";
// Upper bounds on KDF parameters read from a file, so a crafted file cannot make us spend
// unbounded memory or time: at most libsodium's SENSITIVE level (4 passes, 1 GiB); we write
// MODERATE (3, 256 MiB).
constexpr uint64_t kMaxOpslimit = crypto_pwhash_argon2id_OPSLIMIT_SENSITIVE;
constexpr uint64_t kMaxMemlimit = crypto_pwhash_argon2id_MEMLIMIT_SENSITIVE;

std::string Hex(ByteView b) { return ToHex(b); }

bool SameKey(const uint8_t* a, const uint8_t* b) { return sodium_memcmp(a, b, 32) == 0; }

struct KdfParams {
  uint64_t opslimit = crypto_pwhash_argon2id_OPSLIMIT_MODERATE;
  uint64_t memlimit = crypto_pwhash_argon2id_MEMLIMIT_MODERATE;
  std::array<uint8_t, crypto_pwhash_SALTBYTES> salt{};
};

// MODERATE limits unless TCD_PWHASH_INTERACTIVE=1 (tests, slow machines): see FORMAT.md §Keys.
KdfParams NewKdfParams() {
  KdfParams p;
  const char* fast = std::getenv("TCD_PWHASH_INTERACTIVE");
  if (fast != nullptr && std::strcmp(fast, "1") == 0) {
    p.opslimit = crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE;
    p.memlimit = crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE;
  }
  randombytes_buf(p.salt.data(), p.salt.size());
  return p;
}

Result<SecretBytes> DeriveKey(const std::string& passphrase, const KdfParams& p) {
  SecretBytes key(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
  if (crypto_pwhash(key.data(), key.size(), passphrase.data(), passphrase.size(), p.salt.data(),
                    p.opslimit, static_cast<size_t>(p.memlimit),
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Status::IOError("crypto_pwhash failed (out of memory? memlimit " +
                           std::to_string(p.memlimit) + ")");
  }
  return key;
}

Bytes ArchiveKeyAd(const PublicKey& box_pk) {
  Bytes ad;
  Writer w(&ad);
  w.Raw(std::string_view(kArchiveKeyAd, sizeof(kArchiveKeyAd)));  // includes the 0x00
  w.Raw(box_pk);
  return ad;
}

Result<std::string> EncodeSealedArchiveKey(const ArchiveKeyPair& key, Json doc,
                                           const std::string& passphrase) {
  KdfParams p = NewKdfParams();
  TCD_ASSIGN_OR_RETURN(SecretBytes k, DeriveKey(passphrase, p));
  std::array<uint8_t, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES> nonce;
  randombytes_buf(nonce.data(), nonce.size());
  Bytes ad = ArchiveKeyAd(key.pub.box_pk);
  Bytes sealed(key.box_sk.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
  crypto_aead_xchacha20poly1305_ietf_encrypt(sealed.data(), nullptr, key.box_sk.data(),
                                             key.box_sk.size(), ad.data(), ad.size(), nullptr,
                                             nonce.data(), k.data());
  doc["protection"] = kProtectionPwhash;
  doc["kdf"] = {{"opslimit", p.opslimit}, {"memlimit", p.memlimit}, {"salt", Hex(p.salt)}};
  doc["nonce"] = Hex(nonce);
  doc["box_secret_sealed"] = Hex(sealed);
  return DumpKeyDoc(doc);
}

Result<SecretBytes> OpenSealedArchiveKey(const KeyDoc& kd, const PublicKey& box_pk,
                                         const std::string& passphrase) {
  KdfParams p;
  TCD_ASSIGN_OR_RETURN(p.opslimit, kd.Unsigned("kdf.opslimit"));
  TCD_ASSIGN_OR_RETURN(p.memlimit, kd.Unsigned("kdf.memlimit"));
  if (p.opslimit < crypto_pwhash_argon2id_OPSLIMIT_MIN || p.opslimit > kMaxOpslimit) {
    return kd.FieldError("kdf.opslimit", "out of range [1, 4]");
  }
  if (p.memlimit < crypto_pwhash_argon2id_MEMLIMIT_MIN || p.memlimit > kMaxMemlimit) {
    return kd.FieldError("kdf.memlimit", "out of range [8192, 1 GiB]");
  }
  TCD_RETURN_IF_ERROR(kd.Fixed("kdf.salt", &p.salt));
  std::array<uint8_t, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES> nonce;
  TCD_RETURN_IF_ERROR(kd.Fixed("nonce", &nonce));
  TCD_ASSIGN_OR_RETURN(Bytes sealed, kd.Hex("box_secret_sealed",
                                            32 + crypto_aead_xchacha20poly1305_ietf_ABYTES));
  TCD_ASSIGN_OR_RETURN(SecretBytes k, DeriveKey(passphrase, p));
  Bytes ad = ArchiveKeyAd(box_pk);
  SecretBytes sk(32);
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(sk.data(), nullptr, nullptr, sealed.data(),
                                                 sealed.size(), ad.data(), ad.size(),
                                                 nonce.data(), k.data()) != 0) {
    return Status::Unauthenticated(kd.source() + ": wrong passphrase");
  }
  return sk;
}

}  // namespace

std::string EncodeNodeKey(const NodeIdentity& id) {
  Json doc = NewKeyDoc("tcd-node-key");
  doc["sign_public"] = Hex(id.pub.sign_pk);
  doc["sign_secret"] = Hex(ByteView(id.sign_sk.data(), id.sign_sk.size()));
  doc["transport_public"] = Hex(id.pub.transport_pk);
  doc["transport_secret"] = Hex(ByteView(id.transport_sk.data(), id.transport_sk.size()));
  return DumpKeyDoc(doc);
}

std::string EncodeNodePub(const NodePublic& pub) {
  Json doc = NewKeyDoc("tcd-node-pub");
  doc["sign_public"] = Hex(pub.sign_pk);
  doc["transport_public"] = Hex(pub.transport_pk);
  doc["key_id"] = KeyId(pub.sign_pk);
  return DumpKeyDoc(doc);
}

Result<std::string> EncodeArchiveKey(const ArchiveKeyPair& key,
                                     const std::optional<std::string>& passphrase) {
  internal::MustInitCrypto();
  Json doc = NewKeyDoc("tcd-archive-key");
  doc["box_public"] = Hex(key.pub.box_pk);
  if (passphrase) return EncodeSealedArchiveKey(key, std::move(doc), *passphrase);
  doc["protection"] = kProtectionNone;
  doc["box_secret"] = Hex(ByteView(key.box_sk.data(), key.box_sk.size()));
  return DumpKeyDoc(doc);
}

std::string EncodeArchivePub(const ArchivePublic& pub) {
  Json doc = NewKeyDoc("tcd-archive-pub");
  doc["box_public"] = Hex(pub.box_pk);
  doc["key_id"] = KeyId(pub.box_pk);
  return DumpKeyDoc(doc);
}

namespace {

// The optional "key_id" of a .pub file must match the key it names.
Status CheckKeyId(const KeyDoc& kd, const PublicKey& pk) {
  if (!kd.Has("key_id")) return Status::OK();
  TCD_ASSIGN_OR_RETURN(std::string id, kd.String("key_id"));
  if (id != KeyId(pk)) {
    return Status::Corruption(kd.source() + ": field 'key_id': " + id +
                              " does not match the public key (its id is " + KeyId(pk) + ")");
  }
  return Status::OK();
}

Status CheckBoxPair(const std::string& source, const char* what, const PublicKey& pk,
                    const SecretBytes& sk) {
  PublicKey derived;
  if (crypto_scalarmult_base(derived.data(), sk.data()) != 0 ||
      !SameKey(derived.data(), pk.data())) {
    return Status::Corruption(source + ": " + what + " public key does not match its secret key");
  }
  return Status::OK();
}

Status CheckSignPair(const std::string& source, const PublicKey& pk, const SecretBytes& sk) {
  PublicKey derived;
  SecretBytes seed(crypto_sign_SEEDBYTES), sk2(crypto_sign_SECRETKEYBYTES);
  crypto_sign_ed25519_sk_to_seed(seed.data(), sk.data());
  crypto_sign_seed_keypair(derived.data(), sk2.data(), seed.data());
  if (!SameKey(derived.data(), pk.data()) || !SameKey(sk.data() + 32, pk.data())) {
    return Status::Corruption(source + ": sign_public does not match sign_secret");
  }
  return Status::OK();
}

}  // namespace

Result<NodeIdentity> DecodeNodeKey(std::string_view text, const std::string& source) {
  internal::MustInitCrypto();
  TCD_ASSIGN_OR_RETURN(KeyDoc kd, KeyDoc::Parse(text, source, "tcd-node-key"));
  NodeIdentity id;
  TCD_RETURN_IF_ERROR(kd.Fixed("sign_public", &id.pub.sign_pk));
  TCD_ASSIGN_OR_RETURN(id.sign_sk, kd.Secret("sign_secret", crypto_sign_SECRETKEYBYTES));
  TCD_RETURN_IF_ERROR(kd.Fixed("transport_public", &id.pub.transport_pk));
  TCD_ASSIGN_OR_RETURN(id.transport_sk, kd.Secret("transport_secret", crypto_box_SECRETKEYBYTES));
  TCD_RETURN_IF_ERROR(CheckSignPair(source, id.pub.sign_pk, id.sign_sk));
  TCD_RETURN_IF_ERROR(CheckBoxPair(source, "transport", id.pub.transport_pk, id.transport_sk));
  return id;
}

Result<NodePublic> DecodeNodePub(std::string_view text, const std::string& source) {
  TCD_ASSIGN_OR_RETURN(KeyDoc kd, KeyDoc::Parse(text, source, "tcd-node-pub"));
  NodePublic pub;
  TCD_RETURN_IF_ERROR(kd.Fixed("sign_public", &pub.sign_pk));
  TCD_RETURN_IF_ERROR(kd.Fixed("transport_public", &pub.transport_pk));
  TCD_RETURN_IF_ERROR(CheckKeyId(kd, pub.sign_pk));
  return pub;
}

Result<ArchiveKeyPair> DecodeArchiveKey(std::string_view text, const std::string& source,
                                        const std::optional<std::string>& passphrase) {
  internal::MustInitCrypto();
  TCD_ASSIGN_OR_RETURN(KeyDoc kd, KeyDoc::Parse(text, source, "tcd-archive-key"));
  ArchiveKeyPair key;
  TCD_RETURN_IF_ERROR(kd.Fixed("box_public", &key.pub.box_pk));
  TCD_ASSIGN_OR_RETURN(std::string protection, kd.String("protection"));
  if (protection == kProtectionNone) {
    TCD_ASSIGN_OR_RETURN(key.box_sk, kd.Secret("box_secret", crypto_box_SECRETKEYBYTES));
  } else if (protection == kProtectionPwhash) {
    if (!passphrase) {
      return Status::InvalidArgument(source +
                                     " is passphrase-protected: give --passphrase-file");
    }
    TCD_ASSIGN_OR_RETURN(key.box_sk, OpenSealedArchiveKey(kd, key.pub.box_pk, *passphrase));
  } else {
    return kd.FieldError("protection", "unknown protection \"" + protection + "\"");
  }
  TCD_RETURN_IF_ERROR(CheckBoxPair(source, "box", key.pub.box_pk, key.box_sk));
  return key;
}

Result<ArchivePublic> DecodeArchivePub(std::string_view text, const std::string& source) {
  TCD_ASSIGN_OR_RETURN(KeyDoc kd, KeyDoc::Parse(text, source, "tcd-archive-pub"));
  ArchivePublic pub;
  TCD_RETURN_IF_ERROR(kd.Fixed("box_public", &pub.box_pk));
  TCD_RETURN_IF_ERROR(CheckKeyId(kd, pub.box_pk));
  return pub;
}

}  // namespace tcd::crypto
