// tcd keygen --kind node|archive --out DIR [--passphrase-file F] [--force]
#include <iostream>

#include "tools/cli.h"

namespace tcd::tools {
namespace {

struct KeygenOptions {
  std::string kind, out, passphrase_file;
  bool force = false;
};

Status WriteKeyPair(const std::string& dir, const std::string& name, const std::string& secret,
                    const std::string& pub, bool force) {
  Env* env = Env::Default();
  std::string key_path = dir + "/" + name + ".key", pub_path = dir + "/" + name + ".pub";
  if (!force && (env->FileExists(key_path) || env->FileExists(pub_path)))
    return Status::InvalidArgument(key_path + " already exists; refusing to overwrite a key " +
                                   "(losing it loses access to what it protects); use --force");
  TCD_RETURN_IF_ERROR(env->CreateDirs(dir));
  TCD_RETURN_IF_ERROR(env->WriteFileDurably(key_path, AsBytes(secret), 0600));
  TCD_RETURN_IF_ERROR(env->WriteFileDurably(pub_path, AsBytes(pub), 0644));
  std::cout << "wrote " << key_path << " (secret, mode 0600) and " << pub_path << "\n";
  return Status::OK();
}

int RunKeygen(const KeygenOptions& o) {
  Status init = crypto::InitCrypto();
  if (!init.ok()) return ReportError(init);
  if (o.kind == "node") {
    if (!o.passphrase_file.empty())
      return ReportError(Status::InvalidArgument(
          "--passphrase-file applies to archive keys only (a node key must start unattended)"),
          kExitUsage);
    crypto::NodeIdentity id = crypto::GenerateNodeIdentity();
    Status s = WriteKeyPair(o.out, "node", crypto::EncodeNodeKey(id),
                            crypto::EncodeNodePub(id.pub), o.force);
    if (!s.ok()) return ReportError(s, s.IsInvalidArgument() ? kExitUsage : kExitFailed);
    std::cout << "node key id " << crypto::KeyId(id.pub.sign_pk) << "\n";
    return kExitOk;
  }
  auto passphrase = ReadPassphrase(o.passphrase_file);
  if (!passphrase.ok()) return ReportError(passphrase.status());
  crypto::ArchiveKeyPair key = crypto::GenerateArchiveKey();
  auto secret = crypto::EncodeArchiveKey(key, *passphrase);
  if (!secret.ok()) return ReportError(secret.status());
  Status s = WriteKeyPair(o.out, "archive", *secret, crypto::EncodeArchivePub(key.pub), o.force);
  if (!s.ok()) return ReportError(s, s.IsInvalidArgument() ? kExitUsage : kExitFailed);
  std::cout << "archive key id " << crypto::KeyId(key.pub.box_pk)
            << (passphrase->has_value() ? " (passphrase-protected)" : " (NOT passphrase-protected)")
            << "\n";
  return kExitOk;
}

}  // namespace

Command AddKeygen(CLI::App& root) {
  auto o = std::make_shared<KeygenOptions>();
  CLI::App* app = root.add_subcommand("keygen", "Create a node identity or an archive key pair");
  app->add_option("--kind", o->kind, "node (signing + transport keys) or archive (recipient)")
      ->required()
      ->check(CLI::IsMember({"node", "archive"}));
  app->add_option("--out", o->out, "Directory for the .key and .pub files")->required();
  app->add_option("--passphrase-file", o->passphrase_file,
                  "Protect the archive secret key with the passphrase in this file (Argon2id)");
  app->add_flag("--force", o->force, "Overwrite existing key files");
  return {app, [o] { return RunKeygen(*o); }};
}

}  // namespace tcd::tools
