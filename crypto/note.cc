#include "crypto/note.h"

#include <sodium.h>

#include <charconv>

#include "crypto/internal.h"

namespace tcd::crypto::note {
namespace {

constexpr std::string_view kDash = "\xe2\x80\x94 ";  // U+2014 EM DASH, then a space

std::string Base64(ByteView b) {
  std::string out(sodium_base64_encoded_len(b.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), b.data(), b.size(), sodium_base64_VARIANT_ORIGINAL);
  out.pop_back();  // the terminating NUL
  return out;
}

// Canonical standard base64 with padding only: decoding and encoding again gives `s` back.
bool FromBase64(std::string_view s, Bytes* out) {
  out->assign(s.size() / 4 * 3 + 3, 0);
  size_t n = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out->data(), out->size(), s.data(), s.size(), nullptr, &n, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != s.data() + s.size())
    return false;
  out->resize(n);
  return Base64(*out) == s;
}

bool Digits(std::string_view s, uint64_t* v) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && p == s.data() + s.size();
}

Hash256 Sha256(ByteView a, ByteView b = {}) {
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, a.data(), a.size());
  crypto_hash_sha256_update(&st, b.data(), b.size());
  Hash256 h;
  crypto_hash_sha256_final(&st, h.data());
  return h;
}

std::string CosignedMessage(std::string_view body, uint64_t timestamp) {
  return "cosignature/v1\ntime " + std::to_string(timestamp) + "\n" + std::string(body);
}

std::string Hex8(uint32_t id) {
  char buf[9];
  snprintf(buf, sizeof buf, "%08x", id);
  return buf;
}

// The signature by (name, key id of type/pk), if the note has one.
const Signature* Find(const Note& n, std::string_view name, uint8_t type, const PublicKey& pk) {
  const uint32_t id = KeyId(name, type, pk);
  for (const auto& s : n.sigs)
    if (s.name == name && s.key_id == id) return &s;
  return nullptr;
}

}  // namespace

std::string CheckpointBody(const Checkpoint& c) {
  return c.origin + "\n" + std::to_string(c.size) + "\n" + Base64(c.root) + "\n";
}

Result<Checkpoint> ParseCheckpoint(std::string_view body) {
  auto bad = [](const std::string& why) { return Status::Corruption("checkpoint: " + why); };
  std::vector<std::string_view> lines;
  while (!body.empty()) {
    const size_t nl = body.find('\n');
    if (nl == std::string_view::npos) return bad("the last line does not end with a newline");
    lines.push_back(body.substr(0, nl));
    body.remove_prefix(nl + 1);
  }
  if (lines.size() != 3)
    return bad(std::to_string(lines.size()) +
               " lines, expected 3 (origin, size, root hash; tcd writes no extension lines)");
  Checkpoint c;
  c.origin = std::string(lines[0]);
  if (!ValidKeyName(c.origin) || c.origin.size() > kMaxOrigin)
    return bad("origin line \"" + c.origin + "\" is empty, longer than " +
               std::to_string(kMaxOrigin) + " bytes, or has a space, '+' or a non-ASCII or "
               "control character");
  if (!Digits(lines[1], &c.size))
    return bad("size line \"" + std::string(lines[1]) +
               "\" is not a decimal number without leading zeros");
  Bytes root;
  if (!FromBase64(lines[2], &root) || root.size() != 32)
    return bad("root hash line \"" + std::string(lines[2]) +
               "\" is not the canonical base64 of 32 bytes");
  std::copy(root.begin(), root.end(), c.root.begin());
  return c;
}

uint32_t KeyId(std::string_view name, uint8_t type, const PublicKey& pk) {
  internal::MustInitCrypto();
  std::string prefix(name);
  prefix += '\n';
  prefix += static_cast<char>(type);
  const Hash256 h = Sha256(AsBytes(prefix), pk);
  return uint32_t{h[0]} << 24 | uint32_t{h[1]} << 16 | uint32_t{h[2]} << 8 | h[3];
}

std::string VerifierKey(std::string_view name, uint8_t type, const PublicKey& pk) {
  Bytes b{type};
  b.insert(b.end(), pk.begin(), pk.end());
  return std::string(name) + "+" + Hex8(KeyId(name, type, pk)) + "+" + Base64(b);
}

bool ValidKeyName(std::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name)
    if (c <= 0x20 || c >= 0x7f || c == '+') return false;
  return true;
}

std::string FormatNote(const Note& n) {
  std::string out = n.body + "\n";
  for (const auto& s : n.sigs) {
    Bytes b(4);
    for (int i = 0; i < 4; ++i) b[i] = static_cast<uint8_t>(s.key_id >> (24 - 8 * i));
    b.insert(b.end(), s.sig.begin(), s.sig.end());
    out += std::string(kDash) + s.name + " " + Base64(b) + "\n";
  }
  return out;
}

Result<Note> ParseNote(std::string_view text) {
  auto bad = [](const std::string& why) { return Status::Corruption("signed note: " + why); };
  if (!IsValidUtf8(AsBytes(text))) return bad("not valid UTF-8");
  for (unsigned char c : text)
    if (c < 0x20 && c != '\n') return bad("a control character other than newline");
  const size_t split = text.rfind("\n\n");
  if (split == std::string_view::npos) return bad("no blank line before the signatures");
  Note n;
  n.body = std::string(text.substr(0, split + 1));
  std::string_view rest = text.substr(split + 2);
  if (rest.empty()) return bad("no signature lines");
  for (int line = 1; !rest.empty(); ++line) {
    const std::string where = "signature line " + std::to_string(line);
    const size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) return bad(where + " does not end with a newline");
    std::string_view l = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
    if (l.substr(0, kDash.size()) != kDash) return bad(where + " does not start with \"— \"");
    l.remove_prefix(kDash.size());
    const size_t sp = l.find(' ');
    Signature s;
    s.name = std::string(l.substr(0, sp));
    if (sp == std::string_view::npos || !ValidKeyName(s.name))
      return bad(where + ": the key name is missing or not a valid name");
    Bytes b;
    if (!FromBase64(l.substr(sp + 1), &b) || b.size() < 5)
      return bad(where + " (" + s.name + "): the signature is not canonical base64 of a key id "
                 "and a signature");
    s.key_id = uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3];
    s.sig.assign(b.begin() + 4, b.end());
    n.sigs.push_back(std::move(s));
    if (n.sigs.size() > kMaxSignatures)
      return bad("more than " + std::to_string(kMaxSignatures) + " signatures");
  }
  return n;
}

Signature Sign(std::string_view body, std::string_view name, const SecretBytes& sign_sk) {
  internal::MustInitCrypto();
  if (sign_sk.size() != crypto_sign_SECRETKEYBYTES) std::abort();  // REQUIRES violated
  PublicKey pk;
  crypto_sign_ed25519_sk_to_pk(pk.data(), sign_sk.data());
  Signature s{std::string(name), KeyId(name, kTypeEd25519, pk), Bytes(64)};
  crypto_sign_detached(s.sig.data(), nullptr, reinterpret_cast<const uint8_t*>(body.data()),
                       body.size(), sign_sk.data());
  return s;
}

Signature Cosign(std::string_view body, std::string_view name, const SecretBytes& sign_sk,
                 uint64_t timestamp) {
  internal::MustInitCrypto();
  if (sign_sk.size() != crypto_sign_SECRETKEYBYTES) std::abort();  // REQUIRES violated
  PublicKey pk;
  crypto_sign_ed25519_sk_to_pk(pk.data(), sign_sk.data());
  Signature s{std::string(name), KeyId(name, kTypeCosignature, pk), {}};
  Writer(&s.sig).U64(timestamp);
  s.sig.resize(8 + 64);
  const std::string m = CosignedMessage(body, timestamp);
  crypto_sign_detached(s.sig.data() + 8, nullptr, reinterpret_cast<const uint8_t*>(m.data()),
                       m.size(), sign_sk.data());
  return s;
}

Status VerifySignature(const Note& n, std::string_view name, const PublicKey& pk) {
  internal::MustInitCrypto();
  const Signature* s = Find(n, name, kTypeEd25519, pk);
  if (s == nullptr) return Status::Corruption("no signature by " + std::string(name));
  if (s->sig.size() != 64 ||
      crypto_sign_verify_detached(s->sig.data(), reinterpret_cast<const uint8_t*>(n.body.data()),
                                  n.body.size(), pk.data()) != 0)
    return Status::Corruption("the signature by " + std::string(name) + " (key id " +
                              Hex8(s->key_id) + ") does not verify");
  return Status::OK();
}

Result<uint64_t> VerifyCosignature(const Note& n, std::string_view name, const PublicKey& pk) {
  internal::MustInitCrypto();
  const Signature* s = Find(n, name, kTypeCosignature, pk);
  if (s == nullptr) return Status::Corruption("no cosignature by " + std::string(name));
  uint64_t t = 0;
  Reader r(s->sig);
  const std::string m = s->sig.size() == 72 && r.U64(&t) ? CosignedMessage(n.body, t) : "";
  if (m.empty() || t > (uint64_t{1} << 63) - 1 ||
      crypto_sign_verify_detached(s->sig.data() + 8, reinterpret_cast<const uint8_t*>(m.data()),
                                  m.size(), pk.data()) != 0)
    return Status::Corruption("the cosignature by " + std::string(name) + " (key id " +
                              Hex8(s->key_id) + ") does not verify");
  return t;
}

}  // namespace tcd::crypto::note
