#include "node/toml_reader.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace tcd::node {
namespace {

std::string TypeName(const toml::node& n) {
  std::ostringstream os;
  os << n.type();
  return os.str();
}

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

Result<toml::table> TomlReader::Parse(std::string_view text) const {
  try {
    return toml::parse(text, file_);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(file_ + ": line " + std::to_string(e.source().begin.line) +
                                   ": " + std::string(e.description()));
  } catch (const std::exception& e) {  // bad_alloc…: no exception leaves the adapter
    return Status::InvalidArgument(file_ + ": " + e.what());
  }
}

Status TomlReader::Err(const std::string& path, const std::string& problem) const {
  return Status::InvalidArgument(file_ + ": " + path + ": " + problem);
}

std::string TomlReader::Join(const std::string& prefix, std::string_view key) {
  return prefix.empty() ? std::string(key) : prefix + "." + std::string(key);
}

Status TomlReader::CheckKeys(const toml::table& t, const std::string& prefix,
                             std::initializer_list<std::string_view> allowed) const {
  for (const auto& [key, value] : t) {
    if (std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end()) continue;
    std::string known;
    for (auto a : allowed) known += (known.empty() ? "" : ", ") + std::string(a);
    return Err(Join(prefix, key.str()), "unknown key (known here: " + known + ")");
  }
  return Status::OK();
}

Status TomlReader::GetString(const toml::table& t, const std::string& prefix, std::string_view key,
                             bool required, std::string* out) const {
  const toml::node* n = t.get(key);
  if (n == nullptr) return required ? Err(Join(prefix, key), "missing") : Status::OK();
  const auto* s = n->as_string();
  if (s == nullptr) return Err(Join(prefix, key), "must be a string (got " + TypeName(*n) + ")");
  if (required && s->get().empty()) return Err(Join(prefix, key), "must not be empty");
  *out = s->get();
  return Status::OK();
}

Status TomlReader::GetBool(const toml::table& t, const std::string& prefix, std::string_view key,
                           bool* out) const {
  const toml::node* n = t.get(key);
  if (n == nullptr) return Status::OK();
  if (!n->is_boolean())
    return Err(Join(prefix, key), "must be true or false (got " + TypeName(*n) + ")");
  *out = n->as_boolean()->get();
  return Status::OK();
}

Status TomlReader::GetDouble(const toml::table& t, const std::string& prefix, std::string_view key,
                             double lo, double hi, double* out) const {
  const toml::node* n = t.get(key);
  if (n == nullptr) return Status::OK();
  if (!n->is_number()) return Err(Join(prefix, key), "must be a number (got " + TypeName(*n) + ")");
  double v =
      n->is_integer() ? static_cast<double>(n->as_integer()->get()) : n->as_floating_point()->get();
  if (!(v >= lo && v <= hi))  // written this way to refuse NaN as well
    return Err(Join(prefix, key), "must be between " + Num(lo) + " and " + Num(hi));
  *out = v;
  return Status::OK();
}

Status TomlReader::GetUint(const toml::table& t, const std::string& prefix, std::string_view key,
                           uint64_t* out) const {
  const toml::node* n = t.get(key);
  if (n == nullptr) return Status::OK();
  if (!n->is_integer())
    return Err(Join(prefix, key), "must be a whole number (got " + TypeName(*n) + ")");
  int64_t v = n->as_integer()->get();
  if (v < 0) return Err(Join(prefix, key), "must not be negative");
  *out = static_cast<uint64_t>(v);
  return Status::OK();
}

Status TomlReader::GetStrings(const toml::node& n, const std::string& path, bool allow_single,
                              std::vector<std::string>* out) const {
  if (allow_single && n.is_string()) {
    out->push_back(n.as_string()->get());
    return Status::OK();
  }
  const auto* arr = n.as_array();
  if (arr == nullptr)
    return Err(path, std::string(allow_single ? "must be a string or " : "must be ") +
                         "an array of strings (got " + TypeName(n) + ")");
  for (size_t i = 0; i < arr->size(); ++i) {
    const auto* s = (*arr)[i].as_string();
    if (s == nullptr)
      return Err(path + "[" + std::to_string(i) + "]",
                 "must be a string (got " + TypeName((*arr)[i]) + ")");
    out->push_back(s->get());
  }
  return Status::OK();
}

Status TomlReader::GetMinuteOfDay(const toml::table& t, const std::string& prefix,
                                  std::string_view key, int* out) const {
  const toml::node* n = t.get(key);
  const std::string path = Join(prefix, key);
  if (n == nullptr) return Err(path, "missing");
  if (const auto* tm = n->as_time()) {  // unquoted TOML local time: 08:00:00
    if (tm->get().second != 0 || tm->get().nanosecond != 0)
      return Err(path, "must be a whole minute");
    *out = tm->get().hour * 60 + tm->get().minute;
    return Status::OK();
  }
  const auto* s = n->as_string();
  const std::string v = s != nullptr ? s->get() : std::string();
  auto digit = [&](size_t i) { return v[i] >= '0' && v[i] <= '9'; };
  if (v.size() != 5 || !digit(0) || !digit(1) || v[2] != ':' || !digit(3) || !digit(4))
    return Err(path, "must be a time \"HH:MM\" (got " +
                         (s != nullptr ? "'" + v + "'" : TypeName(*n)) + ")");
  int h = (v[0] - '0') * 10 + (v[1] - '0'), m = (v[3] - '0') * 10 + (v[4] - '0');
  if (m > 59 || h > 24 || (h == 24 && m != 0))
    return Err(path, "must be between 00:00 and 24:00 (got '" + v + "')");
  *out = h * 60 + m;
  return Status::OK();
}

Status TomlReader::GetTable(const toml::table& t, std::string_view key,
                            const toml::table** out) const {
  *out = nullptr;
  const toml::node* n = t.get(key);
  if (n == nullptr) return Status::OK();
  if (!n->is_table()) return Err(std::string(key), "must be a table ([" + std::string(key) + "])");
  *out = n->as_table();
  return Status::OK();
}

Status TomlReader::GetTables(const toml::table& t, std::string_view key,
                             const toml::array** out) const {
  *out = nullptr;
  const toml::node* n = t.get(key);
  if (n == nullptr) return Status::OK();
  if (!n->is_array_of_tables())
    return Err(std::string(key), "must be an array of tables ([[" + std::string(key) + "]])");
  *out = n->as_array();
  return Status::OK();
}

}  // namespace tcd::node
