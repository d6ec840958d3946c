#include "node/bagit.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace tcd::node::bagit {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Splits at LF, CR LF or CR; a final line end does not start another line.
std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\n' && text[i] != '\r') continue;
    out.push_back(text.substr(start, i - start));
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
    start = i + 1;
  }
  if (start < text.size()) out.push_back(text.substr(start));
  return out;
}

size_t CodePoints(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<uint8_t>(c) & 0xC0) != 0x80; }));
}

Status LineError(const std::string& file, size_t line, const std::string& what) {
  return Status::Corruption(file + ": line " + std::to_string(line) + ": " + what);
}

bool SafeRelativePath(std::string_view p) {
  if (p.empty() || p.front() == '/') return false;
  size_t start = 0;
  while (start <= p.size()) {
    size_t slash = p.find('/', start);
    std::string_view part =
        p.substr(start, slash == std::string_view::npos ? p.npos : slash - start);
    if (part.empty() || part == "." || part == "..") return false;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return true;
}

}  // namespace

// OpenSSL fails these only when out of memory or misconfigured: nothing a caller could handle.
static void Check(int ok, const char* what) {
  if (ok != 1) {
    std::fprintf(stderr, "tcd: OpenSSL %s failed\n", what);
    std::abort();
  }
}

Sha256Hasher::Sha256Hasher() : ctx_(EVP_MD_CTX_new()) {
  Check(ctx_ != nullptr, "EVP_MD_CTX_new");
  Check(EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr),
        "SHA-256 init");
}

Sha256Hasher::~Sha256Hasher() { EVP_MD_CTX_free(ctx_); }

void Sha256Hasher::Update(ByteView data) {
  Check(EVP_DigestUpdate(ctx_, data.data(), data.size()),
        "SHA-256 update");
}

Sha256 Sha256Hasher::Final() {
  Sha256 out;
  unsigned int n = 0;
  Check(EVP_DigestFinal_ex(ctx_, out.data(), &n) == 1 &&
                n == out.size(),
        "SHA-256 final");
  return out;
}

Sha256 Sha256Of(ByteView data) {
  Sha256Hasher h;
  h.Update(data);
  return h.Final();
}

// Env reads whole files only; a bundle's MP4 may not fit in memory, so this reads with a
// stream (read-only: nothing here needs the Env's durability or fault injection).
Result<FileDigest> DigestFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ": cannot open");
  FileDigest d;
  Sha256Hasher h;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    std::streamsize n = in.gcount();
    if (n <= 0) break;
    h.Update(AsBytes(std::string_view(buf.data(), static_cast<size_t>(n))));
    d.size += static_cast<uint64_t>(n);
  }
  if (in.bad()) return Status::IOError(path + ": read failed");
  d.sha256 = h.Final();
  return d;
}

std::string EncodePath(std::string_view path) {
  std::string out;
  for (char c : path) {
    if (c == '%')
      out += "%25";
    else if (c == '\n')
      out += "%0A";
    else if (c == '\r')
      out += "%0D";
    else
      out += c;
  }
  return out;
}

Result<std::string> DecodePath(std::string_view path) {
  std::string out;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] != '%') {
      out += path[i];
      continue;
    }
    auto byte = i + 2 < path.size() ? FromHex(path.substr(i + 1, 2)) : std::nullopt;
    if (!byte)
      return Status::InvalidArgument("bad percent-encoding in '" + std::string(path) + "'");
    out += static_cast<char>((*byte)[0]);
    i += 2;
  }
  return out;
}

std::string FormatManifest(std::vector<ManifestEntry> entries) {
  std::sort(entries.begin(), entries.end(), [](const ManifestEntry& a, const ManifestEntry& b) {
    return EncodePath(a.path) < EncodePath(b.path);
  });
  std::string out;
  for (const auto& e : entries) out += ToHex(e.sha256) + "  " + EncodePath(e.path) + "\n";
  return out;
}

Result<std::vector<ManifestEntry>> ParseManifest(std::string_view text, const std::string& file) {
  std::vector<ManifestEntry> out;
  size_t n = 0;
  for (std::string_view line : Lines(text)) {
    ++n;
    if (Trim(line).empty()) continue;
    size_t sep = line.find_first_of(" \t");
    auto hex = sep == line.npos ? std::nullopt : FromHex(line.substr(0, sep));
    if (!hex || hex->size() != 32)
      return LineError(file, n, "expected a 64-digit SHA-256, white space and a path");
    std::string_view raw = line.substr(sep);
    while (!raw.empty() && IsSpace(raw.front())) raw.remove_prefix(1);
    auto path = DecodePath(raw);
    if (!path.ok()) return LineError(file, n, path.status().message());
    if (!SafeRelativePath(*path))
      return LineError(file, n, "path '" + *path + "' is not a plain relative path");
    ManifestEntry e;
    e.path = std::move(path).value();
    std::copy(hex->begin(), hex->end(), e.sha256.begin());
    out.push_back(std::move(e));
  }
  return out;
}

// Appends "line + value" folded at single spaces so that each line keeps within kMaxTagLine.
static void AppendFolded(std::string line, std::string_view value, std::string* out) {
  for (;;) {
    size_t used = CodePoints(line);
    size_t room = kMaxTagLine > used ? kMaxTagLine - used : 0;
    if (CodePoints(value) <= room) break;
    size_t cut = std::string_view::npos, before = 0;  // code points of value[0, i)
    for (size_t i = 0; i < value.size() && before <= room; ++i) {
      if (i > 0 && value[i] == ' ' && !IsSpace(value[i - 1]) && i + 1 < value.size() &&
          !IsSpace(value[i + 1]))
        cut = i;
      if ((static_cast<uint8_t>(value[i]) & 0xC0) != 0x80) ++before;
    }
    if (cut == std::string_view::npos) break;  // no space to fold at: one long line
    *out += line + std::string(value.substr(0, cut)) + "\n";
    line = "  ";
    value.remove_prefix(cut + 1);
  }
  *out += line + std::string(value) + "\n";
}

std::string FormatTags(const std::vector<Tag>& tags) {
  std::string out;
  for (const auto& [label, value] : tags) AppendFolded(label + ": ", value, &out);
  return out;
}

Result<std::vector<Tag>> ParseTags(std::string_view text, const std::string& file) {
  if (!IsValidUtf8(AsBytes(text))) return Status::Corruption(file + ": not UTF-8 text");
  std::vector<Tag> out;
  size_t n = 0;
  for (std::string_view line : Lines(text)) {
    ++n;
    if (!line.empty() && IsSpace(line.front()) && !Trim(line).empty()) {
      if (out.empty()) return LineError(file, n, "continuation line before any label");
      out.back().second += (out.back().second.empty() ? "" : " ") + std::string(Trim(line));
      continue;
    }
    if (Trim(line).empty()) continue;
    size_t colon = line.find(':');
    if (colon == line.npos || Trim(line.substr(0, colon)).empty())
      return LineError(file, n, "expected 'Label: value'");
    out.emplace_back(std::string(Trim(line.substr(0, colon))),
                     std::string(Trim(line.substr(colon + 1))));
  }
  return out;
}

std::string BagitTxt() { return "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"; }

Status CheckBagitTxt(std::string_view text) {
  auto tags = ParseTags(text, "bagit.txt");
  if (!tags.ok()) return tags.status();
  if (tags->size() != 2 || (*tags)[0].first != "BagIt-Version" ||
      (*tags)[1].first != "Tag-File-Character-Encoding")
    return Status::Corruption(
        "bagit.txt: expected exactly 'BagIt-Version' and "
        "'Tag-File-Character-Encoding', in this order");
  if ((*tags)[0].second != "1.0" && (*tags)[0].second != "0.97")
    return Status::Corruption("bagit.txt: BagIt-Version '" + (*tags)[0].second +
                              "' is not 1.0 (or 0.97)");
  std::string enc = (*tags)[1].second;
  std::transform(enc.begin(), enc.end(), enc.begin(), ::toupper);
  if (enc != "UTF-8")
    return Status::Corruption("bagit.txt: Tag-File-Character-Encoding '" + (*tags)[1].second +
                              "' is not UTF-8");
  return Status::OK();
}

std::string FormatOxum(const Oxum& o) {
  return std::to_string(o.bytes) + "." + std::to_string(o.files);
}

Result<Oxum> ParseOxum(std::string_view text) {
  size_t dot = text.find('.');
  auto digits = [](std::string_view s) {
    return !s.empty() && s.size() <= 19 &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (dot == text.npos || !digits(text.substr(0, dot)) || !digits(text.substr(dot + 1)))
    return Status::Corruption("Payload-Oxum '" + std::string(text) + "' is not <octets>.<streams>");
  return Oxum{std::stoull(std::string(text.substr(0, dot))),
              std::stoull(std::string(text.substr(dot + 1)))};
}

std::string HumanSize(uint64_t bytes) {
  static const char* const kUnits[] = {"bytes", "KB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  char buf[32];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(bytes));
  else
    std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[u]);
  return buf;
}

// --- BagWriter -----------------------------------------------------------------------------

Status PayloadFile::Append(ByteView data) {
  hasher_.Update(data);
  size_ += data.size();
  return file_->Append(data);
}

Status PayloadFile::Close() {
  TCD_RETURN_IF_ERROR(file_->Sync());
  TCD_RETURN_IF_ERROR(file_->Close());
  file_.reset();
  bag_->payload_.push_back({rel_, hasher_.Final()});
  bag_->oxum_.bytes += size_;
  bag_->oxum_.files += 1;
  return Status::OK();
}

Result<std::unique_ptr<PayloadFile>> BagWriter::Create(const std::string& rel) {
  std::string path = "data/" + rel;
  for (size_t slash = path.find('/'); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    std::string dir = path.substr(0, slash);
    if (std::find(dirs_.begin(), dirs_.end(), dir) != dirs_.end()) continue;
    TCD_RETURN_IF_ERROR(env_->CreateDirs(root_ + "/" + dir));
    dirs_.push_back(dir);
  }
  TCD_ASSIGN_OR_RETURN(auto file, env_->NewWritableFile(root_ + "/" + path));
  return std::unique_ptr<PayloadFile>(new PayloadFile(this, path, std::move(file)));
}

Status BagWriter::Put(const std::string& rel, ByteView data) {
  TCD_ASSIGN_OR_RETURN(auto file, Create(rel));
  TCD_RETURN_IF_ERROR(file->Append(data));
  return file->Close();
}

Status BagWriter::WriteTagFile(const std::string& name, std::string_view text,
                               std::vector<ManifestEntry>* tags) {
  TCD_ASSIGN_OR_RETURN(auto file, env_->NewWritableFile(root_ + "/" + name));
  TCD_RETURN_IF_ERROR(file->Append(AsBytes(text)));
  TCD_RETURN_IF_ERROR(file->Sync());
  TCD_RETURN_IF_ERROR(file->Close());
  if (tags) tags->push_back({name, Sha256Of(AsBytes(text))});
  return Status::OK();
}

Status BagWriter::Finish(const std::vector<Tag>& info) {
  std::vector<ManifestEntry> tags;
  TCD_RETURN_IF_ERROR(WriteTagFile("bagit.txt", BagitTxt(), &tags));
  TCD_RETURN_IF_ERROR(WriteTagFile("bag-info.txt", FormatTags(info), &tags));
  TCD_RETURN_IF_ERROR(WriteTagFile("manifest-sha256.txt", FormatManifest(payload_), &tags));
  TCD_RETURN_IF_ERROR(WriteTagFile("tagmanifest-sha256.txt", FormatManifest(tags), nullptr));
  for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it)
    TCD_RETURN_IF_ERROR(env_->SyncDir(root_ + "/" + *it));
  return env_->SyncDir(root_);
}

}  // namespace tcd::node::bagit
