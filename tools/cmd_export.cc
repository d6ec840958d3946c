// tcd export --data DIR --session ID --key archive.key [--passphrase-file F] --out OUT.mp4
#include <iostream>

#include "node/exporter.h"
#include "node/store.h"
#include "tools/cli.h"

namespace tcd::tools {
namespace {

struct ExportOptions {
  std::string data, session, key, passphrase_file, out;
  bool force = false;
};

int RunExport(const ExportOptions& o) {
  if (!o.out.ends_with(".mp4"))
    return ReportError(Status::InvalidArgument("--out '" + o.out + "' must end in .mp4"),
                       kExitUsage);
  if (!o.force && Env::Default()->FileExists(o.out))
    return ReportError(Status::InvalidArgument("--out '" + o.out +
                                               "' already exists; use --force to replace it"),
                       kExitUsage);
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
  auto progress = [](uint64_t done, uint64_t total) {
    if (done == total || done % 25 == 0)
      std::cerr << "\rexporting: " << done << "/" << total << " segments" << std::flush;
  };
  auto result = node::ExportSession(store->get(), *id, *key, o.out, progress);
  std::cerr << "\n";
  if (!result.ok()) return ReportError(result.status());
  for (const auto& f : result->files) std::cout << f << "\n";
  std::cerr << "exported " << result->segments << " segments, "
            << FormatDuration(result->media_duration_us) << ", " << result->bytes
            << " bytes" << (result->sealed ? "" : " (session NOT sealed)") << "\n";
  return kExitOk;
}

}  // namespace

Command AddExport(CLI::App& root) {
  auto o = std::make_shared<ExportOptions>();
  CLI::App* app = root.add_subcommand("export", "Decrypt a session into a playable MP4");
  app->add_option("--data", o->data, "Archive data directory")->required();
  app->add_option("--session", o->session, "Session id (or a unique prefix)")->required();
  app->add_option("--key", o->key, "archive.key of a recipient of the session")->required();
  app->add_option("--passphrase-file", o->passphrase_file, "Passphrase of the archive key");
  app->add_option("--out", o->out, "Output file, ending in .mp4")->required();
  app->add_flag("--force", o->force, "Replace an existing output file");
  return {app, [o] { return RunExport(*o); }};
}

}  // namespace tcd::tools
