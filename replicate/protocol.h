// The replication wire protocol (docs/FORMAT.md §Replication protocol): the messages a sender
// (DEALER, downstream node) and a receiver (ROUTER, upstream node) exchange over CurveZMQ.
//
// Every message is exactly one ZeroMQ frame (the ROUTER sees the peer's routing id in front of
// it; that frame is ZeroMQ's, not ours). All integers are big-endian. A message starts with
//   u8 version (= kProtocolVersion) | u8 type
// followed by the type's fields. str16 = u16 length | UTF-8 bytes; bytes32 = u32 length | bytes.
// Decode() refuses anything that is not exactly one well-formed message of this version:
// unknown version or type, truncation, trailing bytes, lengths over the limits below, invalid
// UTF-8 in strings; the error (Status::Corruption) names the message type and the field.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/chain.h"

namespace tcd::replicate {

constexpr uint8_t kProtocolVersion = 1;

// Limits a receiver enforces while decoding (a peer cannot make it allocate more).
constexpr uint32_t kMaxChunkBytes = 1u << 20;      // CHUNK data, FETCH length
constexpr uint16_t kMaxEntriesPerMessage = 256;    // ENTRIES count
constexpr uint32_t kMaxEntryBytes = 1u << 20;      // one encoded chain entry
constexpr uint64_t kMaxBlobBytes = 1ull << 30;     // CHUNK total (a blob's size)
constexpr uint16_t kMaxLeavesPerMessage = 1024;    // LOG leaves
constexpr uint32_t kMaxLeafBytes = 65536 + 19;     // one LOG leaf (docs/FORMAT.md §Leaves)
constexpr uint8_t kMaxProofHashes = 128;           // LOG consistency proof
constexpr uint32_t kMaxNoteBytes = 65536;          // LOG checkpoint, COSIGNED note

// On the wire: never renumber.
enum class MsgType : uint8_t {
  kHello = 1,        // S→R, first message on every connection
  kWelcome = 2,      // R→S, answer to HELLO
  kEntries = 3,      // S→R, chain entries of one session (metadata, before media)
  kSessionAck = 4,   // R→S, what the receiver durably holds of one session
  kFetch = 5,        // R→S, asks for a byte range of a blob (one unit of credit)
  kChunk = 6,        // S→R, answer to FETCH
  kUnavailable = 7,  // S→R, answer to FETCH when the sender does not have that blob
  kError = 8,        // either way: a connection-level refusal (the peer should log it)
  kQuery = 9,        // S→R, asks for a SESSION_ACK of one session (acks from further up)
  kLog = 10,         // S→R, a signed checkpoint of the sender's node log, to be cosigned
  kCosigned = 11,    // R→S, answer to LOG
};
const char* MsgTypeName(MsgType t);  // "hello", "entries", …

// On the wire: never renumber.
enum class Role : uint8_t { kRecorder = 1, kProvince = 2, kCentral = 3 };
const char* RoleName(Role r);  // "recorder", "province", "central"

// u8 role | str16 point | str16 software
struct Hello {
  Role role = Role::kRecorder;
  std::string point;     // the sender's reception point / archive id (informational)
  std::string software;  // e.g. "tcd/0.4"
};
// u8 role | u32 max_chunk | u32 window
struct Welcome {
  Role role = Role::kProvince;
  uint32_t max_chunk = 0;  // the receiver requests at most this many bytes per FETCH
  uint32_t window = 0;     // at most this many FETCHes outstanding (informational for senders)
};
// session_id[16] | u64 first_seq | u16 n | n × (bytes32 entry | signature[64])
// Entries are consecutive: entry i has seq first_seq + i (the receiver checks).
struct EntryWithSig {
  Bytes entry;  // crypto::EncodeEntry bytes
  crypto::Signature sig{};
};
struct Entries {
  crypto::SessionId session{};
  uint64_t first_seq = 0;
  std::vector<EntryWithSig> entries;  // 1 … kMaxEntriesPerMessage
};
// On the wire: never renumber.
enum class AckResult : uint8_t {
  kOk = 1,        // stored/held/central_held are the receiver's durable state
  kRejected = 2,  // the entries were refused (detail says why); nothing of them was stored
  kUnknown = 3,   // QUERY about a session the receiver does not have
};
// session_id[16] | u8 result | u64 stored | u64 held | u64 central_held | str16 detail
struct SessionAck {
  crypto::SessionId session{};
  AckResult result = AckResult::kOk;
  uint64_t stored = 0;        // entries 0..stored-1 are durably stored (chain records)
  uint64_t held = 0;          // entries 0..held-1 are stored with their blobs (held ≤ stored)
  uint64_t central_held = 0;  // the same "held" as acknowledged by the central tier
  std::string detail;         // for kRejected: the reason, naming the seq
};
// cipher_hash[32] | u64 offset | u32 length        (1 ≤ length ≤ kMaxChunkBytes)
struct Fetch {
  crypto::Hash256 blob{};
  uint64_t offset = 0;
  uint32_t length = 0;
};
// cipher_hash[32] | u64 offset | u64 total | bytes32 data
// (offset + data.size() ≤ total ≤ kMaxBlobBytes; data non-empty unless total == 0)
struct Chunk {
  crypto::Hash256 blob{};
  uint64_t offset = 0;
  uint64_t total = 0;  // the blob's full size
  Bytes data;
};
// cipher_hash[32] | str16 reason
struct Unavailable {
  crypto::Hash256 blob{};
  std::string reason;
};
// On the wire: never renumber.
enum class ErrorCode : uint16_t {
  kBadMessage = 1,     // could not decode (the message says which field)
  kVersion = 2,        // unsupported protocol version
  kNotEnrolled = 3,    // the peer's key is not (or no longer) enrolled
  kNotWelcome = 4,     // a message other than HELLO before HELLO
  kInternal = 5,       // the receiver could not store (disk full, I/O error); retry later
};
// u16 code | str16 message
struct Error {
  ErrorCode code = ErrorCode::kBadMessage;
  std::string message;
};
// session_id[16]
struct Query {
  crypto::SessionId session{};
};

// signer[32] | u64 old_size | u8 n_proof | n_proof × hash[32] | u16 n_leaves |
// n_leaves × bytes32 leaf | bytes32 checkpoint
// A checkpoint (a signed note) of old_size + n_leaves leaves, the leaves after the first
// old_size (the size of the receiver's copy, as the sender believes), and the RFC 9162
// consistency proof from old_size to the checkpoint's size. The log is the sender's own when
// `signer` is all zero; otherwise the log of that key (a recorder's), relayed by a province
// that cosigned the checkpoint.
struct Log {
  crypto::PublicKey signer{};
  uint64_t old_size = 0;
  std::vector<crypto::Hash256> proof;  // ≤ kMaxProofHashes
  std::vector<Bytes> leaves;           // ≤ kMaxLeavesPerMessage, each ≤ kMaxLeafBytes
  std::string checkpoint;              // ≤ kMaxNoteBytes
};
// On the wire: never renumber.
enum class LogResult : uint8_t {
  kCosigned = 1,  // note = the checkpoint with the receiver's cosignature; size = its size
  kRejected = 2,  // refused (detail says why: signature, inconsistent history, leaf mismatch)
  kResync = 3,    // the receiver's copy has `size` leaves: send again from there
  kLater = 4,     // leaves name chain entries the receiver does not hold yet: send them first
};
// signer[32] | u8 result | u64 size | bytes32 note | str16 detail
struct Cosigned {
  crypto::PublicKey signer{};  // the LOG's signer field: which log this answers
  LogResult result = LogResult::kCosigned;
  uint64_t size = 0;
  std::string note;    // ≤ kMaxNoteBytes; empty unless kCosigned
  std::string detail;
};

using Message = std::variant<Hello, Welcome, Entries, SessionAck, Fetch, Chunk, Unavailable,
                             Error, Query, Log, Cosigned>;

MsgType TypeOf(const Message& m);
Bytes Encode(const Message& m);
// Decodes one frame. Version mismatches are reported as Status::Corruption whose message
// starts with "unsupported protocol version" (so the receiver can answer kVersion).
Result<Message> Decode(ByteView frame);

}  // namespace tcd::replicate
