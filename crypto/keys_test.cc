#include "crypto/keys.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <nlohmann/json.hpp>

#include "crypto/hash.h"

namespace tcd::crypto {
namespace {

using nlohmann::json;

// Fast Argon2id for every test that does not ask for the default explicitly.
class KeysTest : public ::testing::Test {
 protected:
  void SetUp() override { setenv("TCD_PWHASH_INTERACTIVE", "1", 1); }
};

std::string Edit(const std::string& text, const std::string& field, const json& value) {
  json doc = json::parse(text);
  doc[field] = value;
  return doc.dump();
}

TEST(HashTest, KnownAnswers) {
  // BLAKE2b-256("") and BLAKE2b-256("abc") (RFC 7693 family; python hashlib.blake2b(digest_size=32)).
  EXPECT_EQ(ToHex(Blake2b256({})),
            "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
  EXPECT_EQ(ToHex(Blake2b256(AsBytes("abc"))),
            "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
}

TEST(HashTest, IncrementalEqualsOneShotAndDomainIsSeparated) {
  Hasher h;
  h.Update(AsBytes("tcd/x"));
  h.Update(AsBytes(std::string_view("\0", 1)));
  h.Update(AsBytes("data"));
  EXPECT_EQ(h.Final(), DomainHash("tcd/x", AsBytes("data")));
  EXPECT_NE(DomainHash("tcd/x", AsBytes("data")), DomainHash("tcd/xd", AsBytes("ata")));
}

TEST(KeyIdTest, KnownAnswer) {
  PublicKey pk;
  for (int i = 0; i < 32; ++i) pk[i] = static_cast<uint8_t>(i);
  // python3: hashlib.blake2b(b"tcd/key-id/v1\0" + bytes(range(32)), digest_size=32).hexdigest()[:16]
  EXPECT_EQ(KeyId(pk), "8db6d7c104746dea");
}

TEST(SecretBytesTest, MoveLeavesSourceEmpty) {
  SecretBytes a(32);
  a.data()[0] = 7;
  SecretBytes b(std::move(a));
  EXPECT_EQ(a.size(), 0u);  // NOLINT(bugprone-use-after-move): the contract under test
  ASSERT_EQ(b.size(), 32u);
  EXPECT_EQ(b.data()[0], 7);
  SecretBytes c(4);
  c = std::move(b);
  EXPECT_EQ(b.size(), 0u);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(c.size(), 32u);
}

TEST_F(KeysTest, NodeKeyRoundTrip) {
  NodeIdentity id = GenerateNodeIdentity();
  std::string text = EncodeNodeKey(id);
  EXPECT_EQ(text.back(), '\n');
  auto back = DecodeNodeKey(text, "node.key");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->pub.sign_pk, id.pub.sign_pk);
  EXPECT_EQ(back->pub.transport_pk, id.pub.transport_pk);
  EXPECT_TRUE(std::equal(id.sign_sk.data(), id.sign_sk.data() + 64, back->sign_sk.data()));
  EXPECT_EQ(back->transport_sk.size(), 32u);

  auto pub = DecodeNodePub(EncodeNodePub(id.pub), "node.pub");
  ASSERT_TRUE(pub.ok()) << pub.status().ToString();
  EXPECT_EQ(pub->sign_pk, id.pub.sign_pk);
  EXPECT_EQ(json::parse(EncodeNodePub(id.pub))["key_id"], KeyId(id.pub.sign_pk));
}

TEST_F(KeysTest, NodeKeyWithMismatchedPublicKeysIsCorruption) {
  NodeIdentity a = GenerateNodeIdentity(), b = GenerateNodeIdentity();
  std::string text = EncodeNodeKey(a);
  auto s1 = DecodeNodeKey(Edit(text, "sign_public", ToHex(b.pub.sign_pk)), "node.key");
  EXPECT_TRUE(s1.status().IsCorruption()) << s1.status().ToString();
  EXPECT_NE(s1.status().message().find("sign_public"), std::string::npos);
  auto s2 = DecodeNodeKey(Edit(text, "transport_public", ToHex(b.pub.transport_pk)), "node.key");
  EXPECT_TRUE(s2.status().IsCorruption()) << s2.status().ToString();
}

TEST_F(KeysTest, PubFileWithWrongKeyIdIsCorruption) {
  ArchiveKeyPair k = GenerateArchiveKey();
  auto r = DecodeArchivePub(Edit(EncodeArchivePub(k.pub), "key_id", "0000000000000000"),
                            "archive.pub");
  EXPECT_TRUE(r.status().IsCorruption()) << r.status().ToString();
}

TEST_F(KeysTest, ArchiveKeyUnprotectedRoundTrip) {
  ArchiveKeyPair k = GenerateArchiveKey();
  auto text = EncodeArchiveKey(k, std::nullopt);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(json::parse(*text)["protection"], "none");
  auto back = DecodeArchiveKey(*text, "archive.key", std::nullopt);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->pub.box_pk, k.pub.box_pk);
  EXPECT_TRUE(std::equal(k.box_sk.data(), k.box_sk.data() + 32, back->box_sk.data()));
  auto pub = DecodeArchivePub(EncodeArchivePub(k.pub), "archive.pub");
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(pub->box_pk, k.pub.box_pk);
}

TEST_F(KeysTest, ArchiveKeyPassphrase) {
  ArchiveKeyPair k = GenerateArchiveKey();
  auto text = EncodeArchiveKey(k, std::string("correct horse"));
  ASSERT_TRUE(text.ok());
  json doc = json::parse(*text);
  EXPECT_FALSE(doc.contains("box_secret"));
  EXPECT_EQ(doc["kdf"]["opslimit"], 2);  // INTERACTIVE, from the environment
  EXPECT_EQ(doc["box_secret_sealed"].get<std::string>().size(), 96u);

  auto wrong = DecodeArchiveKey(*text, "archive.key", std::string("incorrect horse"));
  EXPECT_TRUE(wrong.status().IsUnauthenticated()) << wrong.status().ToString();
  EXPECT_EQ(wrong.status().message(), "archive.key: wrong passphrase");

  auto none = DecodeArchiveKey(*text, "archive.key", std::nullopt);
  EXPECT_TRUE(none.status().IsInvalidArgument());
  EXPECT_NE(none.status().message().find("passphrase-protected"), std::string::npos);

  auto right = DecodeArchiveKey(*text, "archive.key", std::string("correct horse"));
  ASSERT_TRUE(right.ok()) << right.status().ToString();
  EXPECT_TRUE(std::equal(k.box_sk.data(), k.box_sk.data() + 32, right->box_sk.data()));

  // The sealed secret is bound to box_public: swapping in another public key fails.
  ArchiveKeyPair other = GenerateArchiveKey();
  auto swapped = DecodeArchiveKey(Edit(*text, "box_public", ToHex(other.pub.box_pk)),
                                  "archive.key", std::string("correct horse"));
  EXPECT_TRUE(swapped.status().IsUnauthenticated());
}

TEST(KeysDefaultTest, ArchiveKeyUsesModerateLimitsByDefault) {
  unsetenv("TCD_PWHASH_INTERACTIVE");
  auto text = EncodeArchiveKey(GenerateArchiveKey(), std::string("pw"));
  ASSERT_TRUE(text.ok());
  json doc = json::parse(*text);
  EXPECT_EQ(doc["kdf"]["opslimit"], 3);
  EXPECT_EQ(doc["kdf"]["memlimit"], 268435456);
  EXPECT_EQ(doc["protection"], "argon2id13+xchacha20poly1305");
}

TEST_F(KeysTest, MalformedFilesNameTheField) {
  ArchiveKeyPair k = GenerateArchiveKey();
  std::string text = *EncodeArchiveKey(k, std::nullopt);
  struct Case {
    std::string text, expect;
  } cases[] = {
      {Edit(text, "box_secret", "abcd"), "archive.key: field 'box_secret': expected 64 hex chars"},
      {Edit(text, "box_secret", std::string(64, 'g')),
       "archive.key: field 'box_secret': expected 64 hex chars"},
      {Edit(text, "box_public", 5), "archive.key: field 'box_public': expected a string"},
      {Edit(text, "format", "tcd-archive-pub"), "archive.key: field 'format'"},
      {Edit(text, "version", 2), "archive.key: field 'version': unsupported version 2"},
      {Edit(text, "protection", "rot13"), "archive.key: field 'protection'"},
      {"{\"format\": ", "archive.key: not valid JSON"},
      {"[1, 2]", "archive.key: not a JSON object"},
  };
  for (const Case& c : cases) {
    auto r = DecodeArchiveKey(c.text, "archive.key", std::nullopt);
    EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status().ToString();
    EXPECT_EQ(r.status().message().rfind(c.expect, 0), 0u) << r.status().message();
  }
  json doc = json::parse(text);
  doc.erase("box_secret");
  auto missing = DecodeArchiveKey(doc.dump(), "archive.key", std::nullopt);
  EXPECT_EQ(missing.status().message(), "archive.key: field 'box_secret': missing");
}

TEST_F(KeysTest, ProtectedKeyWithAbsurdKdfLimitsIsRejected) {
  std::string text = *EncodeArchiveKey(GenerateArchiveKey(), std::string("pw"));
  json doc = json::parse(text);
  doc["kdf"]["memlimit"] = uint64_t{1} << 40;
  auto r = DecodeArchiveKey(doc.dump(), "archive.key", std::string("pw"));
  EXPECT_TRUE(r.status().IsInvalidArgument());
  EXPECT_NE(r.status().message().find("field 'kdf.memlimit'"), std::string::npos);
}

TEST_F(KeysTest, WrongFileKindIsRejected) {
  NodeIdentity id = GenerateNodeIdentity();
  auto r = DecodeArchivePub(EncodeNodePub(id.pub), "archive.pub");
  EXPECT_TRUE(r.status().IsInvalidArgument());
  auto r2 = DecodeNodeKey(EncodeNodePub(id.pub), "node.key");
  EXPECT_NE(r2.status().message().find("field 'format'"), std::string::npos);
}


// Golden files (docs/FORMAT.md §Keys): the format must keep reading what earlier builds wrote.
// Public keys and key ids were checked independently (python cryptography X25519/Ed25519,
// hashlib.blake2b).
constexpr char kGoldenArchiveKey[] = R"({
  "format": "tcd-archive-key",
  "version": 1,
  "box_public": "d89e3bad79437dbed9f843418304f460ff05c7fe81fe4a9577a804cb9367ff66",
  "protection": "argon2id13+xchacha20poly1305",
  "kdf": {
    "opslimit": 2,
    "memlimit": 67108864,
    "salt": "bc361254efde42a58928866342d0cff9"
  },
  "nonce": "1f8dd6b397b71a88a01a4f3bb7d641483a80481f3c89f446",
  "box_secret_sealed": "4c5b9a369c705a0a095f8a538112e853b9b15efc380243d950123bee59c77c4e0693ca1045433ebaa717db75b0fd52ed"
}
)";
constexpr char kGoldenNodeKey[] = R"({
  "format": "tcd-node-key",
  "version": 1,
  "sign_public": "2152f8d19b791d24453242e15f2eab6cb7cffa7b6a5ed30097960e069881db12",
  "sign_secret": "42424242424242424242424242424242424242424242424242424242424242422152f8d19b791d24453242e15f2eab6cb7cffa7b6a5ed30097960e069881db12",
  "transport_public": "358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd166254",
  "transport_secret": "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
}
)";

TEST(GoldenKeyFileTest, ProtectedArchiveKey) {
  auto k = DecodeArchiveKey(kGoldenArchiveKey, "archive.key", std::string("tcd test passphrase"));
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(ToHex(ByteView(k->box_sk.data(), k->box_sk.size())),
            "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f");
  EXPECT_EQ(KeyId(k->pub.box_pk), "2ad1739bdfd06418");
  EXPECT_TRUE(DecodeArchiveKey(kGoldenArchiveKey, "archive.key", std::string("tcd test"))
                  .status()
                  .IsUnauthenticated());
}

TEST(GoldenKeyFileTest, NodeKey) {
  auto id = DecodeNodeKey(kGoldenNodeKey, "node.key");
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(KeyId(id->pub.sign_pk), "9cbbd9f0c2ec30a9");
  EXPECT_EQ(EncodeNodeKey(*id), kGoldenNodeKey);
}

}  // namespace
}  // namespace tcd::crypto
