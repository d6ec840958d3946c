// Chain entries, entry hashes and head signatures (docs/FORMAT.md §Chain entries).
// Entry bodies are in chain_bodies.cc.
#include "crypto/chain.h"

#include <sodium.h>

#include <cstdlib>

#include "crypto/internal.h"

namespace tcd::crypto {
namespace {

constexpr uint8_t kEntryVersion = 1;
constexpr char kEntryDomain[] = "tcd/chain-entry/v1";
constexpr char kHeadDomain[] = "tcd/chain-head/v1";

bool KnownKind(uint8_t k) {
  return k >= static_cast<uint8_t>(EntryKind::kOpen) &&
         k <= static_cast<uint8_t>(EntryKind::kRecoveryClose);
}

Status Truncated(const char* field) {
  return Status::Corruption(std::string("chain entry: truncated at field '") + field + "'");
}

}  // namespace

const char* EntryKindName(EntryKind k) {
  switch (k) {
    case EntryKind::kOpen: return "open";
    case EntryKind::kInit: return "init";
    case EntryKind::kSegment: return "segment";
    case EntryKind::kGap: return "gap";
    case EntryKind::kAnnotation: return "annotation";
    case EntryKind::kSeal: return "seal";
    case EntryKind::kRecoveryClose: return "recovery-close";
  }
  return "unknown";
}

Bytes EncodeEntry(const ChainEntry& e) {
  Bytes out;
  out.reserve(kEntryHeaderSize + e.body.size());
  Writer w(&out);
  w.U8(kEntryVersion);
  w.U8(static_cast<uint8_t>(e.kind));
  w.Raw(e.session);
  w.U64(e.seq);
  w.I64(e.start_us);
  w.I64(e.duration_us);
  w.Raw(e.cipher_hash);
  w.Raw(e.plain_hash);
  w.U64(e.cipher_size);
  w.U64(e.plain_size);
  w.Raw(e.prev_hash);
  w.Bytes32(e.body);
  return out;
}

Result<ChainEntry> DecodeEntry(ByteView bytes) {
  Reader r(bytes);
  ChainEntry e;
  uint8_t version, kind;
  if (!r.U8(&version)) return Truncated("version");
  if (version != kEntryVersion) {
    return Status::Corruption("chain entry: field 'version': unknown version " +
                              std::to_string(version));
  }
  if (!r.U8(&kind)) return Truncated("kind");
  if (!KnownKind(kind)) {
    return Status::Corruption("chain entry: field 'kind': unknown kind " + std::to_string(kind));
  }
  e.kind = static_cast<EntryKind>(kind);
  if (!r.Fixed(&e.session)) return Truncated("session_id");
  if (!r.U64(&e.seq)) return Truncated("seq");
  if (!r.I64(&e.start_us)) return Truncated("start_us");
  if (!r.I64(&e.duration_us)) return Truncated("duration_us");
  if (!r.Fixed(&e.cipher_hash)) return Truncated("cipher_hash");
  if (!r.Fixed(&e.plain_hash)) return Truncated("plain_hash");
  if (!r.U64(&e.cipher_size)) return Truncated("cipher_size");
  if (!r.U64(&e.plain_size)) return Truncated("plain_size");
  if (!r.Fixed(&e.prev_hash)) return Truncated("prev_hash");
  uint32_t body_len;
  if (!r.U32(&body_len)) return Truncated("body_len");
  ByteView body;
  if (!r.Raw(body_len, &body)) {
    return Status::Corruption("chain entry: field 'body_len': " + std::to_string(body_len) +
                              " bytes, but only " + std::to_string(r.remaining()) + " remain");
  }
  e.body.assign(body.begin(), body.end());
  if (!r.done()) {
    return Status::Corruption("chain entry: " + std::to_string(r.remaining()) +
                              " trailing bytes after field 'body'");
  }
  return e;
}

Hash256 EntryHash(const ChainEntry& e) { return EntryHashOf(EncodeEntry(e)); }
Hash256 EntryHashOf(ByteView encoding) { return DomainHash(kEntryDomain, encoding); }

Bytes HeadMessage(const SessionId& session, uint64_t seq, const Hash256& entry_hash) {
  Bytes m;
  Writer w(&m);
  w.Raw(std::string_view(kHeadDomain, sizeof(kHeadDomain)));  // includes the 0x00
  w.Raw(session);
  w.U64(seq);
  w.Raw(entry_hash);
  return m;
}

Signature SignHead(const SecretBytes& sign_sk, const SessionId& session, uint64_t seq,
                   const Hash256& entry_hash) {
  internal::MustInitCrypto();
  if (sign_sk.size() != crypto_sign_SECRETKEYBYTES) std::abort();  // REQUIRES violated
  Bytes m = HeadMessage(session, seq, entry_hash);
  Signature sig;
  crypto_sign_detached(sig.data(), nullptr, m.data(), m.size(), sign_sk.data());
  return sig;
}

bool VerifyHead(const PublicKey& sign_pk, const SessionId& session, uint64_t seq,
                const Hash256& entry_hash, const Signature& sig) {
  internal::MustInitCrypto();
  Bytes m = HeadMessage(session, seq, entry_hash);
  return crypto_sign_verify_detached(sig.data(), m.data(), m.size(), sign_pk.data()) == 0;
}

}  // namespace tcd::crypto
