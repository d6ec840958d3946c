// BagIt (RFC 8493), as the evidence bundle uses it (docs/FORMAT.md §Evidence bundle): SHA-256
// of files (libsodium crypto_hash_sha256), payload and tag manifests, bagit.txt, bag-info.txt
// (tag files with folded long values) and Payload-Oxum; and BagWriter, which writes a bag into
// a directory durably (every file fsynced, every directory fsynced).
//
// Nothing here knows what a session is: node/bundle.h builds on it.
//
// Thread-safety: free functions are thread-safe; a BagWriter or Sha256Hasher is used by one
// thread at a time.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/env.h"
#include "base/status.h"

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX (<openssl/evp.h>, kept out of this header)

namespace tcd::node::bagit {

using Sha256 = std::array<uint8_t, 32>;

// Incremental SHA-256 (FIPS 180-4). Final() may be called once. OpenSSL's, which uses the
// CPU's SHA extensions where it has them: about four times libsodium's portable code, and the
// manifests of a one-hour bundle hash 1.9 GB (docs/BENCHMARKS.md, export).
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;
  void Update(ByteView data);
  Sha256 Final();

 private:
  ::evp_md_ctx_st* ctx_;  // OpenSSL's EVP_MD_CTX
};
Sha256 Sha256Of(ByteView data);

struct FileDigest {
  Sha256 sha256{};
  uint64_t size = 0;
};
// Streams the file (bundles hold multi-gigabyte MP4s). NotFound / IOError naming the path.
Result<FileDigest> DigestFile(const std::string& path);

// --- Manifests (RFC 8493 §2.1.3, §2.2.1) --------------------------------------------------
// One line per file: lower-case hex SHA-256, two spaces, the path relative to the bag root
// with '/' separators, LF. In the path, CR, LF and '%' are percent-encoded (%0D, %0A, %25).
struct ManifestEntry {
  std::string path;  // decoded
  Sha256 sha256{};
};
std::string EncodePath(std::string_view path);
// InvalidArgument for a '%' not followed by two hex digits.
Result<std::string> DecodePath(std::string_view path);
// Lines sorted by encoded path (byte order): one canonical text per set of files.
std::string FormatManifest(std::vector<ManifestEntry> entries);
// Accepts any amount of linear white space between checksum and path, LF / CR LF / CR line
// ends, upper- or lower-case hex; rejects (Corruption "<file>: line N: …") a checksum that is
// not 64 hex digits, an empty path, an absolute path or one with "." or ".." components.
Result<std::vector<ManifestEntry>> ParseManifest(std::string_view text, const std::string& file);

// --- Tag files: bag-info.txt (RFC 8493 §2.2.2) ----------------------------------------------
// `Label: value` lines. Values longer than the line allows are folded at single spaces: the
// space is replaced by LF + two spaces, and a reader unfolds "line break + white space" into
// one space. A value is never changed otherwise; values containing CR or LF, or starting or
// ending with white space, cannot be represented (the caller escapes them).
using Tag = std::pair<std::string, std::string>;
constexpr size_t kMaxTagLine = 79;  // characters (code points), RFC 8493's recommendation
// REQUIRES: labels non-empty, without ':', CR, LF or surrounding white space; values without
// CR or LF and without leading or trailing white space.
std::string FormatTags(const std::vector<Tag>& tags);
// Unfolds continuation lines (starting with space or tab); labels and values are trimmed of
// surrounding white space. Corruption "<file>: line N: …" for a line without ':' that is not a
// continuation, or text that is not UTF-8.
Result<std::vector<Tag>> ParseTags(std::string_view text, const std::string& file);

// --- bagit.txt and Payload-Oxum -----------------------------------------------------------
// "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
std::string BagitTxt();
// Exactly the two elements, in this order, version 1.0 or 0.97, encoding UTF-8 (any case).
// Corruption naming what is wrong.
Status CheckBagitTxt(std::string_view text);

struct Oxum {
  uint64_t bytes = 0;  // octets of all payload files
  uint64_t files = 0;  // number of payload files
};
std::string FormatOxum(const Oxum& o);  // "<bytes>.<files>"
Result<Oxum> ParseOxum(std::string_view text);
// "123.4 MB" style (decimal units, as bag-info.txt's Bag-Size suggests).
std::string HumanSize(uint64_t bytes);

// --- Writing a bag -------------------------------------------------------------------------

class BagWriter;

// One payload file being written and hashed. Close() makes it durable (fsync) and records its
// manifest line; destroying an unclosed file abandons it (the bag is then incomplete).
class PayloadFile {
 public:
  Status Append(ByteView data);
  Status Close();
  uint64_t size() const { return size_; }

 private:
  friend class BagWriter;
  PayloadFile(BagWriter* bag, std::string rel, std::unique_ptr<WritableFile> file)
      : bag_(bag), rel_(std::move(rel)), file_(std::move(file)) {}
  BagWriter* const bag_;
  const std::string rel_;
  std::unique_ptr<WritableFile> file_;
  Sha256Hasher hasher_;
  uint64_t size_ = 0;
};

// Writes a bag into `root` (an existing, empty directory): payload files under data/, then
// Finish() writes the manifest, bagit.txt, bag-info.txt and the tag manifest and fsyncs every
// directory of the bag. The caller renames `root` into place afterwards.
class BagWriter {
 public:
  // REQUIRES: env outlives the writer.
  BagWriter(Env* env, std::string root) : env_(env), root_(std::move(root)) {}

  // data/<rel>; creates the directories it needs. REQUIRES: rel is a relative path of names
  // without CR, LF, "." or "..", not yet written.
  Result<std::unique_ptr<PayloadFile>> Create(const std::string& rel);
  Status Put(const std::string& rel, ByteView data);  // Create + Append + Close
  // The payload written (closed files) so far.
  Oxum oxum() const { return oxum_; }
  // manifest-sha256.txt, bagit.txt, bag-info.txt (`info`, in order), tagmanifest-sha256.txt;
  // then fsyncs the directories. REQUIRES: every PayloadFile closed; `info` as FormatTags.
  Status Finish(const std::vector<Tag>& info);

 private:
  friend class PayloadFile;
  Status WriteTagFile(const std::string& name, std::string_view text,
                      std::vector<ManifestEntry>* tags);
  Env* const env_;
  const std::string root_;
  std::vector<std::string> dirs_;  // directories created below root_, in creation order
  std::vector<ManifestEntry> payload_;
  Oxum oxum_;
};

}  // namespace tcd::node::bagit
