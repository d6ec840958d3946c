// swarm_bench: one real province `tcd node` process on loopback. Its keys, config and
// enrollment file (docs/FORMAT.md §Enrollment file: the first N recorders of the fleet) are
// written into a fresh directory; its [upstream] central archive is a port nobody listens on
// (a province whose central link is down: it keeps everything in its outbox and retries).
// Also: the process's memory from /proc, and the checks that it holds every session.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "crypto/keys.h"
#include "tools/bench/swarm_fleet.h"

namespace tcd::bench {

struct ProvinceOptions {
  std::string tcd;         // path of the tcd binary
  std::string dir;         // fresh directory for keys, config, data, log
  size_t recorders = 0;    // enroll the first N recorders of the fleet
  long nofile = 0;         // RLIMIT_NOFILE soft limit for the node (0: inherit)
};

class Province {
 public:
  // Writes keys, enrolled.json and province.toml (nothing is started).
  static Result<std::unique_ptr<Province>> Prepare(const SwarmFleet& fleet,
                                                   const ProvinceOptions& o);
  ~Province();  // kills the node if it still runs

  // Starts `tcd node` and waits until it answers `tcd status` (errors carry its log's tail).
  Status Start();
  // SIGTERM and wait (SIGKILL after 30 s). Error when it did not exit cleanly.
  Status Stop();
  pid_t pid() const { return pid_; }
  std::string address() const { return address_; }
  const crypto::PublicKey& transport_pk() const { return transport_pk_; }
  std::string data() const { return dir_ + "/data"; }
  std::string LogTail(size_t bytes = 3000) const;

  // `tcd sessions --data DIR --json`: every expected session is there, sealed, media complete
  // (the list names the first few that are not).
  Status CheckSessions(const std::vector<std::string>& expected_ids) const;
  // `tcd verify --data DIR --json` (hashes, chains, signatures, seals): exit 0.
  Status Verify() const;

 private:
  Province() = default;
  std::string tcd_, dir_, address_;
  crypto::PublicKey transport_pk_{};
  long nofile_ = 0;
  pid_t pid_ = -1;
};

// VmRSS and VmHWM of a process in KiB (0 when it is gone).
struct Mem {
  uint64_t rss_kb = 0, hwm_kb = 0;
};
Mem ReadMem(pid_t pid);

// Runs `command` through sh, returns its exit code and stdout.
int RunCapture(const std::string& command, std::string* out);

}  // namespace tcd::bench
