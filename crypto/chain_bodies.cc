// Bodies of chain entries (docs/FORMAT.md §Chain entries): open, meta, seal, run.
// Every decoder rejects truncated input and trailing bytes with a Corruption naming the field.
#include "crypto/chain.h"

#include <algorithm>

namespace tcd::crypto {
namespace {

constexpr uint8_t kOpenBodyVersion = 1;
constexpr uint8_t kSealBodyVersion = 1;

Status Bad(const char* body, const std::string& what) {
  return Status::Corruption(std::string(body) + ": " + what);
}
Status Truncated(const char* body, const std::string& field) {
  return Bad(body, "truncated at field '" + field + "'");
}
Status Trailing(const char* body, const Reader& r) {
  return Bad(body, std::to_string(r.remaining()) + " trailing bytes");
}

// Reads a MetaBody from r up to its end.
Result<Metadata> ReadMeta(Reader* r, const char* body) {
  uint32_t n;
  if (!r->U32(&n)) return Truncated(body, "meta.n");
  Metadata meta;
  meta.reserve(std::min<uint32_t>(n, 64));
  for (uint32_t i = 0; i < n; ++i) {
    auto at = [&](const char* part) { return "meta[" + std::to_string(i) + "]." + part; };
    std::string key;
    uint32_t size;
    ByteView value;
    if (!r->Str16(&key)) return Truncated(body, at("key"));
    if (!r->U32(&size) || !r->Raw(size, &value)) return Truncated(body, at("value"));
    meta.emplace_back(std::move(key), std::string(AsChars(value)));
  }
  if (!r->done()) return Trailing(body, *r);
  return meta;
}

bool KnownReason(uint8_t r) {
  return r >= static_cast<uint8_t>(SealReason::kStopped) &&
         r <= static_cast<uint8_t>(SealReason::kError);
}

}  // namespace

void EncodeMeta(const Metadata& meta, Bytes* out) {
  Writer w(out);
  w.U32(static_cast<uint32_t>(meta.size()));
  for (const auto& [key, value] : meta) {
    w.Str16(key);
    w.Bytes32(AsBytes(value));
  }
}

Bytes EncodeOpenBody(const OpenBody& b) {
  Bytes out;
  Writer w(&out);
  w.U8(kOpenBodyVersion);
  w.Raw(b.signer_pk);
  w.U16(static_cast<uint16_t>(b.recipients.size()));
  for (const Recipient& rcp : b.recipients) {
    w.Raw(rcp.pk);
    w.Raw(rcp.sealed_key);
  }
  EncodeMeta(b.meta, &out);
  return out;
}

Result<OpenBody> DecodeOpenBody(ByteView body) {
  constexpr char kName[] = "open body";
  Reader r(body);
  OpenBody b;
  uint8_t version;
  uint16_t n;
  if (!r.U8(&version)) return Truncated(kName, "version");
  if (version != kOpenBodyVersion) {
    return Bad(kName, "field 'version': unknown version " + std::to_string(version));
  }
  if (!r.Fixed(&b.signer_pk)) return Truncated(kName, "signer_pk");
  if (!r.U16(&n)) return Truncated(kName, "n_recipients");
  for (uint16_t i = 0; i < n; ++i) {
    std::string at = "recipients[" + std::to_string(i) + "]";
    Recipient rcp;
    ByteView sealed;
    if (!r.Fixed(&rcp.pk)) return Truncated(kName, at + ".pk");
    if (!r.Raw(kSealedKeySize, &sealed)) return Truncated(kName, at + ".sealed_key");
    rcp.sealed_key.assign(sealed.begin(), sealed.end());
    b.recipients.push_back(std::move(rcp));
  }
  TCD_ASSIGN_OR_RETURN(b.meta, ReadMeta(&r, kName));
  return b;
}

Result<Metadata> DecodeMetaBody(ByteView body) {
  Reader r(body);
  return ReadMeta(&r, "meta body");
}

const char* SealReasonName(SealReason r) {
  switch (r) {
    case SealReason::kStopped: return "stopped";
    case SealReason::kDurationReached: return "duration-reached";
    case SealReason::kSourceEnded: return "source-ended";
    case SealReason::kDiskFull: return "disk-full";
    case SealReason::kError: return "error";
  }
  return "unknown";
}

Bytes EncodeSealBody(const SealBody& b) {
  Bytes out;
  Writer w(&out);
  w.U8(kSealBodyVersion);
  w.U8(static_cast<uint8_t>(b.reason));
  w.U64(b.segments);
  w.I64(b.media_duration_us);
  return out;
}

Result<SealBody> DecodeSealBody(ByteView body) {
  constexpr char kName[] = "seal body";
  Reader r(body);
  SealBody b;
  uint8_t version, reason;
  if (!r.U8(&version)) return Truncated(kName, "version");
  if (version != kSealBodyVersion) {
    return Bad(kName, "field 'version': unknown version " + std::to_string(version));
  }
  if (!r.U8(&reason)) return Truncated(kName, "reason");
  if (!KnownReason(reason)) {
    return Bad(kName, "field 'reason': unknown reason " + std::to_string(reason));
  }
  b.reason = static_cast<SealReason>(reason);
  if (!r.U64(&b.segments)) return Truncated(kName, "segments");
  if (!r.I64(&b.media_duration_us)) return Truncated(kName, "media_duration_us");
  if (!r.done()) return Trailing(kName, r);
  return b;
}

Bytes EncodeRunBody(uint32_t run) {
  Bytes out;
  Writer(&out).U32(run);
  return out;
}

Result<uint32_t> DecodeRunBody(ByteView body) {
  Reader r(body);
  uint32_t run;
  if (!r.U32(&run)) return Truncated("run body", "run");
  if (!r.done()) return Trailing("run body", r);
  return run;
}

}  // namespace tcd::crypto
