#include "replicate/protocol.h"

#include <gtest/gtest.h>

#include <functional>
#include <random>

namespace tcd::replicate {
namespace {

constexpr size_t kMaxName = 256;   // Hello.point, Hello.software
constexpr size_t kMaxText = 4096;  // detail, message, reason

crypto::SessionId FixedSession() {
  crypto::SessionId s;
  for (int i = 0; i < 16; ++i) s[i] = static_cast<uint8_t>(i);
  return s;
}
crypto::Hash256 Filled(uint8_t b) {
  crypto::Hash256 h;
  h.fill(b);
  return h;
}
std::string Rep(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}
Bytes B(std::string_view s) { return Bytes(s.begin(), s.end()); }

// One message of every type with non-trivial values, and its encoding (docs/FORMAT.md
// §Replication protocol, known answers; computed with Python's struct module).
struct Sample {
  Message msg;
  std::string hex;
};
std::vector<Sample> Samples() {
  const std::string sid = "000102030405060708090a0b0c0d0e0f";
  EntryWithSig e1{{1, 2, 3}, {}}, e2{{4, 5}, {}};
  e1.sig.fill(0xAA);
  e2.sig.fill(0xBB);
  return {
      {Hello{Role::kRecorder, "Xã Tân Phú", "tcd/0.4"},
       "010101" "000d58c3a32054c3a26e205068c3ba" "00077463642f302e34"},
      {Welcome{Role::kProvince, 1u << 20, 8}, "010202" "00100000" "00000008"},
      {Entries{FixedSession(), 7, {e1, e2}},
       "0103" + sid + "0000000000000007" "0002" "00000003010203" + Rep("aa", 64) +
           "000000020405" + Rep("bb", 64)},
      {SessionAck{FixedSession(), AckResult::kRejected, 9, 7, 5, "seq 9: bad signature"},
       "0104" + sid + "02" "0000000000000009" "0000000000000007" "0000000000000005" +
           "0014" "73657120393a20626164207369676e6174757265"},
      {Fetch{Filled(0x11), 4096, 65536}, "0105" + Rep("11", 32) + "0000000000001000" "00010000"},
      {Chunk{Filled(0x11), 4096, 10000, B("abcd")},
       "0106" + Rep("11", 32) + "0000000000001000" "0000000000002710" "0000000461626364"},
      {Unavailable{Filled(0x22), "blob not found"},
       "0107" + Rep("22", 32) + "000e" "626c6f62206e6f7420666f756e64"},
      {Error{ErrorCode::kNotEnrolled, "key 3f2a is not enrolled"},
       "0108" "0003" "0018" "6b65792033663261206973206e6f7420656e726f6c6c6564"},
      {Query{FixedSession()}, "0109" + sid},
      {Log{Filled(0x44), 3, {Filled(0x33)}, {B("ab")}, "cp\n"},
       "010a" + Rep("44", 32) + "0000000000000003" "01" + Rep("33", 32) + "0001" "000000026162"
       "0000000363700a"},
      {Cosigned{Filled(0x44), LogResult::kLater, 5, "", "wait"},
       "010b" + Rep("44", 32) + "04" "0000000000000005" "00000000" "0004" "77616974"},
  };
}

// A frame built field by field: version 1, type t, then whatever `body` writes.
Bytes Frame(MsgType t, const std::function<void(Writer&)>& body) {
  Bytes out;
  Writer w(&out);
  w.U8(kProtocolVersion);
  w.U8(static_cast<uint8_t>(t));
  body(w);
  return out;
}

// Decode must refuse `frame` with a Corruption whose message contains `want`.
void ExpectRefused(const Bytes& frame, const std::string& want) {
  Result<Message> r = Decode(frame);
  ASSERT_FALSE(r.ok()) << "accepted " << ToHex(frame).substr(0, 80);
  EXPECT_TRUE(r.status().IsCorruption()) << r.status().ToString();
  EXPECT_NE(r.status().message().find(want), std::string::npos)
      << "'" << r.status().message() << "' does not contain '" << want << "'";
}
void ExpectAccepted(const Bytes& frame) {
  Result<Message> r = Decode(frame);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Encode(*r), frame);
}

TEST(ProtocolTest, Names) {
  EXPECT_STREQ(MsgTypeName(MsgType::kHello), "hello");
  EXPECT_STREQ(MsgTypeName(MsgType::kSessionAck), "session_ack");
  EXPECT_STREQ(MsgTypeName(MsgType::kQuery), "query");
  EXPECT_STREQ(MsgTypeName(static_cast<MsgType>(42)), "unknown");
  EXPECT_STREQ(RoleName(Role::kRecorder), "recorder");
  EXPECT_STREQ(RoleName(Role::kProvince), "province");
  EXPECT_STREQ(RoleName(Role::kCentral), "central");
  EXPECT_STREQ(RoleName(static_cast<Role>(0)), "unknown");
}

TEST(ProtocolTest, KnownAnswersAndRoundTrip) {
  std::vector<Sample> samples = Samples();
  ASSERT_EQ(samples.size(), std::variant_size_v<Message>);
  for (size_t i = 0; i < samples.size(); ++i) {
    const Sample& s = samples[i];
    EXPECT_EQ(TypeOf(s.msg), static_cast<MsgType>(i + 1));
    Bytes frame = Encode(s.msg);
    EXPECT_EQ(ToHex(frame), s.hex) << MsgTypeName(TypeOf(s.msg));
    Result<Message> back = Decode(frame);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(TypeOf(*back), TypeOf(s.msg));
    EXPECT_EQ(Encode(*back), frame);
  }
}

TEST(ProtocolTest, DecodedFields) {
  std::vector<Sample> samples = Samples();
  Result<Message> r = Decode(Encode(samples[2].msg));
  ASSERT_TRUE(r.ok());
  const Entries& e = std::get<Entries>(*r);
  EXPECT_EQ(e.session, FixedSession());
  EXPECT_EQ(e.first_seq, 7u);
  ASSERT_EQ(e.entries.size(), 2u);
  EXPECT_EQ(e.entries[1].entry, (Bytes{4, 5}));
  EXPECT_EQ(e.entries[1].sig[63], 0xBB);

  r = Decode(Encode(samples[3].msg));
  ASSERT_TRUE(r.ok());
  const SessionAck& a = std::get<SessionAck>(*r);
  EXPECT_EQ(a.result, AckResult::kRejected);
  EXPECT_EQ(a.stored, 9u);
  EXPECT_EQ(a.held, 7u);
  EXPECT_EQ(a.central_held, 5u);
  EXPECT_EQ(a.detail, "seq 9: bad signature");

  r = Decode(Encode(samples[5].msg));
  ASSERT_TRUE(r.ok());
  const Chunk& c = std::get<Chunk>(*r);
  EXPECT_EQ(c.offset, 4096u);
  EXPECT_EQ(c.total, 10000u);
  EXPECT_EQ(c.data, B("abcd"));
}

TEST(ProtocolTest, EveryStrictPrefixIsRefused) {
  for (const Sample& s : Samples()) {
    Bytes frame = Encode(s.msg);
    for (size_t n = 0; n < frame.size(); ++n) {
      Result<Message> r = Decode(ByteView(frame).first(n));
      ASSERT_FALSE(r.ok()) << MsgTypeName(TypeOf(s.msg)) << " prefix " << n;
      EXPECT_TRUE(r.status().IsCorruption());
    }
  }
  ExpectRefused({}, "field 'version': truncated");
  ExpectRefused({1}, "field 'type': truncated");
  ExpectRefused(Frame(MsgType::kEntries, [](Writer& w) { w.Raw(FixedSession()); }),
                "entries: field 'first_seq': truncated");
}

TEST(ProtocolTest, TrailingByteIsRefused) {
  for (const Sample& s : Samples()) {
    Bytes frame = Encode(s.msg);
    frame.push_back(0);
    ExpectRefused(frame, "1 trailing bytes");
  }
}

TEST(ProtocolTest, WrongVersion) {
  for (uint8_t v : {0, 2, 255}) {
    Bytes frame = Encode(Samples()[0].msg);
    frame[0] = v;
    Result<Message> r = Decode(frame);
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(r.status().IsCorruption());
    EXPECT_EQ(r.status().message().rfind("unsupported protocol version", 0), 0u)
        << r.status().message();
    // The version is judged before anything else, even on a 1-byte frame.
    r = Decode(Bytes{v});
    EXPECT_EQ(r.status().message().rfind("unsupported protocol version", 0), 0u);
  }
}

TEST(ProtocolTest, UnknownType) {
  for (uint8_t t : {0, 12, 255}) ExpectRefused({kProtocolVersion, t}, "unknown type");
}

TEST(ProtocolTest, UnknownEnumValues) {
  for (uint8_t role : {0, 4, 255}) {
    ExpectRefused(Frame(MsgType::kHello, [&](Writer& w) { w.U8(role); w.Str16(""); w.Str16(""); }),
                  "hello: field 'role': unknown role");
    ExpectRefused(Frame(MsgType::kWelcome, [&](Writer& w) { w.U8(role); w.U32(1); w.U32(1); }),
                  "welcome: field 'role'");
  }
  for (uint8_t result : {0, 4}) {
    ExpectRefused(Frame(MsgType::kSessionAck,
                        [&](Writer& w) {
                          w.Raw(FixedSession());
                          w.U8(result);
                          for (int i = 0; i < 3; ++i) w.U64(0);
                          w.Str16("");
                        }),
                  "session_ack: field 'result': unknown result");
  }
  for (uint16_t code : {0, 6, 0x0103}) {
    ExpectRefused(Frame(MsgType::kError, [&](Writer& w) { w.U16(code); w.Str16("x"); }),
                  "error: field 'code': unknown code");
  }
}

TEST(ProtocolTest, LogAndCosignedLimits) {
  const Bytes zero(32, 0);
  ExpectAccepted(Frame(MsgType::kLog, [&](Writer& w) {
    w.Raw(zero); w.U64(0); w.U8(0); w.U16(0); w.Bytes32(Bytes{});
  }));
  ExpectRefused(Frame(MsgType::kLog, [&](Writer& w) { w.Raw(Bytes(31, 0)); }),
                "log: field 'signer'");
  ExpectRefused(Frame(MsgType::kLog, [&](Writer& w) {
    w.Raw(zero); w.U64(0); w.U8(kMaxProofHashes + 1);
  }), "log: field 'n_proof'");
  ExpectRefused(Frame(MsgType::kLog, [&](Writer& w) {
    w.Raw(zero); w.U64(0); w.U8(0); w.U16(kMaxLeavesPerMessage + 1);
    for (int i = 0; i <= kMaxLeavesPerMessage; ++i) w.Bytes32(Bytes{1});
  }), "log: field 'n_leaves'");
  ExpectRefused(Frame(MsgType::kLog, [&](Writer& w) {
    w.Raw(zero); w.U64(0); w.U8(0); w.U16(1000);
  }), "log: field 'n_leaves'");  // more leaves than the frame could hold
  ExpectRefused(Frame(MsgType::kLog, [&](Writer& w) {
    w.Raw(zero); w.U64(0); w.U8(0); w.U16(1); w.Bytes32(Bytes(kMaxLeafBytes + 1, 0));
  }), "log: field 'leaf[0]'");
  ExpectRefused(Frame(MsgType::kLog, [&](Writer& w) {
    w.Raw(zero); w.U64(0); w.U8(0); w.U16(0); w.Bytes32(Bytes(kMaxNoteBytes + 1, 'a'));
  }), "log: field 'checkpoint'");
  for (uint8_t result : {0, 5})
    ExpectRefused(Frame(MsgType::kCosigned, [&](Writer& w) {
      w.Raw(zero); w.U8(result); w.U64(0); w.Bytes32(Bytes{}); w.Str16("");
    }), "cosigned: field 'result': unknown result");
}

Bytes EntriesFrame(uint16_t n, size_t entry_size) {
  return Frame(MsgType::kEntries, [&](Writer& w) {
    w.Raw(FixedSession());
    w.U64(0);
    w.U16(n);
    for (uint16_t i = 0; i < n; ++i) {
      w.Bytes32(Bytes(entry_size, 0x5A));
      w.Raw(Bytes(64, 0x01));
    }
  });
}

TEST(ProtocolTest, EntriesLimits) {
  ExpectRefused(EntriesFrame(0, 10), "entries: field 'n': 0 entries");
  ExpectAccepted(EntriesFrame(kMaxEntriesPerMessage, 0));
  ExpectRefused(EntriesFrame(kMaxEntriesPerMessage + 1, 0), "field 'n': 257 entries");
  ExpectAccepted(EntriesFrame(1, kMaxEntryBytes));
  ExpectRefused(EntriesFrame(1, kMaxEntryBytes + 1), "field 'entry[0].entry': 1048577 bytes");
  // A count larger than the frame can hold is refused before anything is allocated.
  Bytes short_frame = EntriesFrame(1, 0);
  short_frame[2 + 16 + 8 + 1] = 200;
  ExpectRefused(short_frame, "field 'n': 200 entries, but only");
  // Entry 3 claims more bytes than remain.
  Bytes frame = EntriesFrame(4, 100);
  frame.resize(frame.size() - 64 - 3);
  ExpectRefused(frame, "entries: field 'entry[3].entry': truncated");
  frame = EntriesFrame(4, 100);
  frame.pop_back();
  ExpectRefused(frame, "entries: field 'entry[3].sig': truncated");
  // Encode saturates the count instead of letting it wrap to a valid value.
  Entries many;
  many.entries.resize(65536 + 1);
  ExpectRefused(Encode(many), "field 'n': 65535 entries");
}

Bytes FetchFrame(uint32_t length) {
  return Encode(Fetch{Filled(3), ~0ull, length});
}
Bytes ChunkFrame(uint64_t offset, uint64_t total, size_t size) {
  return Frame(MsgType::kChunk, [&](Writer& w) {
    w.Raw(Filled(3));
    w.U64(offset);
    w.U64(total);
    w.Bytes32(Bytes(size, 0x77));
  });
}

TEST(ProtocolTest, FetchAndChunkLimits) {
  ExpectRefused(FetchFrame(0), "fetch: field 'length': 0 bytes, not in 1..1048576");
  ExpectAccepted(FetchFrame(1));
  ExpectAccepted(FetchFrame(kMaxChunkBytes));
  ExpectRefused(FetchFrame(kMaxChunkBytes + 1), "fetch: field 'length'");

  ExpectAccepted(ChunkFrame(0, 0, 0));  // an empty blob
  ExpectAccepted(ChunkFrame(kMaxBlobBytes - kMaxChunkBytes, kMaxBlobBytes, kMaxChunkBytes));
  ExpectRefused(ChunkFrame(0, kMaxBlobBytes * 2, kMaxChunkBytes + 1), "chunk: field 'total'");
  ExpectRefused(ChunkFrame(0, kMaxBlobBytes, kMaxChunkBytes + 1),
                "chunk: field 'data': 1048577 bytes, over the limit");
  ExpectRefused(ChunkFrame(0, kMaxBlobBytes + 1, 1), "chunk: field 'total'");
  ExpectRefused(ChunkFrame(5, 10, 6), "chunk: field 'data': offset 5 + 6 bytes exceeds total 10");
  ExpectRefused(ChunkFrame(11, 10, 0), "exceeds total");
  ExpectRefused(ChunkFrame(~0ull, 10, 2), "exceeds total");  // offset + size overflows
  ExpectRefused(ChunkFrame(10, 10, 0), "chunk: field 'data': empty, but total is not 0");
  ExpectRefused(ChunkFrame(0, 10, 0), "empty, but total is not 0");
  ExpectAccepted(ChunkFrame(5, 10, 5));
  // A data length over what remains is a truncation, and nothing is allocated for it.
  Bytes frame = ChunkFrame(0, 10, 4);
  frame[2 + 32 + 16 + 3] = 9;
  ExpectRefused(frame, "chunk: field 'data': truncated");
}

// A frame of type t whose str16 field `field` holds `text` (unchecked); the other fields valid.
Bytes TextFrame(MsgType t, const std::string& field, ByteView text) {
  auto str = [&](Writer& w, const char* name) {
    ByteView v = field == name ? text : AsBytes("ok");
    w.U16(static_cast<uint16_t>(v.size()));
    w.Raw(v);
  };
  return Frame(t, [&](Writer& w) {
    if (t == MsgType::kHello) {
      w.U8(static_cast<uint8_t>(Role::kRecorder));
      str(w, "point");
      str(w, "software");
    } else if (t == MsgType::kSessionAck) {
      w.Raw(FixedSession());
      w.U8(static_cast<uint8_t>(AckResult::kRejected));
      for (int i = 0; i < 3; ++i) w.U64(1);
      str(w, "detail");
    } else if (t == MsgType::kUnavailable) {
      w.Raw(Filled(9));
      str(w, "reason");
    } else {  // kError
      w.U16(static_cast<uint16_t>(ErrorCode::kInternal));
      str(w, "message");
    }
  });
}

struct TextField {
  MsgType type;
  const char* field;
  size_t limit;
};
const TextField kTextFields[] = {
    {MsgType::kHello, "point", kMaxName},         {MsgType::kHello, "software", kMaxName},
    {MsgType::kSessionAck, "detail", kMaxText},   {MsgType::kUnavailable, "reason", kMaxText},
    {MsgType::kError, "message", kMaxText},
};

TEST(ProtocolTest, TextLimits) {
  for (const TextField& f : kTextFields) {
    std::string field = std::string("field '") + f.field + "'";
    ExpectAccepted(TextFrame(f.type, f.field, AsBytes("")));
    ExpectAccepted(TextFrame(f.type, f.field, AsBytes(std::string(f.limit, 'x'))));
    ExpectRefused(TextFrame(f.type, f.field, AsBytes(std::string(f.limit + 1, 'x'))),
                  std::string(MsgTypeName(f.type)) + ": " + field + ": " +
                      std::to_string(f.limit + 1) + " bytes, over the limit");
  }
}

TEST(ProtocolTest, InvalidUtf8IsRefused) {
  const std::string_view bad[] = {
      "\xFF",              // never valid
      "a\x80",             // stray continuation byte
      "\xC0\xAF",          // overlong '/'
      "\xE0\x80\xAF",      // overlong, 3 bytes
      "\xED\xA0\x80",      // surrogate U+D800
      "\xF4\x90\x80\x80",  // above U+10FFFF
      "ok\xE2\x82",        // cut sequence at the end
  };
  for (const TextField& f : kTextFields) {
    for (std::string_view s : bad) {
      ExpectRefused(TextFrame(f.type, f.field, AsBytes(s)),
                    std::string("field '") + f.field + "': invalid UTF-8");
    }
    // NUL, noncharacters and the highest code point are well-formed.
    constexpr std::string_view kGood("a\0\xEF\xBF\xBE\xF4\x8F\xBF\xBF", 9);
    ExpectAccepted(TextFrame(f.type, f.field, AsBytes(kGood)));
  }
}

TEST(ProtocolTest, EncodeSendsValidTextWithinLimits) {
  // Cut at the last whole code point that fits: "ã" is 2 bytes and would end at byte 257.
  Hello h{Role::kCentral, std::string(255, 'p') + "ã", "tcd\xFF" "0.4"};
  Result<Message> r = Decode(Encode(h));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(std::get<Hello>(*r).point, std::string(255, 'p'));
  EXPECT_EQ(std::get<Hello>(*r).software, "tcd\xEF\xBF\xBD" "0.4");  // U+FFFD
  Error e{ErrorCode::kInternal, std::string(100000, 'e')};
  r = Decode(Encode(e));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(std::get<Error>(*r).message, std::string(kMaxText, 'e'));
}

// Decode either refuses with Corruption or accepts bytes that are the canonical encoding.
void CheckDecode(const Bytes& frame, int* accepted) {
  Result<Message> r = Decode(frame);
  if (!r.ok()) {
    ASSERT_TRUE(r.status().IsCorruption()) << r.status().ToString();
    return;
  }
  ++*accepted;
  ASSERT_EQ(Encode(*r), frame) << ToHex(frame);
}

TEST(ProtocolTest, FuzzRandomAndMutatedFrames) {
  std::mt19937_64 rng(20240517);
  auto below = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  std::vector<Bytes> valid;
  for (const Sample& s : Samples()) valid.push_back(Encode(s.msg));
  valid.push_back(Encode(Chunk{Filled(0), 0, 0, {}}));
  valid.push_back(Encode(Hello{}));
  valid.push_back(Encode(Entries{FixedSession(), 0, {EntryWithSig{}}}));

  int accepted_random = 0, accepted_mutated = 0;
  for (int i = 0; i < 200000; ++i) {
    Bytes frame;
    if (i % 2 == 0) {
      // Random frame; mostly with a valid header so that the field decoders are reached.
      frame.resize(below(2) ? valid[below(valid.size())].size() : below(96));
      for (uint8_t& b : frame) b = static_cast<uint8_t>(rng());
      if (frame.size() >= 2 && below(8) != 0) {
        frame[0] = kProtocolVersion;
        frame[1] = static_cast<uint8_t>(1 + below(10));
      }
      ASSERT_NO_FATAL_FAILURE(CheckDecode(frame, &accepted_random));
      continue;
    }
    frame = valid[below(valid.size())];
    for (size_t k = 1 + below(3); k > 0; --k) {
      switch (below(5)) {
        case 0:  // flip bits of one byte
          if (!frame.empty()) frame[below(frame.size())] ^= static_cast<uint8_t>(1 + below(255));
          break;
        case 1:  // set one byte to a boundary value
          if (!frame.empty()) frame[below(frame.size())] = below(2) ? 0x00 : 0xFF;
          break;
        case 2:  // truncate
          frame.resize(below(frame.size() + 1));
          break;
        case 3:  // extend
          for (size_t n = 1 + below(8); n > 0; --n) frame.push_back(static_cast<uint8_t>(rng()));
          break;
        case 4:  // nudge the byte that is the low end of many length fields
          if (!frame.empty()) frame[below(frame.size())] += below(2) ? 1 : 0xFF;
          break;
      }
    }
    ASSERT_NO_FATAL_FAILURE(CheckDecode(frame, &accepted_mutated));
  }
  // The loops reach the accepting paths, not only the early refusals.
  EXPECT_GT(accepted_random, 100);
  EXPECT_GT(accepted_mutated, 1000);
}

}  // namespace
}  // namespace tcd::replicate
