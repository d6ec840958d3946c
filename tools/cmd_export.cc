// tcd export --data DIR --session ID --key archive.key [--passphrase-file F] --out OUTDIR
//            [--from TIME] [--to TIME] [--only-session] [--organization NAME] [--force]
//   an evidence bundle (BagIt, docs/FORMAT.md §Evidence bundle)
// tcd export … --out OUT.mp4 [--force]
//   plain MP4 files, one per run (OUT.mp4, OUT-run2.mp4, …)
// Every export is recorded in the audit log (node/audit_log.h) before it is published; when
// that fails nothing is published.
#include <iostream>

#include "node/audit_log.h"
#include "node/bundle.h"
#include "node/exporter.h"
#include "node/store.h"
#include "tools/cli.h"

namespace tcd::tools {
namespace {

struct ExportOptions {
  std::string data, session, key, passphrase_file, out, from, to, organization;
  bool force = false, only_session = false;
};

// Names that say "a file" but not an MP4: refused instead of becoming a bundle directory.
bool LooksLikeOtherFile(const std::string& out) {
  static const char* const kExt[] = {".mkv", ".mov",  ".avi", ".ts",   ".webm", ".m4v", ".flv",
                                     ".mpg", ".mpeg", ".wmv", ".3gp",  ".mp3",  ".wav", ".zip",
                                     ".tar", ".gz",   ".tgz", ".json", ".txt",  ".bin"};
  for (const char* e : kExt)
    if (out.ends_with(e)) return true;
  return false;
}

nlohmann::json AuditWhat(const ExportOptions& o, const std::string& sid,
                         const crypto::ArchiveKeyPair& key, bool bundle) {
  nlohmann::json w = {{"session", sid},
                      {"out", o.out},
                      {"kind", bundle ? "bundle" : "mp4"},
                      {"archive_key_id", crypto::KeyId(key.pub.box_pk)}};
  if (!o.from.empty()) w["from"] = o.from;
  if (!o.to.empty()) w["to"] = o.to;
  if (bundle) w["only_session"] = o.only_session;
  return w;
}

// Records a failed export (best effort: the failure is what the user sees).
void AuditFailure(const ExportOptions& o, const nlohmann::json& what, const Status& s) {
  Status a = node::AppendAudit(Env::Default(), o.data, "export", what,
                               s.IsUnauthenticated() ? "refused" : "failed", s.ToString());
  if (!a.ok()) std::cerr << "tcd: warning: the failure was not audited: " << a.message() << "\n";
}

int ExitFor(const Status& s) {
  return ReportError(s, s.IsInvalidArgument() ? kExitUsage : kExitFailed);
}

int ExportMp4(const ExportOptions& o, node::Store* store, const crypto::SessionId& id,
              const crypto::ArchiveKeyPair& key) {
  const nlohmann::json what = AuditWhat(o, crypto::SessionIdToString(id), key, false);
  auto progress = [](uint64_t done, uint64_t total) {
    if (done == total || done % 25 == 0)
      std::cerr << "\rexporting: " << done << "/" << total << " segments" << std::flush;
  };
  bool audited = false;
  auto publish = [&] {
    audited = true;
    return node::AppendAudit(Env::Default(), o.data, "export", what, "ok", "mp4")
        .WithContext("export refused");
  };
  auto result = node::ExportSession(store, id, key, o.out, progress, publish);
  std::cerr << "\n";
  if (!result.ok()) {
    if (!audited) AuditFailure(o, what, result.status());
    return ReportError(result.status());
  }
  for (const auto& f : result->files) std::cout << f << "\n";
  std::cerr << "exported " << result->segments << " segments, "
            << FormatDuration(result->media_duration_us) << ", " << result->bytes << " bytes"
            << (result->sealed ? "" : " (session NOT sealed)") << "\n";
  return kExitOk;
}

int ExportBundle(const ExportOptions& o, node::Store* store, const crypto::SessionId& id,
                 const crypto::ArchiveKeyPair& key, node::BundleOptions bo) {
  const nlohmann::json what = AuditWhat(o, crypto::SessionIdToString(id), key, true);
  bo.session = id;
  bo.progress = [](const node::BundleProgress& p) {
    if (p.entries_done == p.entries_total || p.entries_done % 25 == 0)
      std::cerr << "\rexporting: " << p.entries_done << "/" << p.entries_total << " segments, "
                << p.bytes_done << " bytes" << std::flush;
  };
  bool audited = false;
  bo.before_publish = [&] {
    audited = true;
    return node::AppendAudit(Env::Default(), o.data, "export", what, "ok", "bundle")
        .WithContext("export refused");
  };
  auto result = node::ExportBundle(store, key, bo);
  std::cerr << "\n";
  if (!result.ok()) {
    if (!audited) AuditFailure(o, what, result.status());
    return ExitFor(result.status());
  }
  std::cout << result->dir << "\n";
  for (const auto& f : result->mp4_files) std::cout << result->dir << "/" << f << "\n";
  std::cerr << "exported an evidence bundle of " << result->sessions.size() << " session(s)"
            << (result->clip ? " (clip " + FormatUtc(result->clip->from_us) + " to " +
                                   FormatUtc(result->clip->to_us) + ")"
                             : "")
            << ": " << result->segments << " segments, "
            << FormatDuration(result->media_duration_us) << ", " << result->payload.bytes
            << " bytes in " << result->payload.files << " files\n";
  for (const auto& s : result->unsealed)
    std::cerr << "note: session " << s << " is NOT sealed; the bundle holds what it had\n";
  for (const auto& s : result->unproven)
    std::cerr << "note: session " << s << " has no node-log proof in the bundle: no checkpoint "
              << "of its recorder's log covering it is kept here yet (the tiers cosign within "
              << "seconds of replication; export again to include the proof)\n";
  std::cerr << "check it with: tcd verify --bundle " << result->dir << "\n";
  return kExitOk;
}

// Option checks that need no key or store. Fills the bundle options from them.
Status CheckOptions(const ExportOptions& o, bool bundle, node::BundleOptions* bo) {
  if (!bundle && (!o.from.empty() || !o.to.empty() || o.only_session || !o.organization.empty()))
    return Status::InvalidArgument(
        "--from, --to, --only-session and --organization apply to an "
        "evidence bundle (--out DIR), not to --out '" +
        o.out + "'");
  if (!bundle && LooksLikeOtherFile(o.out))
    return Status::InvalidArgument("--out '" + o.out +
                                   "': give OUT.mp4 for a plain MP4 file, or "
                                   "a directory name for an evidence bundle");
  if (!o.force && Env::Default()->FileExists(o.out))
    return Status::InvalidArgument("--out '" + o.out +
                                   "' already exists; use --force to replace it");
  if (!o.from.empty()) {
    TCD_ASSIGN_OR_RETURN(bo->from, node::ParseTimeSpec(o.from, "--from"));
  }
  if (!o.to.empty()) {
    TCD_ASSIGN_OR_RETURN(bo->to, node::ParseTimeSpec(o.to, "--to"));
  }
  bo->out_dir = o.out;
  bo->force = o.force;
  bo->only_session = o.only_session;
  bo->organization = o.organization;
  return Status::OK();
}

int RunExport(const ExportOptions& o) {
  KeepLargeBuffers();
  const bool bundle = !o.out.ends_with(".mp4");
  node::BundleOptions bo;
  Status checked = CheckOptions(o, bundle && !LooksLikeOtherFile(o.out), &bo);
  if (!checked.ok()) return ReportError(checked, kExitUsage);
  Status init = crypto::InitCrypto();
  if (!init.ok()) return ReportError(init);
  auto key = LoadArchiveKey(o.key, o.passphrase_file);
  if (!key.ok()) return ReportError(key.status());
  node::StoreOptions so;
  so.read_only = true;
  auto store = node::Store::Open(Env::Default(), o.data, so);
  if (!store.ok()) return ReportError(store.status());
  auto id = (*store)->ResolveSession(o.session);
  if (!id.ok()) return ReportError(id.status());
  if (bundle) return ExportBundle(o, store->get(), *id, *key, std::move(bo));
  return ExportMp4(o, store->get(), *id, *key);
}

}  // namespace

Command AddExport(CLI::App& root) {
  auto o = std::make_shared<ExportOptions>();
  CLI::App* app = root.add_subcommand(
      "export", "Export a session as an evidence bundle (BagIt directory) or a plain MP4");
  app->add_option("--data", o->data, "Archive data directory")->required();
  app->add_option("--session", o->session, "Session id (or a unique prefix)")->required();
  app->add_option("--key", o->key, "archive.key of a recipient of the session")->required();
  app->add_option("--passphrase-file", o->passphrase_file, "Passphrase of the archive key");
  app->add_option("--out", o->out, "Bundle directory to create, or OUT.mp4 for plain MP4 files")
      ->required();
  app->add_option("--from", o->from,
                  "Clip start: RFC 3339, 'YYYY-MM-DD HH:MM:SS' (local time) or +SECONDS after "
                  "the session's start (bundle only)");
  app->add_option("--to", o->to, "Clip end, as --from (bundle only)");
  app->add_flag("--only-session", o->only_session,
                "Leave out the other sessions of the session's conference (bundle only)");
  app->add_option("--organization", o->organization,
                  "bag-info.txt Source-Organization: who exports (bundle only)");
  app->add_flag("--force", o->force, "Replace an existing output file or bundle");
  return {app, [o] { return RunExport(*o); }};
}

}  // namespace tcd::tools
