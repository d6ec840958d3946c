// DATA/enrolled.json:
//   {"format": "tcd-enrolled", "version": 1, "nodes": [{"point", "sign_pk", "transport_pk",
//    "key_id", "enrolled", "enrolled_us", "revoked_us"}, …]}
// "key_id" (KeyId of sign_pk) and "enrolled" (RFC 3339) are informative; a reader checks key_id.
#include "replicate/enrollment.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "base/time_format.h"

namespace tcd::replicate {
namespace {

using Json = nlohmann::ordered_json;
constexpr const char* kFormat = "tcd-enrolled";
constexpr int kVersion = 1;
constexpr int64_t kRecheckMicros = 200000;

bool SameKey(const crypto::NodePublic& a, const crypto::NodePublic& b) {
  return a.sign_pk == b.sign_pk || a.transport_pk == b.transport_pk;
}

std::string Describe(const EnrolledNode& n) {
  return "key " + crypto::KeyId(n.pub.sign_pk) + " (point " + n.point + ")";
}

// The exclusive writer lock DATA/enrolled.lock, held for the object's lifetime. flock locks
// belong to the open file description, so two threads of one process exclude each other too.
class WriterLock {
 public:
  ~WriterLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }
  Status Acquire(const std::string& path) {
    do {
      fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    } while (fd_ < 0 && errno == EINTR);
    if (fd_ < 0) return Status::IOError("open " + path + ": " + std::strerror(errno));
    int rc;
    do {
      rc = ::flock(fd_, LOCK_EX);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) return Status::IOError("flock " + path + ": " + std::strerror(errno));
    return Status::OK();
  }

 private:
  int fd_ = -1;
};

Result<crypto::PublicKey> ParseKey(const Json& j, const std::string& where) {
  if (!j.is_string()) return Status::Corruption(where + ": expected a string");
  const auto& s = j.get_ref<const std::string&>();
  auto b = FromHex(s);
  if (s.size() != 64 || !b) return Status::Corruption(where + ": expected 64 hex chars");
  crypto::PublicKey k;
  std::copy(b->begin(), b->end(), k.begin());
  return k;
}

Result<int64_t> ParseTime(const Json& j, const std::string& where) {
  if (!j.is_number_integer() || j.get<int64_t>() < 0)
    return Status::Corruption(where + ": expected a non-negative integer");
  return j.get<int64_t>();
}

Result<EnrolledNode> ParseNode(const Json& j, const std::string& where) {
  if (!j.is_object()) return Status::Corruption(where + ": expected an object");
  for (const char* f : {"point", "sign_pk", "transport_pk", "enrolled_us", "revoked_us"})
    if (!j.contains(f)) return Status::Corruption(where + "." + f + ": missing");
  EnrolledNode n;
  if (!j["point"].is_string() || j["point"].get_ref<const std::string&>().empty())
    return Status::Corruption(where + ".point: expected a non-empty string");
  n.point = j["point"].get<std::string>();
  TCD_ASSIGN_OR_RETURN(n.pub.sign_pk, ParseKey(j["sign_pk"], where + ".sign_pk"));
  TCD_ASSIGN_OR_RETURN(n.pub.transport_pk, ParseKey(j["transport_pk"], where + ".transport_pk"));
  TCD_ASSIGN_OR_RETURN(n.enrolled_us, ParseTime(j["enrolled_us"], where + ".enrolled_us"));
  TCD_ASSIGN_OR_RETURN(n.revoked_us, ParseTime(j["revoked_us"], where + ".revoked_us"));
  if (j.contains("key_id") && j["key_id"] != crypto::KeyId(n.pub.sign_pk))
    return Status::Corruption(where + ".key_id: does not match sign_pk");
  return n;
}

std::string Encode(const std::vector<EnrolledNode>& nodes) {
  Json doc = {{"format", kFormat}, {"version", kVersion}, {"nodes", Json::array()}};
  for (const auto& n : nodes) {
    doc["nodes"].push_back({{"point", n.point},
                            {"sign_pk", ToHex(n.pub.sign_pk)},
                            {"transport_pk", ToHex(n.pub.transport_pk)},
                            {"key_id", crypto::KeyId(n.pub.sign_pk)},
                            {"enrolled", FormatUtc(n.enrolled_us)},
                            {"enrolled_us", n.enrolled_us},
                            {"revoked_us", n.revoked_us}});
  }
  return doc.dump(2) + "\n";
}

// Read-modify-write under the writer lock. `change` edits the list and sets *changed when
// the file must be rewritten.
Status Modify(Env* env, const std::string& data_dir,
              const std::function<Status(std::vector<EnrolledNode>*, bool*)>& change) {
  TCD_RETURN_IF_ERROR(env->CreateDirs(data_dir));
  WriterLock lock;
  TCD_RETURN_IF_ERROR(lock.Acquire(data_dir + "/enrolled.lock"));
  TCD_ASSIGN_OR_RETURN(std::vector<EnrolledNode> nodes, LoadEnrollment(env, data_dir));
  bool changed = false;
  TCD_RETURN_IF_ERROR(change(&nodes, &changed));
  if (!changed) return Status::OK();
  return env->WriteFileDurably(EnrollmentPath(data_dir), AsBytes(Encode(nodes)));
}

Status Revoke(Env* env, const std::string& data_dir,
              const std::function<bool(const EnrolledNode&)>& match, const std::string& what) {
  return Modify(env, data_dir, [&](std::vector<EnrolledNode>* nodes, bool* changed) {
    int64_t now = env->NowMicros();
    for (auto& n : *nodes) {
      if (n.revoked_us != 0 || !match(n)) continue;
      n.revoked_us = now > 0 ? now : 1;
      *changed = true;
    }
    return *changed ? Status::OK() : Status::NotFound(what + " is not enrolled (or is revoked)");
  });
}

}  // namespace

std::string EnrollmentPath(const std::string& data_dir) { return data_dir + "/enrolled.json"; }

Result<std::vector<EnrolledNode>> LoadEnrollment(Env* env, const std::string& data_dir) {
  const std::string path = EnrollmentPath(data_dir);
  auto data = env->ReadFile(path);
  if (!data.ok()) {
    if (data.status().IsNotFound()) return std::vector<EnrolledNode>();
    return data.status();
  }
  Json doc = Json::parse(AsChars(*data), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object())
    return Status::Corruption(path + ": not a JSON object");
  if (doc.value("format", Json()) != kFormat)
    return Status::Corruption(path + ": format: expected \"" + kFormat + "\"");
  if (doc.value("version", Json()) != kVersion)
    return Status::Corruption(path + ": version: expected " + std::to_string(kVersion));
  if (!doc.contains("nodes") || !doc["nodes"].is_array())
    return Status::Corruption(path + ": nodes: expected an array");
  std::vector<EnrolledNode> nodes;
  for (size_t i = 0; i < doc["nodes"].size(); ++i) {
    TCD_ASSIGN_OR_RETURN(EnrolledNode n,
                         ParseNode(doc["nodes"][i], path + ": nodes[" + std::to_string(i) + "]"));
    nodes.push_back(std::move(n));
  }
  return nodes;
}

Status Enroll(Env* env, const std::string& data_dir, const std::string& point,
              const crypto::NodePublic& pub) {
  bool printable = IsValidUtf8(AsBytes(point)) &&
                   std::none_of(point.begin(), point.end(),
                                [](char c) { return static_cast<unsigned char>(c) < 0x20; });
  if (point.empty() || point.size() > 128 || !printable)
    return Status::InvalidArgument("enroll: point id '" + point +
                                   "' must be 1-128 bytes of UTF-8 without control characters");
  const std::string key = "key " + crypto::KeyId(pub.sign_pk);
  return Modify(env, data_dir, [&](std::vector<EnrolledNode>* nodes, bool* changed) {
    for (const auto& n : *nodes) {
      if (n.revoked_us != 0) continue;
      if (n.point == point && n.pub.sign_pk == pub.sign_pk &&
          n.pub.transport_pk == pub.transport_pk)
        return Status::OK();  // already enrolled: nothing to do
      if (SameKey(n.pub, pub))
        return Status::InvalidArgument("cannot enroll " + key + " as point " + point +
                                       ": it is active as " + Describe(n) + "; revoke it first");
      if (n.point == point)
        return Status::InvalidArgument("cannot enroll " + key + " as point " + point +
                                       ": the point is held by active " + Describe(n) +
                                       "; revoke it first");
    }
    EnrolledNode n;
    n.point = point;
    n.pub = pub;
    n.enrolled_us = env->NowMicros();
    nodes->push_back(std::move(n));
    *changed = true;
    return Status::OK();
  });
}

Status RevokeKey(Env* env, const std::string& data_dir, const crypto::NodePublic& pub) {
  return Revoke(env, data_dir, [&](const EnrolledNode& n) { return SameKey(n.pub, pub); },
                "key " + crypto::KeyId(pub.sign_pk));
}

Status RevokePoint(Env* env, const std::string& data_dir, const std::string& point) {
  return Revoke(env, data_dir, [&](const EnrolledNode& n) { return n.point == point; },
                "point " + point);
}

AllowList::AllowList(Env* env, std::string data_dir)
    : env_(env), data_dir_(std::move(data_dir)) {}

std::optional<EnrolledNode> AllowList::Find(const crypto::PublicKey& transport_pk) {
  std::lock_guard<std::mutex> l(mu_);
  RefreshLocked();
  for (const auto& n : nodes_)
    if (n.revoked_us == 0 && n.pub.transport_pk == transport_pk) return n;
  return std::nullopt;
}

std::string AllowList::WhyRefused(const crypto::PublicKey& transport_pk) {
  std::lock_guard<std::mutex> l(mu_);
  RefreshLocked();
  const std::string key = "transport key " + crypto::KeyId(transport_pk);
  const EnrolledNode* revoked = nullptr;
  for (const auto& n : nodes_) {
    if (n.pub.transport_pk != transport_pk) continue;
    if (n.revoked_us == 0) return key + " (point " + n.point + ") is enrolled";
    if (!revoked || n.revoked_us > revoked->revoked_us) revoked = &n;
  }
  if (!revoked) return key + " is not enrolled";
  return key + " (point " + revoked->point + ") was revoked at " + FormatUtc(revoked->revoked_us);
}

void AllowList::RefreshLocked() {
  int64_t now = env_->MonotonicMicros();
  if (!stamp_.empty() && now - checked_us_ < kRecheckMicros) return;
  checked_us_ = now;
  const std::string path = EnrollmentPath(data_dir_);
  struct stat st;
  std::string stamp = "absent";
  if (::stat(path.c_str(), &st) == 0) {
    stamp = std::to_string(st.st_size) + "/" + std::to_string(st.st_mtim.tv_sec) + "." +
            std::to_string(st.st_mtim.tv_nsec) + "/" + std::to_string(st.st_ino);
  }
  if (stamp == stamp_) return;
  stamp_ = stamp;  // a damaged file is reported once, not every 200 ms
  auto nodes = LoadEnrollment(env_, data_dir_);
  if (!nodes.ok()) {
    spdlog::error("enrollment list not reloaded, keeping the last good one ({} nodes): {}",
                  nodes_.size(), nodes.status().ToString());
    return;
  }
  nodes_ = std::move(*nodes);
}

}  // namespace tcd::replicate
