#include "crypto/key_doc.h"

#include <sodium.h>

#include "crypto/internal.h"

namespace tcd::crypto::internal {

constexpr int kKeyFileVersion = 1;

Json NewKeyDoc(std::string_view format) {
  Json doc = Json::object();
  doc["format"] = std::string(format);
  doc["version"] = kKeyFileVersion;
  return doc;
}

std::string DumpKeyDoc(const Json& doc) { return doc.dump(2) + "\n"; }

Result<KeyDoc> KeyDoc::Parse(std::string_view text, const std::string& source,
                             std::string_view format) {
  Json doc;
  try {
    doc = Json::parse(text);
  } catch (const Json::parse_error& e) {
    return Status::InvalidArgument(source + ": not valid JSON (at byte " +
                                   std::to_string(e.byte) + ")");
  }
  if (!doc.is_object()) return Status::InvalidArgument(source + ": not a JSON object");
  KeyDoc kd(std::move(doc), source);
  TCD_ASSIGN_OR_RETURN(std::string got, kd.String("format"));
  if (got != format) {
    return kd.FieldError("format", "expected \"" + std::string(format) + "\", got \"" + got +
                                       "\" (is this the right file?)");
  }
  TCD_ASSIGN_OR_RETURN(uint64_t version, kd.Unsigned("version"));
  if (version != kKeyFileVersion) {
    return kd.FieldError("version", "unsupported version " + std::to_string(version) +
                                        " (this build reads version 1)");
  }
  return kd;
}

Status KeyDoc::FieldError(std::string_view field, std::string_view problem) const {
  return Status::InvalidArgument(source_ + ": field '" + std::string(field) + "': " +
                                 std::string(problem));
}

const Json* KeyDoc::Find(std::string_view field) const {
  const Json* obj = &doc_;
  size_t dot = field.find('.');
  if (dot != std::string_view::npos) {
    auto it = doc_.find(std::string(field.substr(0, dot)));
    if (it == doc_.end() || !it->is_object()) return nullptr;
    obj = &*it;
    field = field.substr(dot + 1);
  }
  auto it = obj->find(std::string(field));
  return it == obj->end() ? nullptr : &*it;
}

bool KeyDoc::Has(std::string_view field) const { return Find(field) != nullptr; }

Result<const std::string*> KeyDoc::StringRef(std::string_view field) const {
  const Json* v = Find(field);
  if (v == nullptr) return FieldError(field, "missing");
  if (!v->is_string()) return FieldError(field, "expected a string");
  return &v->get_ref<const std::string&>();
}

Result<std::string> KeyDoc::String(std::string_view field) const {
  TCD_ASSIGN_OR_RETURN(const std::string* s, StringRef(field));
  return *s;
}

Result<uint64_t> KeyDoc::Unsigned(std::string_view field) const {
  const Json* v = Find(field);
  if (v == nullptr) return FieldError(field, "missing");
  if (!v->is_number_unsigned()) return FieldError(field, "expected a non-negative integer");
  return v->get<uint64_t>();
}

Result<Bytes> KeyDoc::Hex(std::string_view field, size_t n) const {
  TCD_ASSIGN_OR_RETURN(const std::string* s, StringRef(field));
  std::optional<Bytes> b;
  if (s->size() == 2 * n) b = FromHex(*s);
  if (!b) return FieldError(field, "expected " + std::to_string(2 * n) + " hex chars");
  return std::move(*b);
}

Result<SecretBytes> KeyDoc::Secret(std::string_view field, size_t n) {
  TCD_ASSIGN_OR_RETURN(Bytes b, Hex(field, n));
  TCD_ASSIGN_OR_RETURN(const std::string* s, StringRef(field));
  std::string& text = const_cast<std::string&>(*s);  // owned by doc_, which is ours
  sodium_memzero(text.data(), text.size());
  return TakeSecret(&b);
}

}  // namespace tcd::crypto::internal
