#include "node/exporter.h"

#include <spdlog/spdlog.h>

#include "crypto/chain.h"
#include "node/store.h"
#include "node/verifier.h"

namespace tcd::node {
namespace {

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

// One output file being written: temp name until Finish().
struct RunFile {
  std::string path, temp;
  std::unique_ptr<WritableFile> file;
};

Status FinishRun(Env* env, RunFile* f) {
  if (!f->file) return Status::OK();
  TCD_RETURN_IF_ERROR(f->file->Sync());
  TCD_RETURN_IF_ERROR(f->file->Close());
  f->file.reset();
  TCD_RETURN_IF_ERROR(env->RenameFile(f->temp, f->path));
  size_t slash = f->path.find_last_of('/');
  return env->SyncDir(slash == std::string::npos ? "." : f->path.substr(0, slash));
}

}  // namespace

Result<ExportResult> ExportSession(Store* store, const crypto::SessionId& session,
                                   const crypto::ArchiveKeyPair& key, const std::string& out_mp4,
                                   const std::function<void(uint64_t, uint64_t)>& progress) {
  const std::string sid = crypto::SessionIdToString(session);
  TCD_ASSIGN_OR_RETURN(VerifyReport report, VerifySession(store, session));
  if (!report.ok && report.problem != Problem::kUnsealed)
    return Status::Corruption("session " + sid + " does not verify at seq " +
                              std::to_string(report.bad_seq.value_or(0)) + " (" +
                              ProblemName(report.problem) + "): " + report.detail);
  if (!report.ok) spdlog::warn("session {} is not sealed; exporting what it holds", sid);
  TCD_ASSIGN_OR_RETURN(auto chain, store->catalog()->GetChain(session));
  TCD_ASSIGN_OR_RETURN(crypto::ChainEntry open, crypto::DecodeEntry(chain.at(0).second.entry));
  TCD_ASSIGN_OR_RETURN(crypto::SecretBytes skey, OpenKey(open, key, sid));

  ExportResult result;
  result.sealed = report.sealed;
  Env* env = store->env();
  RunFile current;
  std::vector<std::string> temps;
  auto fail = [&](Status s) {
    current.file.reset();
    for (const auto& t : temps) (void)env->RemoveFile(t);
    return s;
  };
  for (uint64_t i = 1; i < report.entries; ++i) {
    auto e = crypto::DecodeEntry(chain[i].second.entry);
    if (!e.ok()) return fail(e.status());
    if (e->kind != crypto::EntryKind::kInit && e->kind != crypto::EntryKind::kSegment) continue;
    auto blob = store->blobs()->Get(e->cipher_hash);
    if (!blob.ok()) return fail(blob.status().WithContext("seq " + std::to_string(i)));
    auto plain = crypto::DecryptBlob(skey, session, e->seq, *blob);
    if (!plain.ok()) return fail(plain.status().WithContext("seq " + std::to_string(i)));
    if (crypto::Blake2b256(*plain) != e->plain_hash)
      return fail(Status::Corruption("seq " + std::to_string(i) +
                                     ": decrypted bytes do not match the signed plaintext hash"));
    if (e->kind == crypto::EntryKind::kInit) {
      Status fs = FinishRun(env, &current);
      if (!fs.ok()) return fail(fs);
      auto run = crypto::DecodeRunBody(e->body);
      if (!run.ok()) return fail(run.status());
      current.path = RunPath(out_mp4, *run);
      current.temp = current.path + ".part";
      auto f = env->NewWritableFile(current.temp);
      if (!f.ok()) return fail(f.status());
      current.file = std::move(f).value();
      temps.push_back(current.temp);
      result.files.push_back(current.path);
    } else if (!current.file) {
      return fail(Status::Corruption("seq " + std::to_string(i) + ": segment before any init"));
    } else {
      result.segments++;
      result.media_duration_us += e->duration_us;
    }
    Status as = current.file->Append(*plain);
    if (!as.ok()) return fail(as);
    result.bytes += plain->size();
    if (progress) progress(i, report.entries - 1);
  }
  Status fs = FinishRun(env, &current);
  if (!fs.ok()) return fail(fs);
  if (result.files.empty())
    return Status::NotFound("session " + sid + " holds no recording yet (no init segment)");
  return result;
}

}  // namespace tcd::node
