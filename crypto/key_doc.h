// Private to tcd_crypto: reading and writing the JSON key files of keys.h.
//
// Every error is an InvalidArgument "<source>: field '<name>': <problem>" (or "<source>: …" for
// whole-document problems) so an operator knows which file and which field to fix.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/keys.h"

namespace tcd::crypto::internal {

using Json = nlohmann::ordered_json;

// A new key file document: {"format": format, "version": 1}.
Json NewKeyDoc(std::string_view format);
// Two-space indented JSON text with one trailing newline.
std::string DumpKeyDoc(const Json& doc);

class KeyDoc {
 public:
  // Parses `text` and checks that it is an object with "format" == format and "version" == 1.
  static Result<KeyDoc> Parse(std::string_view text, const std::string& source,
                              std::string_view format);

  Status FieldError(std::string_view field, std::string_view problem) const;
  // Field names are "name" or "object.name" (one level of nesting).
  Result<std::string> String(std::string_view field) const;
  Result<uint64_t> Unsigned(std::string_view field) const;
  // A hex field of exactly n bytes.
  Result<Bytes> Hex(std::string_view field, size_t n) const;
  template <size_t N>
  Status Fixed(std::string_view field, std::array<uint8_t, N>* out) const {
    TCD_ASSIGN_OR_RETURN(Bytes b, Hex(field, N));
    std::copy(b.begin(), b.end(), out->begin());
    return Status::OK();
  }
  // Like Hex, into SecretBytes; the JSON string holding the secret is zeroed afterwards.
  Result<SecretBytes> Secret(std::string_view field, size_t n);
  bool Has(std::string_view field) const;
  const std::string& source() const { return source_; }

 private:
  KeyDoc(Json doc, std::string source) : doc_(std::move(doc)), source_(std::move(source)) {}
  // The JSON value at "a" or "a.b"; nullptr when absent.
  const Json* Find(std::string_view field) const;
  Result<const std::string*> StringRef(std::string_view field) const;
  Json doc_;
  std::string source_;
};

}  // namespace tcd::crypto::internal
