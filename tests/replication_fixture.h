// Three real `tcd node` processes on loopback — a commune recorder, a province and the central
// archive — with a fault-injecting TCP proxy on each link (recorder → proxy → province,
// province → proxy → central), for the replication tests. Keys, enrollments and configs are
// made in a temp dir; sessions are recorded into the recorder's store before it starts
// (synthetic media: the replication path checks hashes and signatures, not codecs).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tests/node_fixture.h"
#include "tests/tcp_proxy.h"
#include "tests/test_util.h"

namespace tcd {

struct TrioOptions {
  double rec_max_mbit = 0;     // the recorder's upstream cap (0 = unlimited)
  double retention_days = 0;   // the recorder's retention
  bool enroll_recorder = true;
  bool enroll_province = true;
};

struct SyntheticSession {
  std::string id;
  uint64_t entries = 0;
};

class Trio {
 public:
  enum Tier { kRecorder = 0, kProvince = 1, kCentral = 2 };
  Trio(const testing::TempDir& dir, const TrioOptions& o);

  // Records `sessions` sealed sessions of an init + `segments` segments of `bytes` random
  // bytes each at the commune. REQUIRES: the recorder is not running.
  std::vector<SyntheticSession> Record(int sessions, int segments, size_t bytes);
  // Every byte the recorder had to send: encoded entries + signatures + blobs.
  uint64_t payload_bytes() const { return payload_bytes_; }

  Node& node(Tier t) { return *nodes_[t]; }
  void Start(Tier t);  // starts and waits until it answers status
  testing::TcpProxy& rec_link() { return *rec_link_; }
  testing::TcpProxy& prov_link() { return *prov_link_; }
  std::string data(Tier t) const { return dir_ / (std::string(kNames[t]) + "/data"); }
  std::string pub(Tier t) const { return dir_ / (std::string(kNames[t]) + "/node.pub"); }
  std::string config(Tier t) const { return dir_ / (std::string(kNames[t]) + ".toml"); }
  std::string archive_key() const { return dir_ / "archive/archive.key"; }

  // Sessions at tier `t` that are sealed and hold every blob (read-only, while it runs).
  int CompleteAt(Tier t);
  // Ids of those sessions (id order).
  std::vector<std::string> CompleteIdsAt(Tier t);
  std::string Logs();

 private:
  static constexpr const char* kNames[3] = {"rec", "prov", "cen"};
  void WriteConfigs(const TrioOptions& o);
  const testing::TempDir& dir_;
  std::unique_ptr<testing::TcpProxy> rec_link_, prov_link_;
  int prov_port_ = 0, cen_port_ = 0;
  std::unique_ptr<Node> nodes_[3];
  uint64_t payload_bytes_ = 0;
};

// The resident set size of a process in bytes (0 when it is gone).
uint64_t RssBytes(int pid);

}  // namespace tcd
