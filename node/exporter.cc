#include "node/exporter.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <memory>
#include <system_error>
#include <thread>

#include "crypto/chain.h"
#include "node/store.h"
#include "node/verifier.h"

namespace tcd::node {
namespace {

using crypto::EntryKind;

std::string RunPath(const std::string& out, uint32_t run) {
  if (run == 0) return out;
  std::string stem = out.size() > 4 && out.ends_with(".mp4") ? out.substr(0, out.size() - 4) : out;
  return stem + "-run" + std::to_string(run + 1) + ".mp4";
}

Result<crypto::SecretBytes> OpenKey(const crypto::ChainEntry& open,
                                    const crypto::ArchiveKeyPair& key, const std::string& sid) {
  TCD_ASSIGN_OR_RETURN(crypto::OpenBody body, crypto::DecodeOpenBody(open.body));
  std::string ids;
  for (const auto& rcp : body.recipients) {
    if (rcp.pk == key.pub.box_pk) return crypto::OpenSessionKey(rcp.sealed_key, key);
    ids += (ids.empty() ? "" : ", ") + crypto::KeyId(rcp.pk);
  }
  return Status::Unauthenticated("archive key " + crypto::KeyId(key.pub.box_pk) +
                                 " is not a recipient of session " + sid +
                                 " (its recipients: " + ids + ")");
}

bool IsMedia(const crypto::ChainEntry& e) {
  return e.kind == EntryKind::kInit || e.kind == EntryKind::kSegment;
}

// Output files written under a temporary name; removed unless published.
class PendingFiles {
 public:
  explicit PendingFiles(Env* env) : env_(env) {}
  ~PendingFiles() {
    for (const auto& [path, temp] : files_) (void)env_->RemoveFile(temp);
  }
  void Add(const std::string& path) { files_.emplace_back(path, path + ".part"); }
  const std::string& temp() const { return files_.back().second; }
  // Renames every file into place and syncs their directories.
  Status Publish() {
    for (const auto& [path, temp] : files_) {
      TCD_RETURN_IF_ERROR(env_->RenameFile(temp, path));
      size_t slash = path.find_last_of('/');
      TCD_RETURN_IF_ERROR(env_->SyncDir(slash == std::string::npos ? "." : path.substr(0, slash)));
    }
    files_.clear();
    return Status::OK();
  }

 private:
  Env* const env_;
  std::vector<std::pair<std::string, std::string>> files_;  // (final path, temp path)
};

}  // namespace

Result<ExportSource> LoadForExport(Store* store, const crypto::SessionId& session,
                                   const crypto::ArchiveKeyPair& key) {
  ExportSource src;
  src.id = session;
  src.sid = crypto::SessionIdToString(session);
  // Chain, signatures, seal, catalog, and every blob present with its signed size; the
  // blobs' bytes are checked as they are decrypted (DecryptEntry), not read twice.
  VerifyOptions vo;
  vo.blob_contents = false;
  TCD_ASSIGN_OR_RETURN(src.report, VerifySession(store, session, vo));
  const VerifyReport& r = src.report;
  if (!r.ok && r.problem != Problem::kUnsealed)
    return Status::Corruption("session " + src.sid + " does not verify at seq " +
                              std::to_string(r.bad_seq.value_or(0)) + " (" +
                              ProblemName(r.problem) + "): " + r.detail);
  if (!r.ok) spdlog::warn("session {} is not sealed; exporting what it holds", src.sid);
  TCD_ASSIGN_OR_RETURN(src.chain, store->catalog()->GetChain(session));
  src.chain.resize(std::min<size_t>(src.chain.size(), r.entries));
  for (const auto& [seq, rec] : src.chain) {
    TCD_ASSIGN_OR_RETURN(crypto::ChainEntry e, crypto::DecodeEntry(rec.entry));
    src.entries.push_back(std::move(e));
  }
  if (src.entries.empty()) return Status::Corruption("session " + src.sid + " has no open entry");
  TCD_ASSIGN_OR_RETURN(src.session_key, OpenKey(src.entries[0], key, src.sid));
  return src;
}

std::vector<RunPieces> PlanRuns(const std::vector<crypto::ChainEntry>& entries,
                                const std::function<bool(const crypto::ChainEntry&)>& keep) {
  std::vector<RunPieces> runs;
  std::map<uint32_t, size_t> index;  // run → position in `runs`
  for (const auto& e : entries) {
    if (!IsMedia(e)) continue;
    auto run = crypto::DecodeRunBody(e.body);
    if (!run.ok()) continue;  // verified chains have none
    auto it = index.find(*run);
    if (e.kind == EntryKind::kInit) {
      if (it == index.end()) {
        index[*run] = runs.size();
        runs.push_back({*run, {e.seq}});
      }
    } else if (it != index.end() && (!keep || keep(e))) {
      runs[it->second].seqs.push_back(e.seq);
    }
  }
  if (keep) std::erase_if(runs, [](const RunPieces& r) { return r.seqs.size() < 2; });
  return runs;
}

Result<Bytes> DecryptEntry(Store* store, const ExportSource& src, const crypto::ChainEntry& e) {
  // Worded as LoadForExport's refusal: the blob is where this session fails to verify.
  auto fail = [&](Problem p, const std::string& why) {
    return Status::Corruption("session " + src.sid + " does not verify at seq " +
                              std::to_string(e.seq) + " (" + ProblemName(p) + "): " +
                              crypto::EntryKindName(e.kind) + " blob " + ToHex(e.cipher_hash) +
                              ": " + why);
  };
  auto blob = store->blobs()->GetUnverified(e.cipher_hash);
  if (blob.status().IsNotFound() && src.report.evicted > 0)
    return Status::NotFound("session " + src.sid + " seq " + std::to_string(e.seq) +
                            ": its media was evicted here by retention after the central "
                            "archive acknowledged it; export it at the province or central archive");
  if (blob.status().IsNotFound()) return fail(Problem::kMissingSegment, "is missing");
  if (!blob.ok())
    return blob.status().WithContext("session " + src.sid + ", seq " + std::to_string(e.seq));
  if (blob->size() != e.cipher_size)
    return fail(Problem::kHashMismatch, "content does not match the signed size");
  auto plain = crypto::DecryptBlob(src.session_key, src.id, e.seq, *blob);
  if (!plain.ok())
    return fail(Problem::kHashMismatch,
                "content does not match the signed hash (" + plain.status().message() + ")");
  if (plain->size() != e.plain_size || crypto::Blake2b256(*plain) != e.plain_hash)
    return fail(Problem::kHashMismatch, "decrypted bytes do not match the signed plaintext hash");
  return plain;
}

DecryptAhead::DecryptAhead(Store* store, const ExportSource& src, std::vector<uint64_t> seqs)
    : store_(store), src_(src), seqs_(std::move(seqs)),
      window_(2 * std::max(2u, std::thread::hardware_concurrency())) {}

void DecryptAhead::Fill() {
  for (; launched_ < seqs_.size() && launched_ - next_ < window_; ++launched_) {
    const crypto::ChainEntry* e = &src_.entries[seqs_[launched_]];
    auto work = [this, e] { return DecryptEntry(store_, src_, *e); };
    try {
      inflight_.push_back(std::async(std::launch::async, work));
    } catch (const std::system_error&) {
      inflight_.push_back(std::async(std::launch::deferred, work));  // no thread: do it in Next
    }
  }
}

Result<Bytes> DecryptAhead::Next() {
  Fill();
  if (inflight_.empty()) return Status::InvalidArgument("DecryptAhead: no entry left");
  auto f = std::move(inflight_.front());
  inflight_.pop_front();
  ++next_;
  Fill();
  return f.get();
}

Result<ExportResult> ExportSession(Store* store, const crypto::SessionId& session,
                                   const crypto::ArchiveKeyPair& key, const std::string& out_mp4,
                                   const std::function<void(uint64_t, uint64_t)>& progress,
                                   const std::function<Status()>& before_publish) {
  TCD_ASSIGN_OR_RETURN(ExportSource src, LoadForExport(store, session, key));
  std::vector<RunPieces> runs = PlanRuns(src.entries);
  if (runs.empty())
    return Status::NotFound("session " + src.sid + " holds no recording yet (no init segment)");
  uint64_t total = 0, done = 0;
  for (const auto& r : runs) total += r.seqs.size();
  ExportResult result;
  result.sealed = src.report.sealed;
  PendingFiles pending(store->env());
  for (const auto& run : runs) {
    const std::string path = RunPath(out_mp4, run.run);
    pending.Add(path);
    TCD_ASSIGN_OR_RETURN(auto file, store->env()->NewWritableFile(pending.temp()));
    DecryptAhead ahead(store, src, run.seqs);
    for (uint64_t seq : run.seqs) {
      const crypto::ChainEntry& e = src.entries[seq];
      TCD_ASSIGN_OR_RETURN(Bytes plain, ahead.Next());
      TCD_RETURN_IF_ERROR(file->Append(plain));
      result.bytes += plain.size();
      if (e.kind == EntryKind::kSegment) {
        result.segments++;
        result.media_duration_us += e.duration_us;
      }
      if (progress) progress(++done, total);
    }
    TCD_RETURN_IF_ERROR(file->Sync());
    TCD_RETURN_IF_ERROR(file->Close());
    result.files.push_back(path);
  }
  if (before_publish) TCD_RETURN_IF_ERROR(before_publish());
  TCD_RETURN_IF_ERROR(pending.Publish());
  return result;
}

}  // namespace tcd::node
