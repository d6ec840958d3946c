#include "crypto/session_crypto.h"

#include <gtest/gtest.h>

namespace tcd::crypto {
namespace {

SessionId FixedSession() {
  SessionId s;
  for (int i = 0; i < 16; ++i) s[i] = static_cast<uint8_t>(i);
  return s;
}

Bytes Plain(size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 31 + 7);
  return b;
}

TEST(SessionIdTest, IsUuidV7AndRoundTrips) {
  SessionId a = NewSessionId();
  EXPECT_EQ(a[6] >> 4, 7);
  EXPECT_EQ(a[8] >> 6, 2);
  uint64_t ms = 0;
  for (int i = 0; i < 6; ++i) ms = ms << 8 | a[i];
  EXPECT_GT(ms, 1700000000000u);  // after Nov 2023
  std::string s = SessionIdToString(a);
  ASSERT_EQ(s.size(), 36u);
  EXPECT_EQ(s[8], '-');
  EXPECT_EQ(s[14], '7');
  EXPECT_EQ(*SessionIdFromString(s), a);
  std::string plain = s;
  std::erase(plain, '-');
  EXPECT_EQ(*SessionIdFromString(plain), a);
  EXPECT_NE(NewSessionId(), a);
}

TEST(SessionIdTest, CanonicalFormAndRejects) {
  EXPECT_EQ(SessionIdToString(FixedSession()), "00010203-0405-0607-0809-0a0b0c0d0e0f");
  EXPECT_EQ(*SessionIdFromString("00010203-0405-0607-0809-0A0B0C0D0E0F"), FixedSession());
  for (std::string_view bad : {"", "0001020304050607", "00010203-0405-0607-0809-0a0b0c0d0e0",
                               "0001020304-05-0607-0809-0a0b0c0d0e0f",
                               "0001020304050607080g0a0b0c0d0e0f"}) {
    auto r = SessionIdFromString(bad);
    EXPECT_TRUE(r.status().IsInvalidArgument()) << bad;
    EXPECT_NE(r.status().message().find("'" + std::string(bad) + "'"), std::string::npos);
  }
}

TEST(SessionKeyTest, SealedToRecipientOpensOnlyWithItsKey) {
  ArchiveKeyPair province = GenerateArchiveKey(), central = GenerateArchiveKey();
  SecretBytes key = NewSessionKey();
  ASSERT_EQ(key.size(), 32u);
  Bytes sealed = SealSessionKey(key, province.pub);
  EXPECT_EQ(sealed.size(), kSealedKeySize);
  auto opened = OpenSessionKey(sealed, province);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_TRUE(std::equal(key.data(), key.data() + 32, opened->data()));
  EXPECT_TRUE(OpenSessionKey(sealed, central).status().IsUnauthenticated());
  sealed[50] ^= 1;
  EXPECT_TRUE(OpenSessionKey(sealed, province).status().IsUnauthenticated());
  sealed.pop_back();
  EXPECT_TRUE(OpenSessionKey(sealed, province).status().IsCorruption());
}

TEST(BlobTest, RoundTripIncludingEmpty) {
  SecretBytes key = NewSessionKey();
  SessionId s = NewSessionId();
  for (size_t n : {0, 1, 1000, 70000}) {
    Bytes blob = EncryptBlob(key, s, 3, Plain(n));
    EXPECT_EQ(blob.size(), n + kBlobOverhead);
    EXPECT_EQ(AsChars(ByteView(blob).first(4)), "TCDB");
    auto back = DecryptBlob(key, s, 3, blob);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, Plain(n));
  }
  // Fresh nonce per blob: the same plaintext never encrypts to the same bytes.
  EXPECT_NE(EncryptBlob(key, s, 3, Plain(10)), EncryptBlob(key, s, 3, Plain(10)));
}

TEST(BlobTest, EveryFlippedByteFailsAuthentication) {
  SecretBytes key = NewSessionKey();
  SessionId s = NewSessionId();
  Bytes blob = EncryptBlob(key, s, 9, Plain(40));
  for (size_t i = 6; i < blob.size(); ++i) {  // nonce, ciphertext, tag
    Bytes bad = blob;
    bad[i] ^= 0x01;
    auto r = DecryptBlob(key, s, 9, bad);
    EXPECT_TRUE(r.status().IsUnauthenticated()) << "byte " << i;
  }
}

TEST(BlobTest, BoundToKeySessionAndSequence) {
  SecretBytes key = NewSessionKey();
  SessionId s = NewSessionId(), other = NewSessionId();
  Bytes blob = EncryptBlob(key, s, 9, Plain(100));
  EXPECT_TRUE(DecryptBlob(key, s, 10, blob).status().IsUnauthenticated());
  EXPECT_TRUE(DecryptBlob(key, s, 8, blob).status().IsUnauthenticated());
  EXPECT_TRUE(DecryptBlob(key, other, 9, blob).status().IsUnauthenticated());
  EXPECT_TRUE(DecryptBlob(NewSessionKey(), s, 9, blob).status().IsUnauthenticated());
  auto r = DecryptBlob(key, s, 10, blob);
  EXPECT_NE(r.status().message().find("authentication failed"), std::string::npos);
}

TEST(BlobTest, TruncationAndHeaderDamage) {
  SecretBytes key = NewSessionKey();
  SessionId s = NewSessionId();
  Bytes blob = EncryptBlob(key, s, 1, Plain(100));
  Bytes cut(blob.begin(), blob.end() - 1);
  EXPECT_TRUE(DecryptBlob(key, s, 1, cut).status().IsUnauthenticated());
  Bytes extra = blob;
  extra.push_back(0);
  EXPECT_TRUE(DecryptBlob(key, s, 1, extra).status().IsUnauthenticated());
  Bytes tiny(blob.begin(), blob.begin() + kBlobOverhead - 1);
  auto r = DecryptBlob(key, s, 1, tiny);
  EXPECT_TRUE(r.status().IsCorruption());
  EXPECT_NE(r.status().message().find("blob too short"), std::string::npos);
  Bytes magic = blob;
  magic[0] = 'X';
  EXPECT_NE(DecryptBlob(key, s, 1, magic).status().message().find("bad magic"),
            std::string::npos);
  Bytes version = blob;
  version[4] = 2;
  auto v = DecryptBlob(key, s, 1, version);
  EXPECT_TRUE(v.status().IsCorruption());
  EXPECT_NE(v.status().message().find("unknown version/alg"), std::string::npos);
  Bytes alg = blob;
  alg[5] = 2;
  EXPECT_TRUE(DecryptBlob(key, s, 1, alg).status().IsCorruption());
}

TEST(BlobTest, KnownAnswer) {
  // Produced independently (python: HChaCha20 + cryptography's ChaCha20Poly1305) from
  // key = 0x77×32, nonce = 80 81 … 97, session 00 01 … 0f, seq 7; see docs/FORMAT.md §Blobs.
  SecretBytes key(32);
  std::fill(key.data(), key.data() + 32, 0x77);
  Bytes blob = *FromHex(
      "544344420101808182838485868788898a8b8c8d8e8f9091929394959697c5f33590549d120972b1ade2"
      "b11a2cd173fab735ae2e6cf649edc6f4362f277fa0c9694d179aa82a750e");
  auto plain = DecryptBlob(key, FixedSession(), 7, blob);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(AsChars(*plain), "tcd known-answer plaintext");
}

}  // namespace
}  // namespace tcd::crypto
