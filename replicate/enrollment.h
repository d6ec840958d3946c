// Enrollment: which downstream nodes an upstream node (province, central) accepts (DESIGN.md
// §4: "upstream nodes accept only enrolled node keys"). The list lives in DATA/enrolled.json
// (docs/FORMAT.md §Enrollment file), written durably and atomically under an exclusive lock
// (DATA/enrolled.lock, flock) so that `tcd enroll` works while the node runs; the running node
// re-reads it when it changes. A revoked node stays in the file with its revocation time (the
// record of who was enrolled when is evidence too).
//
// Thread-safety: the static functions may be called from several processes at once (the lock
// serializes writers). AllowList is safe for concurrent use.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/env.h"
#include "base/status.h"
#include "crypto/keys.h"

namespace tcd::replicate {

struct EnrolledNode {
  std::string point;       // reception point / archive id given at enrollment
  crypto::NodePublic pub;  // its signing and transport keys
  int64_t enrolled_us = 0; // UTC µs
  int64_t revoked_us = 0;  // UTC µs; 0 = active
};

// DATA/enrolled.json
std::string EnrollmentPath(const std::string& data_dir);

// Every node ever enrolled, in file order. A missing file is an empty list; a damaged one is
// Corruption naming the file and the field ("enrolled.json: nodes[3].transport_pk: …").
Result<std::vector<EnrolledNode>> LoadEnrollment(Env* env, const std::string& data_dir);

// Enrolls `pub` as `point`. Re-enrolling an active node with the same point is OK (no change);
// enrolling a key that is active under another point, or a point that another active key
// holds, is InvalidArgument naming both; a revoked key may be enrolled again (new record).
Status Enroll(Env* env, const std::string& data_dir, const std::string& point,
              const crypto::NodePublic& pub);
// Revokes the active node with this signing or transport key (NotFound if none is active).
Status RevokeKey(Env* env, const std::string& data_dir, const crypto::NodePublic& pub);
// Revokes the active node enrolled as `point` (NotFound if none).
Status RevokePoint(Env* env, const std::string& data_dir, const std::string& point);

// The running node's view of enrolled.json, re-read when the file's size or mtime changed
// (checked at most every 200 ms), so an enrollment or revocation takes effect within a second
// without a restart. A file that became unreadable keeps the last good list and logs an error.
class AllowList {
 public:
  AllowList(Env* env, std::string data_dir);
  // The active node with this transport key; nullopt when unknown or revoked.
  std::optional<EnrolledNode> Find(const crypto::PublicKey& transport_pk);
  // For logs and errors: "key 1a2b… is not enrolled" / "key 1a2b… (point xa-01) was revoked
  // at 2026-11-22T10:00:00Z".
  std::string WhyRefused(const crypto::PublicKey& transport_pk);

 private:
  void RefreshLocked();  // REQUIRES: mu_ held

  Env* const env_;
  const std::string data_dir_;
  std::mutex mu_;
  std::vector<EnrolledNode> nodes_;  // GUARDED_BY(mu_)
  int64_t checked_us_ = 0;           // GUARDED_BY(mu_) monotonic time of the last stat
  std::string stamp_;                // GUARDED_BY(mu_) size+mtime seen last
};

}  // namespace tcd::replicate
