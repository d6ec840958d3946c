// The replication wire protocol codec (docs/FORMAT.md §Replication protocol).
//
// Decode() is strict: every message has exactly one accepted encoding, so anything it accepts
// re-encodes to the same bytes. It never reads past the frame and never allocates more than the
// frame could hold (lengths are checked against the remaining bytes before anything is copied).
//
// Encode() never fails. Text fields are sent as valid UTF-8 within their limit: each byte that
// does not start a valid sequence becomes U+FFFD and an over-long string is cut after the last
// whole code point that fits (a caller's long error text must not make the frame unreadable).
// The other limits (entry count, entry and chunk sizes, chunk bounds, enum values) are the
// caller's REQUIRES; a message that violates them is still encoded field by field and the
// peer's Decode() refuses it.
#include "replicate/protocol.h"

#include <algorithm>
#include <type_traits>

namespace tcd::replicate {
namespace {

constexpr size_t kMaxNameBytes = 256;   // Hello.point, Hello.software
constexpr size_t kMaxTextBytes = 4096;  // SessionAck.detail, Error.message, Unavailable.reason

// Message alternatives are declared in MsgType order: alternative i has type i + 1.
template <MsgType t, typename T>
constexpr bool kAt =
    std::is_same_v<std::variant_alternative_t<static_cast<size_t>(t) - 1, Message>, T>;
static_assert(kAt<MsgType::kHello, Hello> && kAt<MsgType::kWelcome, Welcome> &&
              kAt<MsgType::kEntries, Entries> && kAt<MsgType::kSessionAck, SessionAck> &&
              kAt<MsgType::kFetch, Fetch> && kAt<MsgType::kChunk, Chunk> &&
              kAt<MsgType::kUnavailable, Unavailable> && kAt<MsgType::kError, Error> &&
              kAt<MsgType::kQuery, Query> && kAt<MsgType::kLog, Log> &&
              kAt<MsgType::kCosigned, Cosigned> &&
              std::variant_size_v<Message> == static_cast<size_t>(MsgType::kCosigned));

// ---- encoding ----

// Length of the UTF-8 sequence that lead byte c starts; 0 when c cannot start one.
size_t SequenceLength(uint8_t c) {
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) return 2;
  if ((c & 0xF0) == 0xE0) return 3;
  if ((c & 0xF8) == 0xF0) return 4;
  return 0;
}

// s as valid UTF-8 of at most `limit` bytes (see the file comment). Identity for valid text
// within the limit.
std::string CleanText(std::string_view s, size_t limit) {
  if (s.size() <= limit && IsValidUtf8(AsBytes(s))) return std::string(s);
  constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  ByteView b = AsBytes(s);
  std::string out;
  size_t i = 0;
  while (i < b.size()) {
    size_t n = SequenceLength(b[i]);
    std::string_view piece = kReplacement;
    if (n != 0 && n <= b.size() - i && IsValidUtf8(b.subspan(i, n))) {
      piece = s.substr(i, n);
    } else {
      n = 1;
    }
    if (out.size() + piece.size() > limit) break;
    out += piece;
    i += n;
  }
  return out;
}

void Put(Writer& w, const Hello& m) {
  w.U8(static_cast<uint8_t>(m.role));
  w.Str16(CleanText(m.point, kMaxNameBytes));
  w.Str16(CleanText(m.software, kMaxNameBytes));
}
void Put(Writer& w, const Welcome& m) {
  w.U8(static_cast<uint8_t>(m.role));
  w.U32(m.max_chunk);
  w.U32(m.window);
}
void Put(Writer& w, const Entries& m) {
  w.Raw(m.session);
  w.U64(m.first_seq);
  // Saturate rather than wrap, so an over-long list can never look like a valid count.
  w.U16(static_cast<uint16_t>(std::min<size_t>(m.entries.size(), 0xFFFF)));
  for (const EntryWithSig& e : m.entries) {
    w.Bytes32(e.entry);  // REQUIRES: e.entry.size() < 2^32
    w.Raw(e.sig);
  }
}
void Put(Writer& w, const SessionAck& m) {
  w.Raw(m.session);
  w.U8(static_cast<uint8_t>(m.result));
  w.U64(m.stored);
  w.U64(m.held);
  w.U64(m.central_held);
  w.Str16(CleanText(m.detail, kMaxTextBytes));
}
void Put(Writer& w, const Fetch& m) {
  w.Raw(m.blob);
  w.U64(m.offset);
  w.U32(m.length);
}
void Put(Writer& w, const Chunk& m) {
  w.Raw(m.blob);
  w.U64(m.offset);
  w.U64(m.total);
  w.Bytes32(m.data);  // REQUIRES: m.data.size() < 2^32
}
void Put(Writer& w, const Unavailable& m) {
  w.Raw(m.blob);
  w.Str16(CleanText(m.reason, kMaxTextBytes));
}
void Put(Writer& w, const Error& m) {
  w.U16(static_cast<uint16_t>(m.code));
  w.Str16(CleanText(m.message, kMaxTextBytes));
}
void Put(Writer& w, const Query& m) { w.Raw(m.session); }
void Put(Writer& w, const Log& m) {
  w.Raw(m.signer);
  w.U64(m.old_size);
  w.U8(static_cast<uint8_t>(std::min<size_t>(m.proof.size(), 0xFF)));
  for (const auto& h : m.proof) w.Raw(h);
  w.U16(static_cast<uint16_t>(std::min<size_t>(m.leaves.size(), 0xFFFF)));
  for (const Bytes& l : m.leaves) w.Bytes32(l);
  w.Bytes32(AsBytes(m.checkpoint));
}
void Put(Writer& w, const Cosigned& m) {
  w.Raw(m.signer);
  w.U8(static_cast<uint8_t>(m.result));
  w.U64(m.size);
  w.Bytes32(AsBytes(m.note));
  w.Str16(CleanText(m.detail, kMaxTextBytes));
}

// ---- decoding ----

// Reads the fields of one message. Every failure is a Corruption
// "<type>: field '<field>': <problem>".
class FieldReader {
 public:
  FieldReader(ByteView in, const char* type) : r_(in), type_(type) {}

  Status Bad(std::string_view field, const std::string& problem) const {
    return Status::Corruption(std::string(type_) + ": field '" + std::string(field) +
                              "': " + problem);
  }
  Status Truncated(std::string_view field) const { return Bad(field, "truncated"); }

  Status U8(std::string_view field, uint8_t* v) { return r_.U8(v) ? Ok() : Truncated(field); }
  Status U16(std::string_view field, uint16_t* v) { return r_.U16(v) ? Ok() : Truncated(field); }
  Status U32(std::string_view field, uint32_t* v) { return r_.U32(v) ? Ok() : Truncated(field); }
  Status U64(std::string_view field, uint64_t* v) { return r_.U64(v) ? Ok() : Truncated(field); }
  template <size_t N>
  Status Fixed(std::string_view field, std::array<uint8_t, N>* v) {
    return r_.Fixed(v) ? Ok() : Truncated(field);
  }

  // str16 of at most `limit` bytes of valid UTF-8.
  Status Text(std::string_view field, size_t limit, std::string* out) {
    uint16_t n;
    ByteView v;
    TCD_RETURN_IF_ERROR(U16(field, &n));
    if (n > limit) return OverLimit(field, n, limit);
    if (!r_.Raw(n, &v)) return Truncated(field);
    if (!IsValidUtf8(v)) return Bad(field, "invalid UTF-8");
    out->assign(AsChars(v));
    return Ok();
  }
  // bytes32 of at most `limit` bytes.
  Status Blob(std::string_view field, uint32_t limit, Bytes* out) {
    uint32_t n;
    ByteView v;
    TCD_RETURN_IF_ERROR(U32(field, &n));
    if (n > limit) return OverLimit(field, n, limit);
    if (!r_.Raw(n, &v)) return Truncated(field);
    out->assign(v.begin(), v.end());
    return Ok();
  }

  Status OverLimit(std::string_view field, uint64_t n, uint64_t limit) const {
    return Bad(field, std::to_string(n) + " bytes, over the limit of " + std::to_string(limit));
  }
  Status Done() const {
    if (r_.done()) return Ok();
    return Status::Corruption(std::string(type_) + ": " + std::to_string(r_.remaining()) +
                              " trailing bytes");
  }
  size_t remaining() const { return r_.remaining(); }

 private:
  static Status Ok() { return Status::OK(); }
  Reader r_;
  const char* type_;
};

Status ReadRole(FieldReader& in, Role* out) {
  uint8_t v;
  TCD_RETURN_IF_ERROR(in.U8("role", &v));
  if (v < static_cast<uint8_t>(Role::kRecorder) || v > static_cast<uint8_t>(Role::kCentral)) {
    return in.Bad("role", "unknown role " + std::to_string(v));
  }
  *out = static_cast<Role>(v);
  return Status::OK();
}

Status Read(FieldReader& in, Hello* m) {
  TCD_RETURN_IF_ERROR(ReadRole(in, &m->role));
  TCD_RETURN_IF_ERROR(in.Text("point", kMaxNameBytes, &m->point));
  return in.Text("software", kMaxNameBytes, &m->software);
}
Status Read(FieldReader& in, Welcome* m) {
  TCD_RETURN_IF_ERROR(ReadRole(in, &m->role));
  TCD_RETURN_IF_ERROR(in.U32("max_chunk", &m->max_chunk));
  return in.U32("window", &m->window);
}
Status Read(FieldReader& in, Entries* m) {
  constexpr size_t kMinEntrySize = 4 + std::tuple_size_v<crypto::Signature>;  // empty entry
  uint16_t n;
  TCD_RETURN_IF_ERROR(in.Fixed("session_id", &m->session));
  TCD_RETURN_IF_ERROR(in.U64("first_seq", &m->first_seq));
  TCD_RETURN_IF_ERROR(in.U16("n", &n));
  if (n < 1 || n > kMaxEntriesPerMessage) {
    return in.Bad("n", std::to_string(n) + " entries, not in 1.." +
                           std::to_string(kMaxEntriesPerMessage));
  }
  if (in.remaining() < n * kMinEntrySize) {  // checked before allocating n entries
    return in.Bad("n", std::to_string(n) + " entries, but only " +
                           std::to_string(in.remaining()) + " bytes remain");
  }
  m->entries.resize(n);
  for (uint16_t i = 0; i < n; ++i) {
    std::string at = "entry[" + std::to_string(i) + "]";
    TCD_RETURN_IF_ERROR(in.Blob(at + ".entry", kMaxEntryBytes, &m->entries[i].entry));
    TCD_RETURN_IF_ERROR(in.Fixed(at + ".sig", &m->entries[i].sig));
  }
  return Status::OK();
}
Status Read(FieldReader& in, SessionAck* m) {
  uint8_t result;
  TCD_RETURN_IF_ERROR(in.Fixed("session_id", &m->session));
  TCD_RETURN_IF_ERROR(in.U8("result", &result));
  if (result < static_cast<uint8_t>(AckResult::kOk) ||
      result > static_cast<uint8_t>(AckResult::kUnknown)) {
    return in.Bad("result", "unknown result " + std::to_string(result));
  }
  m->result = static_cast<AckResult>(result);
  TCD_RETURN_IF_ERROR(in.U64("stored", &m->stored));
  TCD_RETURN_IF_ERROR(in.U64("held", &m->held));
  TCD_RETURN_IF_ERROR(in.U64("central_held", &m->central_held));
  return in.Text("detail", kMaxTextBytes, &m->detail);
}
Status Read(FieldReader& in, Fetch* m) {
  TCD_RETURN_IF_ERROR(in.Fixed("cipher_hash", &m->blob));
  TCD_RETURN_IF_ERROR(in.U64("offset", &m->offset));
  TCD_RETURN_IF_ERROR(in.U32("length", &m->length));
  if (m->length < 1 || m->length > kMaxChunkBytes) {
    return in.Bad("length", std::to_string(m->length) + " bytes, not in 1.." +
                                std::to_string(kMaxChunkBytes));
  }
  return Status::OK();
}
Status Read(FieldReader& in, Chunk* m) {
  TCD_RETURN_IF_ERROR(in.Fixed("cipher_hash", &m->blob));
  TCD_RETURN_IF_ERROR(in.U64("offset", &m->offset));
  TCD_RETURN_IF_ERROR(in.U64("total", &m->total));
  if (m->total > kMaxBlobBytes) return in.OverLimit("total", m->total, kMaxBlobBytes);
  TCD_RETURN_IF_ERROR(in.Blob("data", kMaxChunkBytes, &m->data));
  // offset + size <= total, written so that it cannot overflow.
  if (m->offset > m->total || m->data.size() > m->total - m->offset) {
    return in.Bad("data", "offset " + std::to_string(m->offset) + " + " +
                              std::to_string(m->data.size()) + " bytes exceeds total " +
                              std::to_string(m->total));
  }
  if (m->data.empty() && m->total != 0) return in.Bad("data", "empty, but total is not 0");
  return Status::OK();
}
Status Read(FieldReader& in, Unavailable* m) {
  TCD_RETURN_IF_ERROR(in.Fixed("cipher_hash", &m->blob));
  return in.Text("reason", kMaxTextBytes, &m->reason);
}
Status Read(FieldReader& in, Error* m) {
  uint16_t code;
  TCD_RETURN_IF_ERROR(in.U16("code", &code));
  if (code < static_cast<uint16_t>(ErrorCode::kBadMessage) ||
      code > static_cast<uint16_t>(ErrorCode::kInternal)) {
    return in.Bad("code", "unknown code " + std::to_string(code));
  }
  m->code = static_cast<ErrorCode>(code);
  return in.Text("message", kMaxTextBytes, &m->message);
}
Status Read(FieldReader& in, Query* m) { return in.Fixed("session_id", &m->session); }
Status Read(FieldReader& in, Log* m) {
  uint8_t n_proof;
  uint16_t n_leaves;
  TCD_RETURN_IF_ERROR(in.Fixed("signer", &m->signer));
  TCD_RETURN_IF_ERROR(in.U64("old_size", &m->old_size));
  TCD_RETURN_IF_ERROR(in.U8("n_proof", &n_proof));
  if (n_proof > kMaxProofHashes) return in.Bad("n_proof", std::to_string(n_proof) + " hashes");
  m->proof.resize(n_proof);
  for (uint8_t i = 0; i < n_proof; ++i)
    TCD_RETURN_IF_ERROR(in.Fixed("proof[" + std::to_string(i) + "]", &m->proof[i]));
  TCD_RETURN_IF_ERROR(in.U16("n_leaves", &n_leaves));
  if (n_leaves > kMaxLeavesPerMessage || in.remaining() < size_t{4} * n_leaves)
    return in.Bad("n_leaves", std::to_string(n_leaves) + " leaves, over the limit of " +
                                  std::to_string(kMaxLeavesPerMessage) + " or the frame");
  m->leaves.resize(n_leaves);
  for (uint16_t i = 0; i < n_leaves; ++i)
    TCD_RETURN_IF_ERROR(in.Blob("leaf[" + std::to_string(i) + "]", kMaxLeafBytes, &m->leaves[i]));
  Bytes note;
  TCD_RETURN_IF_ERROR(in.Blob("checkpoint", kMaxNoteBytes, &note));
  m->checkpoint.assign(note.begin(), note.end());
  return Status::OK();
}
Status Read(FieldReader& in, Cosigned* m) {
  uint8_t result;
  TCD_RETURN_IF_ERROR(in.Fixed("signer", &m->signer));
  TCD_RETURN_IF_ERROR(in.U8("result", &result));
  if (result < static_cast<uint8_t>(LogResult::kCosigned) ||
      result > static_cast<uint8_t>(LogResult::kLater))
    return in.Bad("result", "unknown result " + std::to_string(result));
  m->result = static_cast<LogResult>(result);
  TCD_RETURN_IF_ERROR(in.U64("size", &m->size));
  Bytes note;
  TCD_RETURN_IF_ERROR(in.Blob("note", kMaxNoteBytes, &note));
  m->note.assign(note.begin(), note.end());
  return in.Text("detail", kMaxTextBytes, &m->detail);
}

// Decodes the body of a message of type t (whose struct is T); nothing may follow it.
template <typename T>
Result<Message> DecodeAs(MsgType t, ByteView body) {
  T m;
  FieldReader in(body, MsgTypeName(t));
  TCD_RETURN_IF_ERROR(Read(in, &m));
  TCD_RETURN_IF_ERROR(in.Done());
  return Message(std::move(m));
}

}  // namespace

const char* MsgTypeName(MsgType t) {
  switch (t) {
    case MsgType::kHello: return "hello";
    case MsgType::kWelcome: return "welcome";
    case MsgType::kEntries: return "entries";
    case MsgType::kSessionAck: return "session_ack";
    case MsgType::kFetch: return "fetch";
    case MsgType::kChunk: return "chunk";
    case MsgType::kUnavailable: return "unavailable";
    case MsgType::kError: return "error";
    case MsgType::kQuery: return "query";
    case MsgType::kLog: return "log";
    case MsgType::kCosigned: return "cosigned";
  }
  return "unknown";
}

const char* RoleName(Role r) {
  switch (r) {
    case Role::kRecorder: return "recorder";
    case Role::kProvince: return "province";
    case Role::kCentral: return "central";
  }
  return "unknown";
}

MsgType TypeOf(const Message& m) { return static_cast<MsgType>(m.index() + 1); }

Bytes Encode(const Message& m) {
  Bytes out;
  Writer w(&out);
  w.U8(kProtocolVersion);
  w.U8(static_cast<uint8_t>(TypeOf(m)));
  std::visit([&w](const auto& msg) { Put(w, msg); }, m);
  return out;
}

Result<Message> Decode(ByteView frame) {
  if (frame.empty()) return Status::Corruption("message: field 'version': truncated");
  if (frame[0] != kProtocolVersion) {
    return Status::Corruption("unsupported protocol version " + std::to_string(frame[0]) +
                              " (this node speaks " + std::to_string(kProtocolVersion) + ")");
  }
  if (frame.size() < 2) return Status::Corruption("message: field 'type': truncated");
  ByteView body = frame.subspan(2);
  MsgType t = static_cast<MsgType>(frame[1]);
  switch (t) {
    case MsgType::kHello: return DecodeAs<Hello>(t, body);
    case MsgType::kWelcome: return DecodeAs<Welcome>(t, body);
    case MsgType::kEntries: return DecodeAs<Entries>(t, body);
    case MsgType::kSessionAck: return DecodeAs<SessionAck>(t, body);
    case MsgType::kFetch: return DecodeAs<Fetch>(t, body);
    case MsgType::kChunk: return DecodeAs<Chunk>(t, body);
    case MsgType::kUnavailable: return DecodeAs<Unavailable>(t, body);
    case MsgType::kError: return DecodeAs<Error>(t, body);
    case MsgType::kQuery: return DecodeAs<Query>(t, body);
    case MsgType::kLog: return DecodeAs<Log>(t, body);
    case MsgType::kCosigned: return DecodeAs<Cosigned>(t, body);
  }
  return Status::Corruption("message: field 'type': unknown type " + std::to_string(frame[1]));
}

}  // namespace tcd::replicate
