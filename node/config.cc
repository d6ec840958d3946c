#include "node/config.h"

#include <algorithm>
#include <filesystem>


#include "base/env.h"
#include "node/toml_reader.h"

namespace tcd::node {
namespace {

// The schema of the node config, on top of TomlReader's typed, path-naming accessors.
class ConfigParser {
 public:
  explicit ConfigParser(const TomlReader& r) : r_(r) {}
  Status Parse(const toml::table& root, NodeConfig* c) const;

 private:
  Status Top(const toml::table& t, NodeConfig* c) const;
  Status Limits(const toml::table& t, NodeConfig* c) const;
  Status Source(const toml::table& t, const std::string& prefix, SourceConfig* s) const;
  Status Meta(const toml::table& t, const std::string& prefix, crypto::Metadata* meta) const;
  Status Schedule(const toml::table& t, const std::string& prefix, ScheduleWindow* w,
                  bool with_mbit = false) const;
  Status Replication(const toml::table& t, NodeConfig* c) const;

  const TomlReader& r_;
};

Status ConfigParser::Parse(const toml::table& root, NodeConfig* c) const {
  TCD_RETURN_IF_ERROR(Top(root, c));
  TCD_RETURN_IF_ERROR(Limits(root, c));
  TCD_RETURN_IF_ERROR(Replication(root, c));
  const toml::array* sources;
  TCD_RETURN_IF_ERROR(r_.GetTables(root, "source", &sources));
  for (size_t i = 0; sources != nullptr && i < sources->size(); ++i) {
    const std::string prefix = "source[" + std::to_string(i) + "]";
    SourceConfig s;
    TCD_RETURN_IF_ERROR(Source(*(*sources)[i].as_table(), prefix, &s));
    for (const auto& other : c->sources)
      if (other.name == s.name)
        return r_.Err(prefix + ".name", "'" + s.name + "' is used by another source");
    c->sources.push_back(std::move(s));
  }
  const toml::array* windows;
  TCD_RETURN_IF_ERROR(r_.GetTables(root, "schedule", &windows));
  for (size_t i = 0; windows != nullptr && i < windows->size(); ++i) {
    ScheduleWindow w;
    TCD_RETURN_IF_ERROR(
        Schedule(*(*windows)[i].as_table(), "schedule[" + std::to_string(i) + "]", &w));
    c->schedule.push_back(w);
  }
  for (size_t i = 0; i < c->sources.size(); ++i)
    if (c->sources[i].mode == SourceConfig::Mode::kSchedule && c->schedule.empty())
      return r_.Err("source[" + std::to_string(i) + "].mode",
                    "'schedule' needs at least one [[schedule]] window");
  return Status::OK();
}

Status ConfigParser::Top(const toml::table& t, NodeConfig* c) const {
  TCD_RETURN_IF_ERROR(
      r_.CheckKeys(t, "",
                   {"role", "data_dir", "node_key", "recipients", "point", "control_socket",
                    "log_level", "recording", "disk", "source", "schedule", "listen",
                    "upstream", "retention"}));
  TCD_RETURN_IF_ERROR(r_.GetString(t, "", "role", true, &c->role));
  if (c->role != "recorder" && c->role != "province" && c->role != "central")
    return r_.Err("role", "must be recorder, province or central (got '" + c->role + "')");
  TCD_RETURN_IF_ERROR(r_.GetString(t, "", "data_dir", true, &c->data_dir));
  TCD_RETURN_IF_ERROR(r_.GetString(t, "", "node_key", true, &c->node_key));
  if (const toml::node* n = t.get("recipients")) {
    TCD_RETURN_IF_ERROR(r_.GetStrings(*n, "recipients", false, &c->recipients));
    for (size_t i = 0; i < c->recipients.size(); ++i)
      if (c->recipients[i].empty())
        return r_.Err("recipients[" + std::to_string(i) + "]", "must not be empty");
  }
  if (c->role == "recorder" && c->recipients.empty())
    return r_.Err("recipients", "a recorder needs at least one archive public key");
  TCD_RETURN_IF_ERROR(r_.GetString(t, "", "point", false, &c->point));
  TCD_RETURN_IF_ERROR(r_.GetString(t, "", "control_socket", false, &c->control_socket));
  if (c->control_socket.empty()) c->control_socket = c->data_dir + "/control.sock";
  TCD_RETURN_IF_ERROR(r_.GetString(t, "", "log_level", false, &c->log_level));
  static const char* const kLevels[] = {"trace", "debug", "info", "warn", "error"};
  if (std::find(std::begin(kLevels), std::end(kLevels), c->log_level) == std::end(kLevels))
    return r_.Err("log_level",
                  "must be trace, debug, info, warn or error (got '" + c->log_level + "')");
  return Status::OK();
}

// [recording] and [disk].
Status ConfigParser::Limits(const toml::table& t, NodeConfig* c) const {
  const toml::table* rec;
  TCD_RETURN_IF_ERROR(r_.GetTable(t, "recording", &rec));
  if (rec != nullptr) {
    const std::string p = "recording";
    TCD_RETURN_IF_ERROR(r_.CheckKeys(
        *rec, p, {"segment_seconds", "grace_seconds", "reconnect_max_backoff_seconds"}));
    TCD_RETURN_IF_ERROR(r_.GetDouble(*rec, p, "segment_seconds", 0.5, 60, &c->segment_seconds));
    TCD_RETURN_IF_ERROR(r_.GetDouble(*rec, p, "grace_seconds", 0, 86400, &c->grace_seconds));
    TCD_RETURN_IF_ERROR(r_.GetDouble(*rec, p, "reconnect_max_backoff_seconds", 0.5, 3600,
                                     &c->reconnect_max_backoff_seconds));
  }
  const toml::table* disk;
  TCD_RETURN_IF_ERROR(r_.GetTable(t, "disk", &disk));
  if (disk != nullptr) {
    TCD_RETURN_IF_ERROR(r_.CheckKeys(*disk, "disk", {"warn_free_mb", "min_free_mb"}));
    TCD_RETURN_IF_ERROR(r_.GetUint(*disk, "disk", "warn_free_mb", &c->warn_free_mb));
    TCD_RETURN_IF_ERROR(r_.GetUint(*disk, "disk", "min_free_mb", &c->min_free_mb));
  }
  constexpr uint64_t kMaxFreeMb = uint64_t{1} << 30;  // 1 PiB: keeps MB → bytes in range
  if (c->warn_free_mb > kMaxFreeMb || c->min_free_mb > kMaxFreeMb)
    return r_.Err(c->warn_free_mb > kMaxFreeMb ? "disk.warn_free_mb" : "disk.min_free_mb",
                  "must be at most " + std::to_string(kMaxFreeMb) + " (1 PiB)");
  if (c->warn_free_mb < c->min_free_mb)
    return r_.Err("disk.warn_free_mb",
                  "must be at least disk.min_free_mb (" + std::to_string(c->min_free_mb) + ")");
  return Status::OK();
}

// listen, [upstream] with [[upstream.cap]], [retention].
Status ConfigParser::Replication(const toml::table& t, NodeConfig* c) const {
  TCD_RETURN_IF_ERROR(r_.GetString(t, "", "listen", c->role != "recorder", &c->listen));
  if (c->role == "recorder" && !c->listen.empty())
    return r_.Err("listen", "a recorder does not accept replication (only province, central)");
  if (!c->listen.empty() && c->listen.rfind("tcp://", 0) != 0)
    return r_.Err("listen", "must be tcp://ADDRESS:PORT (got '" + c->listen + "')");
  const toml::table* up;
  TCD_RETURN_IF_ERROR(r_.GetTable(t, "upstream", &up));
  c->has_upstream = up != nullptr;
  if (c->role == "central" && up)
    return r_.Err("upstream", "the central archive has no upstream");
  if (c->role == "province" && !up)
    return r_.Err("upstream", "missing: a province needs its central archive's address");
  if (up) {
    const std::string p = "upstream";
    TCD_RETURN_IF_ERROR(r_.CheckKeys(*up, p, {"address", "public_key", "max_mbit", "cap"}));
    TCD_RETURN_IF_ERROR(r_.GetString(*up, p, "address", true, &c->upstream.address));
    if (c->upstream.address.rfind("tcp://", 0) != 0)
      return r_.Err("upstream.address",
                    "must be tcp://HOST:PORT (got '" + c->upstream.address + "')");
    TCD_RETURN_IF_ERROR(r_.GetString(*up, p, "public_key", true, &c->upstream.public_key));
    TCD_RETURN_IF_ERROR(r_.GetDouble(*up, p, "max_mbit", 0, 100000, &c->upstream.max_mbit));
    const toml::array* caps;
    TCD_RETURN_IF_ERROR(r_.GetTables(*up, "cap", &caps));
    for (size_t i = 0; caps != nullptr && i < caps->size(); ++i) {
      const std::string cp = "upstream.cap[" + std::to_string(i) + "]";
      const toml::table& ct = *(*caps)[i].as_table();
      CapConfig cap;
      TCD_RETURN_IF_ERROR(Schedule(ct, cp, &cap.when, true));
      if (!ct.get("mbit")) return r_.Err(cp + ".mbit", "missing");
      TCD_RETURN_IF_ERROR(r_.GetDouble(ct, cp, "mbit", 0, 100000, &cap.mbit));
      c->upstream.caps.push_back(cap);
    }
  }
  const toml::table* ret;
  TCD_RETURN_IF_ERROR(r_.GetTable(t, "retention", &ret));
  if (ret) {
    if (c->role != "recorder")
      return r_.Err("retention", "only a recorder evicts (archives keep everything)");
    TCD_RETURN_IF_ERROR(r_.CheckKeys(*ret, "retention", {"days"}));
    TCD_RETURN_IF_ERROR(r_.GetDouble(*ret, "retention", "days", 0, 36500, &c->retention_days));
  }
  return Status::OK();
}

Status ConfigParser::Source(const toml::table& t, const std::string& prefix,
                            SourceConfig* s) const {
  TCD_RETURN_IF_ERROR(r_.CheckKeys(
      t, prefix,
      {"name", "url", "format", "audio_url", "audio_format", "mode", "realtime", "meta"}));
  TCD_RETURN_IF_ERROR(r_.GetString(t, prefix, "name", true, &s->name));
  for (char ch : s->name)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
          ch == '_' || ch == '.' || ch == '-'))
      return r_.Err(prefix + ".name", "use letters, digits, '_', '.', '-' (got '" + s->name + "')");
  TCD_RETURN_IF_ERROR(r_.GetString(t, prefix, "url", true, &s->url));
  TCD_RETURN_IF_ERROR(r_.GetString(t, prefix, "format", false, &s->format));
  TCD_RETURN_IF_ERROR(r_.GetString(t, prefix, "audio_url", false, &s->audio_url));
  TCD_RETURN_IF_ERROR(r_.GetString(t, prefix, "audio_format", false, &s->audio_format));
  std::string mode = "auto";
  TCD_RETURN_IF_ERROR(r_.GetString(t, prefix, "mode", false, &mode));
  if (mode == "auto")
    s->mode = SourceConfig::Mode::kAuto;
  else if (mode == "schedule")
    s->mode = SourceConfig::Mode::kSchedule;
  else if (mode == "manual")
    s->mode = SourceConfig::Mode::kManual;
  else
    return r_.Err(prefix + ".mode", "must be auto, schedule or manual (got '" + mode + "')");
  TCD_RETURN_IF_ERROR(r_.GetBool(t, prefix, "realtime", &s->realtime));
  const toml::node* meta = t.get("meta");
  if (meta == nullptr) return Status::OK();
  if (!meta->is_table()) return r_.Err(prefix + ".meta", "must be a table ([source.meta])");
  return Meta(*meta->as_table(), prefix + ".meta", &s->meta);
}

Status ConfigParser::Meta(const toml::table& t, const std::string& prefix,
                          crypto::Metadata* meta) const {
  // Keep the file's order (a toml::table is sorted by key).
  std::vector<std::pair<std::string, const toml::node*>> entries;
  for (const auto& [key, value] : t) entries.emplace_back(std::string(key.str()), &value);
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    const auto& pa = a.second->source().begin;
    const auto& pb = b.second->source().begin;
    return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
  });
  for (const auto& [key, node] : entries) {
    const std::string path = TomlReader::Join(prefix, key);
    std::vector<std::string> values;
    if (key == "participant")  // the one repeatable key: a string or an array of strings
      TCD_RETURN_IF_ERROR(r_.GetStrings(*node, path, true, &values));
    else if (node->is_string())
      values.push_back(node->as_string()->get());
    else
      return r_.Err(path, "must be a string (only participant may be an array)");
    for (auto& v : values) meta->emplace_back(key, std::move(v));
  }
  return ValidateMetadata(*meta).WithContext(r_.file() + ": " + prefix);
}

Status ConfigParser::Schedule(const toml::table& t, const std::string& prefix,
                              ScheduleWindow* w, bool with_mbit) const {
  static const char* const kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  if (!with_mbit) TCD_RETURN_IF_ERROR(r_.CheckKeys(t, prefix, {"days", "start", "end"}));
  else TCD_RETURN_IF_ERROR(r_.CheckKeys(t, prefix, {"days", "start", "end", "mbit"}));
  const toml::node* days = t.get("days");
  if (days == nullptr) return r_.Err(prefix + ".days", "missing");
  std::vector<std::string> names;
  TCD_RETURN_IF_ERROR(r_.GetStrings(*days, prefix + ".days", false, &names));
  if (names.empty()) return r_.Err(prefix + ".days", "must name at least one day");
  for (size_t i = 0; i < names.size(); ++i) {
    auto it = std::find(std::begin(kDays), std::end(kDays), names[i]);
    if (it == std::end(kDays))
      return r_.Err(prefix + ".days[" + std::to_string(i) + "]",
                    "must be one of mon, tue, wed, thu, fri, sat, sun (got '" + names[i] + "')");
    w->days |= static_cast<uint8_t>(1u << (it - std::begin(kDays)));  // Monday = bit 0
  }
  TCD_RETURN_IF_ERROR(r_.GetMinuteOfDay(t, prefix, "start", &w->start_minute));
  TCD_RETURN_IF_ERROR(r_.GetMinuteOfDay(t, prefix, "end", &w->end_minute));
  if (w->start_minute >= w->end_minute) return r_.Err(prefix + ".end", "must be later than start");
  return Status::OK();
}

// [a-z][a-z0-9_.-]{0,63}
bool ValidMetaKey(const std::string& k) {
  if (k.empty() || k.size() > 64 || k[0] < 'a' || k[0] > 'z') return false;
  return std::all_of(k.begin(), k.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' ||
           ch == '-';
  });
}

}  // namespace

const char* SourceModeName(SourceConfig::Mode m) {
  switch (m) {
    case SourceConfig::Mode::kAuto:
      return "auto";
    case SourceConfig::Mode::kSchedule:
      return "schedule";
    case SourceConfig::Mode::kManual:
      return "manual";
  }
  return "unknown";
}

Status ValidateMetadata(const crypto::Metadata& meta) {
  static const char* const kTypes[] = {"complaint", "denunciation", "petition", "feedback"};
  for (size_t i = 0; i < meta.size(); ++i) {
    const auto& [key, value] = meta[i];
    if (!ValidMetaKey(key))
      return Status::InvalidArgument(
          "metadata key '" + key +
          "': use lower-case letters, digits, '_', '.', '-' (a letter first, at most 64)");
    if (!IsValidUtf8(AsBytes(value)) || value.size() > 4096)
      return Status::InvalidArgument("metadata key '" + key +
                                     "': value is not UTF-8 text under 4 KiB");
    if (key == "type" && std::find(std::begin(kTypes), std::end(kTypes), value) == std::end(kTypes))
      return Status::InvalidArgument("metadata type='" + value +
                                     "': must be complaint, denunciation, petition or feedback");
    if (key != "participant")
      for (size_t j = 0; j < i; ++j)
        if (meta[j].first == key)
          return Status::InvalidArgument("metadata key '" + key + "' given twice");
  }
  return Status::OK();
}

bool InSchedule(const std::vector<ScheduleWindow>& windows, std::time_t t) {
  struct tm tm;
  if (localtime_r(&t, &tm) == nullptr) return false;
  const unsigned day = static_cast<unsigned>((tm.tm_wday + 6) % 7);  // tm_wday 0 = Sunday
  const int minute = tm.tm_hour * 60 + tm.tm_min;
  for (const auto& w : windows)
    if (((w.days >> day) & 1u) && minute >= w.start_minute && minute < w.end_minute) return true;
  return false;
}

Result<NodeConfig> ParseConfig(std::string_view toml_text, const std::string& source_name) {
  TomlReader reader(source_name);
  TCD_ASSIGN_OR_RETURN(toml::table root, reader.Parse(toml_text));
  NodeConfig c;
  c.path = source_name;
  try {  // reading the parsed tree only allocates; bad_alloc must not escape either
    TCD_RETURN_IF_ERROR(ConfigParser(reader).Parse(root, &c));
  } catch (const std::exception& e) {
    return Status::InvalidArgument(source_name + ": " + e.what());
  }
  return c;
}

Result<NodeConfig> LoadConfig(const std::string& path) {
  auto data = Env::Default()->ReadFile(path);
  if (!data.ok()) return data.status().WithContext("cannot read config");
  TCD_ASSIGN_OR_RETURN(NodeConfig c, ParseConfig(std::string(AsChars(*data)), path));
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path dir = fs::path(path).parent_path();
  dir = dir.empty() ? fs::current_path(ec) : fs::absolute(dir, ec);
  if (ec)
    return Status::IOError("config " + path + ": cannot resolve its directory: " + ec.message());
  auto resolve = [&](std::string* p) {
    if (!p->empty() && fs::path(*p).is_relative()) *p = (dir / *p).lexically_normal().string();
  };
  resolve(&c.data_dir);
  resolve(&c.node_key);
  resolve(&c.control_socket);
  for (auto& r : c.recipients) resolve(&r);
  if (c.has_upstream) resolve(&c.upstream.public_key);
  return c;
}

}  // namespace tcd::node
