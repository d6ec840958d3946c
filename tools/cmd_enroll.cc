// tcd enroll --data DIR --pub NODE.pub --point ID      enroll a node (DATA/enrolled.json)
// tcd enroll --data DIR --revoke (--pub NODE.pub | --point ID)
// tcd enroll --data DIR --list [--json]
// Works while the node runs: the running node picks up the change within a second.
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "replicate/enrollment.h"
#include "tools/cli.h"

namespace tcd::tools {
namespace {

struct EnrollOptions {
  std::string data, pub, point;
  bool revoke = false, list = false, json = false;
};

Status Usage(const std::string& m) { return Status::InvalidArgument(m); }

// Names enrolled.json in an error that does not name it yet.
int Fail(const Status& s, const std::string& data) {
  const std::string path = replicate::EnrollmentPath(data);
  return ReportError(s.message().find(path) == std::string::npos ? s.WithContext(path) : s);
}

// node.pub, with a pointed message for the common mistake of handing over node.key.
Result<crypto::NodePublic> LoadNodePub(const std::string& path) {
  TCD_ASSIGN_OR_RETURN(std::string text, ReadTextFile(path, "node public key"));
  auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_object() && doc.value("format", "") == "tcd-node-key")
    return Status::InvalidArgument(path + " is a node SECRET key: enroll its node.pub instead "
                                   "(and treat this copy of the secret key as compromised)");
  return crypto::DecodeNodePub(text, path);
}

std::string Revoked(const replicate::EnrolledNode& n) {
  return n.revoked_us ? FormatUtc(n.revoked_us) : "active";
}

int List(Env* env, const EnrollOptions& o) {
  auto nodes = replicate::LoadEnrollment(env, o.data);
  if (!nodes.ok()) return Fail(nodes.status(), o.data);
  if (o.json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& n : *nodes)
      out.push_back({{"point", n.point},
                     {"key_id", crypto::KeyId(n.pub.sign_pk)},
                     {"transport_key_id", crypto::KeyId(n.pub.transport_pk)},
                     {"sign_pk", ToHex(n.pub.sign_pk)},
                     {"transport_pk", ToHex(n.pub.transport_pk)},
                     {"enrolled", FormatUtc(n.enrolled_us)},
                     {"enrolled_us", n.enrolled_us},
                     {"revoked", n.revoked_us ? FormatUtc(n.revoked_us) : ""},
                     {"revoked_us", n.revoked_us},
                     {"active", n.revoked_us == 0}});
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  size_t w = 5;
  for (const auto& n : *nodes) w = std::max(w, n.point.size());
  std::printf("%-*s  %-16s  %-20s  %s\n", int(w), "POINT", "KEY ID", "ENROLLED", "REVOKED");
  for (const auto& n : *nodes)
    std::printf("%-*s  %-16s  %-20s  %s\n", int(w), n.point.c_str(),
                crypto::KeyId(n.pub.sign_pk).c_str(), FormatUtc(n.enrolled_us).c_str(),
                Revoked(n).c_str());
  return kExitOk;
}

int RunEnroll(const EnrollOptions& o) {
  Env* env = Env::Default();
  if (o.list) return List(env, o);
  if (o.revoke) {
    if (o.pub.empty() == o.point.empty())
      return ReportError(Usage("--revoke takes exactly one of --pub or --point"), kExitUsage);
    if (!o.point.empty()) {
      Status s = replicate::RevokePoint(env, o.data, o.point);
      if (!s.ok()) return Fail(s, o.data);
      std::cout << "revoked " << o.point << "\n";
      return kExitOk;
    }
    auto pub = LoadNodePub(o.pub);
    if (!pub.ok()) return ReportError(pub.status());
    Status s = replicate::RevokeKey(env, o.data, *pub);
    if (!s.ok()) return Fail(s, o.data);
    std::cout << "revoked key " << crypto::KeyId(pub->sign_pk) << "\n";
    return kExitOk;
  }
  if (o.pub.empty() || o.point.empty())
    return ReportError(Usage("enrolling needs --pub NODE.pub and --point ID "
                             "(or use --list, or --revoke)"), kExitUsage);
  auto pub = LoadNodePub(o.pub);
  if (!pub.ok()) return ReportError(pub.status());
  Status s = replicate::Enroll(env, o.data, o.point, *pub);
  if (!s.ok()) return Fail(s, o.data);
  std::cout << "enrolled " << o.point << ": key " << crypto::KeyId(pub->sign_pk)
            << " (transport " << crypto::KeyId(pub->transport_pk) << ")\n";
  return kExitOk;
}

}  // namespace

Command AddEnroll(CLI::App& root) {
  auto o = std::make_shared<EnrollOptions>();
  CLI::App* app = root.add_subcommand(
      "enroll", "Enroll, revoke or list the nodes this upstream node accepts (enrolled.json)");
  app->add_option("--data", o->data, "Data directory of the upstream node")->required();
  auto* pub = app->add_option("--pub", o->pub, "The node's node.pub file");
  auto* point = app->add_option("--point", o->point, "Reception point / archive id");
  auto* revoke = app->add_flag("--revoke", o->revoke, "Revoke (by --pub or --point)");
  auto* list = app->add_flag("--list", o->list, "List enrolled and revoked nodes");
  auto* json = app->add_flag("--json", o->json, "With --list: JSON output");
  list->excludes(pub)->excludes(point)->excludes(revoke);
  json->needs(list);
  return {app, [o] { return RunEnroll(*o); }};
}

}  // namespace tcd::tools
