// swarm_bench: the simulated recorders. Each has its own node identity (so the province checks
// a distinct enrolled key and signer for every connection) and one or more small sealed
// sessions recorded by the real node::SessionRecorder (signed, encrypted to an archive key,
// random bytes standing in for media). The chains and blobs are then held in memory, so that
// playing 1,000 recorders costs the driver no disk reads and no RocksDB instances.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "crypto/keys.h"
#include "replicate/protocol.h"

namespace tcd::bench {

struct FleetShape {
  int recorders = 1000;
  int sessions = 1;            // sealed sessions per recorder
  int segments = 3;            // media segments per session (plus an init segment)
  size_t min_segment_bytes = 10 * 1024;  // each segment's size is drawn in [min, max]
  size_t max_segment_bytes = 50 * 1024;
  size_t init_bytes = 600;
};

struct SwarmSession {
  crypto::SessionId id{};
  std::vector<replicate::EntryWithSig> chain;  // as it travels in ENTRIES
};

struct SwarmRecorder {
  std::string point;  // "xa-0001": the enrolled point and HELLO point
  crypto::NodeIdentity identity;
  std::vector<SwarmSession> sessions;
  uint64_t payload_bytes = 0;  // encoded entries + signatures + blobs it has to send
};

struct SwarmFleet {
  std::vector<SwarmRecorder> recorders;
  std::map<crypto::Hash256, std::shared_ptr<const Bytes>> blobs;  // cipher blobs by hash
};

// Records the fleet into a scratch store under `scratch_dir` (best on tmpfs: recording is not
// what is measured), reads everything back into memory and removes the scratch store.
// Errors name the recorder and the step that failed.
Result<SwarmFleet> MakeFleet(const std::string& scratch_dir, const FleetShape& shape);

// Payload bytes of the first `n` recorders.
uint64_t PayloadBytes(const SwarmFleet& fleet, size_t n);

}  // namespace tcd::bench
