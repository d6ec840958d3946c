#include "crypto/chain.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <functional>

namespace tcd::crypto {
namespace {

// The fixed entry of the known-answer vectors in docs/FORMAT.md §Chain entries.
ChainEntry FixedSegment() {
  ChainEntry e;
  e.kind = EntryKind::kSegment;
  for (int i = 0; i < 16; ++i) e.session[i] = static_cast<uint8_t>(i);
  e.seq = 7;
  e.start_us = 1700000000000000;
  e.duration_us = 2000000;
  e.cipher_hash.fill(0x11);
  e.plain_hash.fill(0x22);
  e.cipher_size = 1046;
  e.plain_size = 1000;
  e.prev_hash.fill(0x33);
  e.body = EncodeRunBody(2);
  return e;
}

OpenBody FixedOpenBody() {
  OpenBody b;
  b.signer_pk.fill(0x44);
  Recipient r;
  r.pk.fill(0x55);
  r.sealed_key.assign(kSealedKeySize, 0x66);
  b.recipients.push_back(r);
  b.meta = {{"place", "Xã Tân Phú"}, {"case", "KN-2024/17"}};
  return b;
}

bool SameEntry(const ChainEntry& a, const ChainEntry& b) { return EncodeEntry(a) == EncodeEntry(b); }

TEST(ChainTest, KnownAnswerEntry) {
  // Computed independently: python3 hashlib.blake2b(digest_size=32) over the bytes written by
  // hand from the documented layout (struct.pack(">BB16sQqq32s32sQQ32sI", …) + body).
  const char kEncoding[] =
      "0103000102030405060708090a0b0c0d0e0f000000000000000700060a24181e400000000000001e8480"
      "1111111111111111111111111111111111111111111111111111111111111111"
      "2222222222222222222222222222222222222222222222222222222222222222"
      "000000000000041600000000000003e8"
      "3333333333333333333333333333333333333333333333333333333333333333"
      "0000000400000002";
  Bytes enc = EncodeEntry(FixedSegment());
  EXPECT_EQ(enc.size(), kEntryHeaderSize + 4);
  EXPECT_EQ(ToHex(enc), kEncoding);
  EXPECT_EQ(ToHex(EntryHash(FixedSegment())),
            "a156254921c6c713d3f6a2c1c234659a30cec53bb431b561e110c0127edad60e");
}

TEST(ChainTest, KnownAnswerOpenEntry) {
  ChainEntry e;
  e.kind = EntryKind::kOpen;
  e.session = FixedSegment().session;
  e.start_us = 1700000000000000;
  e.body = EncodeOpenBody(FixedOpenBody());
  EXPECT_EQ(ToHex(EntryHash(e)),
            "1568f44d21e471335378685ad73357dac2db4c6960bc0dafe427892169d4b05c");
}

TEST(ChainTest, KnownAnswerHeadSignature) {
  // Ed25519 is deterministic: seed 0x42×32, verified with python's cryptography package.
  uint8_t seed[32];
  std::fill(seed, seed + 32, 0x42);
  PublicKey pk;
  SecretBytes sk(64);
  crypto_sign_seed_keypair(pk.data(), sk.data(), seed);
  EXPECT_EQ(ToHex(pk), "2152f8d19b791d24453242e15f2eab6cb7cffa7b6a5ed30097960e069881db12");
  ChainEntry e = FixedSegment();
  Hash256 h = EntryHash(e);
  EXPECT_EQ(ToHex(HeadMessage(e.session, e.seq, h)),
            "7463642f636861696e2d686561642f763100000102030405060708090a0b0c0d0e0f0000000000000007"
            "a156254921c6c713d3f6a2c1c234659a30cec53bb431b561e110c0127edad60e");
  Signature sig = SignHead(sk, e.session, e.seq, h);
  EXPECT_EQ(ToHex(sig),
            "0ba26f96a3bd1d5eb77dd669925189f3dd4a4f01b619d27b1f37213e8db9ebb5"
            "a01db0c0af9136a5ba6d79de3b33007324058f26cb07e93c560d6d1fa54a6504");
}

TEST(ChainTest, EncodeDecodeRoundTrip) {
  ChainEntry e = FixedSegment();
  e.start_us = -5;  // signed fields survive
  e.body = Bytes(70000, 0xab);
  auto back = DecodeEntry(EncodeEntry(e));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(SameEntry(*back, e));
  EXPECT_EQ(back->start_us, -5);
  EXPECT_EQ(back->kind, EntryKind::kSegment);
}

TEST(ChainTest, EntryHashCoversEveryField) {
  const Hash256 base = EntryHash(FixedSegment());
  std::vector<std::function<void(ChainEntry*)>> edits = {
      [](ChainEntry* e) { e->kind = EntryKind::kInit; },
      [](ChainEntry* e) { e->session[15] ^= 1; },
      [](ChainEntry* e) { e->seq++; },
      [](ChainEntry* e) { e->start_us++; },
      [](ChainEntry* e) { e->duration_us++; },
      [](ChainEntry* e) { e->cipher_hash[31] ^= 1; },
      [](ChainEntry* e) { e->plain_hash[0] ^= 1; },
      [](ChainEntry* e) { e->cipher_size++; },
      [](ChainEntry* e) { e->plain_size++; },
      [](ChainEntry* e) { e->prev_hash[5] ^= 1; },
      [](ChainEntry* e) { e->body[3] ^= 1; },
      [](ChainEntry* e) { e->body.push_back(0); },
  };
  for (size_t i = 0; i < edits.size(); ++i) {
    ChainEntry e = FixedSegment();
    edits[i](&e);
    EXPECT_NE(EntryHash(e), base) << "edit " << i;
  }
}

TEST(ChainTest, DecodeRejectsMalformed) {
  Bytes enc = EncodeEntry(FixedSegment());
  auto expect = [](ByteView b, const std::string& what) {
    auto r = DecodeEntry(b);
    EXPECT_TRUE(r.status().IsCorruption()) << what;
    EXPECT_NE(r.status().message().find(what), std::string::npos) << r.status().message();
  };
  Bytes trailing = enc;
  trailing.push_back(0);
  expect(trailing, "trailing");
  expect(ByteView(enc).first(enc.size() - 1), "body_len");
  expect(ByteView(enc).first(10), "session_id");
  expect(ByteView(enc).first(20), "seq");
  expect(ByteView(enc).first(0), "version");
  expect(ByteView(enc).first(kEntryHeaderSize - 1), "body_len");
  Bytes version = enc;
  version[0] = 2;
  expect(version, "version");
  for (uint8_t kind : {0, 8, 255}) {
    Bytes k = enc;
    k[1] = kind;
    expect(k, "kind");
  }
  Bytes huge = enc;
  huge[kEntryHeaderSize - 4] = 0xff;
  expect(huge, "body_len");
  for (size_t n = 0; n < enc.size(); ++n) EXPECT_FALSE(DecodeEntry(ByteView(enc).first(n)).ok());
}

TEST(ChainTest, SignAndVerifyHead) {
  NodeIdentity id = GenerateNodeIdentity(), other = GenerateNodeIdentity();
  ChainEntry e = FixedSegment();
  Hash256 h = EntryHash(e);
  Signature sig = SignHead(id.sign_sk, e.session, e.seq, h);
  EXPECT_TRUE(VerifyHead(id.pub.sign_pk, e.session, e.seq, h, sig));
  EXPECT_FALSE(VerifyHead(other.pub.sign_pk, e.session, e.seq, h, sig));
  EXPECT_FALSE(VerifyHead(id.pub.sign_pk, e.session, e.seq + 1, h, sig));
  SessionId s2 = e.session;
  s2[0] ^= 1;
  EXPECT_FALSE(VerifyHead(id.pub.sign_pk, s2, e.seq, h, sig));
  Hash256 h2 = h;
  h2[0] ^= 1;
  EXPECT_FALSE(VerifyHead(id.pub.sign_pk, e.session, e.seq, h2, sig));
  for (size_t i : {0, 31, 32, 63}) {
    Signature bad = sig;
    bad[i] ^= 0x80;
    EXPECT_FALSE(VerifyHead(id.pub.sign_pk, e.session, e.seq, h, bad)) << i;
  }
}

TEST(ChainBodiesTest, OpenBodyRoundTripAndRejects) {
  OpenBody b = FixedOpenBody();
  Bytes enc = EncodeOpenBody(b);
  auto back = DecodeOpenBody(enc);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->signer_pk, b.signer_pk);
  ASSERT_EQ(back->recipients.size(), 1u);
  EXPECT_EQ(back->recipients[0].pk, b.recipients[0].pk);
  EXPECT_EQ(back->recipients[0].sealed_key, b.recipients[0].sealed_key);
  EXPECT_EQ(back->meta, b.meta);
  for (size_t n = 0; n < enc.size(); ++n) {
    EXPECT_TRUE(DecodeOpenBody(ByteView(enc).first(n)).status().IsCorruption()) << n;
  }
  Bytes trailing = enc;
  trailing.push_back(1);
  EXPECT_NE(DecodeOpenBody(trailing).status().message().find("trailing"), std::string::npos);
  Bytes version = enc;
  version[0] = 9;
  EXPECT_TRUE(DecodeOpenBody(version).status().IsCorruption());
}

TEST(ChainBodiesTest, MetaBodyKeepsOrderAndRepeats) {
  Metadata meta = {{"a", "1"}, {"b", ""}, {"a", std::string("\0x", 2)}};
  Bytes enc;
  EncodeMeta(meta, &enc);
  auto back = DecodeMetaBody(enc);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, meta);
  Bytes empty;
  EncodeMeta({}, &empty);
  EXPECT_EQ(ToHex(empty), "00000000");
  enc.push_back(0);
  EXPECT_TRUE(DecodeMetaBody(enc).status().IsCorruption());
  EXPECT_TRUE(DecodeMetaBody(*FromHex("00000005")).status().IsCorruption());
}

TEST(ChainBodiesTest, SealBody) {
  SealBody b{SealReason::kDurationReached, 42, 84000000};
  Bytes enc = EncodeSealBody(b);
  EXPECT_EQ(ToHex(enc), "0102000000000000002a000000000501bd00");
  auto back = DecodeSealBody(enc);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->reason, SealReason::kDurationReached);
  EXPECT_EQ(back->segments, 42u);
  EXPECT_EQ(back->media_duration_us, 84000000);
  for (uint8_t reason : {0, 6}) {
    Bytes bad = enc;
    bad[1] = reason;
    auto r = DecodeSealBody(bad);
    EXPECT_TRUE(r.status().IsCorruption());
    EXPECT_NE(r.status().message().find("reason"), std::string::npos);
  }
  EXPECT_TRUE(DecodeSealBody(ByteView(enc).first(enc.size() - 1)).status().IsCorruption());
  enc.push_back(0);
  EXPECT_TRUE(DecodeSealBody(enc).status().IsCorruption());
}

TEST(ChainBodiesTest, RunBody) {
  EXPECT_EQ(ToHex(EncodeRunBody(0x01020304)), "01020304");
  EXPECT_EQ(*DecodeRunBody(EncodeRunBody(77)), 77u);
  EXPECT_TRUE(DecodeRunBody(*FromHex("000000")).status().IsCorruption());
  EXPECT_TRUE(DecodeRunBody(*FromHex("0000000000")).status().IsCorruption());
}

TEST(ChainTest, Names) {
  EXPECT_STREQ(EntryKindName(EntryKind::kRecoveryClose), "recovery-close");
  EXPECT_STREQ(EntryKindName(EntryKind::kOpen), "open");
  EXPECT_STREQ(SealReasonName(SealReason::kDurationReached), "duration-reached");
  EXPECT_STREQ(SealReasonName(SealReason::kDiskFull), "disk-full");
}

}  // namespace
}  // namespace tcd::crypto
