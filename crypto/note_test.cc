#include "crypto/note.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include "crypto/merkle.h"

namespace tcd::crypto::note {
namespace {

// golang.org/x/mod/sumdb/note's example key and note (note_test.go), reproduced by every
// signed-note implementation: the key "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALV…" holds
// base64(0x01 || Ed25519 seed).
constexpr uint8_t kSeed[32] = {0x81, 0x0a, 0x14, 0x02, 0xd5, 0x14, 0x6c, 0x8d, 0x84, 0xf2, 0x44,
                               0x33, 0x30, 0xf5, 0x40, 0x80, 0xeb, 0xf9, 0x8e, 0xe1, 0x7d, 0x9c,
                               0x74, 0xf6, 0x25, 0x2f, 0xc5, 0xd5, 0xc7, 0x28, 0x31, 0x73};
constexpr char kText[] =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr char kPeterSig[] =
    "\xe2\x80\x94 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
// C2SP tlog-cosignature's example checkpoint, cosigned at its example time 1679315147 by the
// same key as "witness.example.com/w1"; the line was computed independently with Python's
// hashlib and the `cryptography` package's Ed25519.
constexpr char kSofa[] =
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
constexpr char kWitnessSig[] =
    "\xe2\x80\x94 witness.example.com/w1 1GorGwAAAABkGFDLJeR//pqzhnEKVvEm2wWbh2RJ6oru5+cUUfm5X9Nn"
    "laGr8aSH9QE5RVZD4QGlxl2F5UpVIIi94p178KLfqPPsAA==\n";

struct Peter {
  PublicKey pk{};
  SecretBytes sk{64};
  Peter() {
    EXPECT_TRUE(InitCrypto().ok());
    crypto_sign_seed_keypair(pk.data(), sk.data(), kSeed);
  }
};

TEST(NoteTest, ReproducesTheGoReferenceNoteAndKey) {
  Peter p;
  EXPECT_EQ(VerifierKey("PeterNeumann", kTypeEd25519, p.pk),
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
  EXPECT_EQ(KeyId("PeterNeumann", kTypeEd25519, p.pk), 0xc74f20a3u);
  const Note n{kText, {Sign(kText, "PeterNeumann", p.sk)}};
  EXPECT_EQ(FormatNote(n), std::string(kText) + "\n" + kPeterSig);

  auto parsed = ParseNote(std::string(kText) + "\n" + kPeterSig);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed.value().body, kText);
  EXPECT_TRUE(VerifySignature(parsed.value(), "PeterNeumann", p.pk).ok());

  Note changed = parsed.value();
  changed.body[3] ^= 1;
  EXPECT_NE(VerifySignature(changed, "PeterNeumann", p.pk).ToString().find("does not verify"),
            std::string::npos);
  EXPECT_NE(VerifySignature(parsed.value(), "PaulNeumann", p.pk).ToString().find(
                "no signature by PaulNeumann"),
            std::string::npos);
}

TEST(NoteTest, CosignsAsTlogCosignatureSpecifies) {
  Peter p;
  const Signature c = Cosign(kSofa, "witness.example.com/w1", p.sk, 1679315147);
  EXPECT_EQ(c.key_id, 0xd46a2b1bu);  // SHA-256(name || "\n" || 0x04 || pk)[:4]
  EXPECT_EQ(FormatNote({kSofa, {c}}), std::string(kSofa) + "\n" + kWitnessSig);

  auto n = ParseNote(std::string(kSofa) + "\n" + kWitnessSig);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  auto t = VerifyCosignature(n.value(), "witness.example.com/w1", p.pk);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t.value(), 1679315147u);
  // A cosignature is not a log signature, and the reverse: the key ids differ by type.
  EXPECT_FALSE(VerifySignature(n.value(), "witness.example.com/w1", p.pk).ok());

  // Any changed byte of the signature (time included) or of the body fails.
  for (size_t i = 0; i < c.sig.size(); ++i) {
    Note m = n.value();
    m.sigs[0].sig[i] ^= 0x20;
    EXPECT_FALSE(VerifyCosignature(m, "witness.example.com/w1", p.pk).ok()) << "byte " << i;
  }
  Note m = n.value();
  m.body.back() = 'x';
  EXPECT_FALSE(VerifyCosignature(m, "witness.example.com/w1", p.pk).ok());
}

TEST(NoteTest, CheckpointsRoundTripAndRefuseEveryOtherForm) {
  Checkpoint c{"tcd-archive/0123456789abcdef", 20852163, merkle::EmptyRoot()};
  const std::string body = CheckpointBody(c);
  EXPECT_EQ(body,
            "tcd-archive/0123456789abcdef\n20852163\n"
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n");
  auto back = ParseCheckpoint(body);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back.value().origin, c.origin);
  EXPECT_EQ(back.value().size, c.size);
  EXPECT_EQ(back.value().root, c.root);
  ASSERT_TRUE(ParseCheckpoint(kSofa).ok());

  const std::pair<std::string, std::string> bad[] = {
      {"o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "newline"},
      {"o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next\n", "4 lines"},
      {"o\n01\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", "size line"},
      {"o\n-1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", "size line"},
      {"o\n18446744073709551616\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", "size line"},
      {"o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=\n", "root hash line"},
      {"o\n1\n47DEQpj8HBSa-_TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", "root hash line"},
      {"o\n1\nAAAA\n", "root hash line"},
      {"a b\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", "origin line"},
      {std::string(256, 'o') + "\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
       "longer than 255"},
      {"\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", "origin line"},
  };
  for (const auto& [text, why] : bad) {
    auto r = ParseCheckpoint(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.status().ToString().find(why), std::string::npos) << r.status().ToString();
  }
}

TEST(NoteTest, RefusesMalformedNotesNamingTheLine) {
  const std::string good = std::string(kText) + "\n" + kPeterSig;
  ASSERT_TRUE(ParseNote(good).ok());
  const std::pair<std::string, std::string> bad[] = {
      {kText, "no blank line"},
      {std::string(kText) + "\n", "no signature lines"},
      {good.substr(0, good.size() - 1), "signature line 1 does not end"},
      {good + "- PeterNeumann AAAAAAAA\n", "signature line 2 does not start"},
      {good + "\xe2\x80\x94 PeterNeumann AAAA\n", "signature line 2 (PeterNeumann)"},
      {good + "\xe2\x80\x94 Peter+Neumann AAAAAAAA\n", "signature line 2: the key name"},
      {good + "\xe2\x80\x94 PeterNeumann AAAAAAB=\n", "signature line 2 (PeterNeumann)"},
      {"a\tb\n\n" + std::string(kPeterSig), "control character"},
      {"a\xff\n\n" + std::string(kPeterSig), "UTF-8"},
  };
  for (const auto& [text, why] : bad) {
    auto r = ParseNote(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.status().ToString().find(why), std::string::npos) << r.status().ToString();
  }
  std::string many = std::string(kText) + "\n";
  for (int i = 0; i <= 100; ++i) many += kPeterSig;
  EXPECT_FALSE(ParseNote(many).ok());
}

}  // namespace
}  // namespace tcd::crypto::note
