// swarm_bench: plays the first N recorders of a fleet against a province, all connected at
// once, with the real wire protocol (replicate/protocol.h) over the real transport settings
// (replicate/curve.h: CurveZMQ client with each recorder's own transport key, heartbeats,
// high-water marks). One thread and one ZeroMQ context drive every DEALER: a lean stand-in for
// N replicate::Sender objects, which would each need a RocksDB store and three threads.
//
// What a recorder does here is what tcd's sender does on the wire (docs/FORMAT.md
// §Conversation): HELLO on connect (again after `not-welcome`), ENTRIES of every session
// (resent when unacknowledged for 30 s), CHUNK/UNAVAILABLE for every FETCH, QUERY every 3 s for
// a session whose entries are stored but whose blobs are not all held, a keepalive QUERY after
// 30 s of silence. Not simulated: node-log cosigning (LOG/COSIGNED) and the bandwidth cap.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "base/status.h"
#include "crypto/keys.h"
#include "tools/bench/swarm_fleet.h"

namespace tcd::bench {

struct SwarmOptions {
  std::string address;           // tcp://127.0.0.1:PORT of the province
  crypto::PublicKey province_pk{};  // its transport key
  size_t recorders = 0;          // the first N of the fleet
  double timeout_s = 900;        // to hold every session (an error after that)
  // Called with "welcomed" once every recorder has its WELCOME, before any ENTRIES is sent
  // (the driver samples the province's memory with N idle connections), and with "held" when
  // every session is held, before the connections close.
  std::function<void(const std::string& phase)> on_phase;
};

struct SwarmResult {
  double welcomed_s = 0;   // from the first connect until every recorder had its WELCOME
  double held_s = 0;       // from the first connect until every session was acknowledged held
  double transfer_s = 0;   // from the first ENTRIES until every session was held
  uint64_t fetches = 0;    // FETCH requests answered
  uint64_t errors = 0;     // ERROR messages received (logged to stderr, the first few)
  uint64_t resends = 0;    // ENTRIES sent again after 30 s without an ack
};

// Runs the swarm until every session of the N recorders is acknowledged held, or an error:
// a rejected session (the detail names it), or the timeout (naming how many were held).
Result<SwarmResult> RunSwarm(const SwarmFleet& fleet, const SwarmOptions& options);

}  // namespace tcd::bench
