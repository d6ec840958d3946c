#include "tools/bench/swarm_fleet.h"

#include <cstdio>
#include <filesystem>
#include <random>

#include "base/env.h"
#include "ingest/capture.h"
#include "node/session_recorder.h"
#include "node/store.h"

namespace tcd::bench {
namespace {

Bytes RandomBytes(std::mt19937_64& rng, size_t n) {
  Bytes b(n);
  for (auto& c : b) c = static_cast<uint8_t>(rng());
  return b;
}

// One sealed session of `signer`: init, `shape.segments` segments, seal.
Result<crypto::SessionId> Record(node::Store* store, const SwarmRecorder& r,
                                 const crypto::ArchivePublic& archive, std::mt19937_64& rng,
                                 const FleetShape& shape) {
  TCD_ASSIGN_OR_RETURN(auto rec, node::SessionRecorder::Start(
                                     store, &r.identity, {archive},
                                     {{"point", r.point}, {"note", "swarm_bench"}}));
  TCD_RETURN_IF_ERROR(rec->OnInit(0, RandomBytes(rng, shape.init_bytes), "avc1.64001f"));
  const int64_t t0 = rec->record().start_us;
  std::uniform_int_distribution<size_t> size(shape.min_segment_bytes, shape.max_segment_bytes);
  for (int i = 0; i < shape.segments; ++i) {
    ingest::MediaSegment seg;
    seg.index = static_cast<uint64_t>(i);
    seg.data = RandomBytes(rng, size(rng));
    seg.media_start_us = i * 2'000'000LL;
    seg.duration_us = 2'000'000;
    seg.wall_start_us = t0 + seg.media_start_us;
    TCD_RETURN_IF_ERROR(rec->OnSegment(std::move(seg)));
  }
  TCD_RETURN_IF_ERROR(rec->Seal(crypto::SealReason::kStopped));
  return rec->id();
}

// Reads a recorded session back: its chain into `s`, its blobs into `fleet.blobs`.
Status Load(node::Store* store, SwarmFleet& fleet, SwarmRecorder& r, SwarmSession& s) {
  TCD_ASSIGN_OR_RETURN(auto chain, store->catalog()->GetChain(s.id));
  for (auto& [seq, cr] : chain) {
    if (seq != s.chain.size())
      return Status::Corruption("session " + crypto::SessionIdToString(s.id) + ": hole at seq " +
                                std::to_string(s.chain.size()));
    r.payload_bytes += cr.entry.size() + cr.signature.size();
    TCD_ASSIGN_OR_RETURN(auto e, crypto::DecodeEntry(cr.entry));
    if (e.kind == crypto::EntryKind::kInit || e.kind == crypto::EntryKind::kSegment) {
      TCD_ASSIGN_OR_RETURN(Bytes blob, store->blobs()->Get(e.cipher_hash));
      r.payload_bytes += blob.size();
      fleet.blobs[e.cipher_hash] = std::make_shared<const Bytes>(std::move(blob));
    }
    s.chain.push_back({std::move(cr.entry), cr.signature});
  }
  return Status::OK();
}

}  // namespace

Result<SwarmFleet> MakeFleet(const std::string& scratch_dir, const FleetShape& shape) {
  SwarmFleet fleet;
  const std::string dir = scratch_dir + "/recorders";
  node::StoreOptions so;
  so.min_free_bytes = 1 << 20;  // the scratch dir may be a small tmpfs
  so.role = "recorder";
  auto store = node::Store::Open(Env::Default(), dir, so);
  if (!store.ok())
    return Status::IOError("scratch recorder store " + dir + ": " + store.status().ToString());
  const crypto::ArchiveKeyPair archive = crypto::GenerateArchiveKey();
  std::mt19937_64 rng(20261123);
  fleet.recorders.reserve(shape.recorders);
  for (int i = 0; i < shape.recorders; ++i) {
    SwarmRecorder r;
    char point[32];
    std::snprintf(point, sizeof point, "xa-%04d", i + 1);
    r.point = point;
    r.identity = crypto::GenerateNodeIdentity();
    for (int k = 0; k < shape.sessions; ++k) {
      auto id = Record(store->get(), r, archive.pub, rng, shape);
      if (!id.ok())
        return Status::IOError("recording session " + std::to_string(k) + " of " + r.point +
                               ": " + id.status().ToString());
      r.sessions.push_back({*id, {}});
    }
    for (auto& s : r.sessions) {
      Status st = Load(store->get(), fleet, r, s);
      if (!st.ok()) return Status::IOError("reading back " + r.point + ": " + st.ToString());
    }
    fleet.recorders.push_back(std::move(r));
  }
  store->reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return fleet;
}

uint64_t PayloadBytes(const SwarmFleet& fleet, size_t n) {
  uint64_t b = 0;
  for (size_t i = 0; i < n && i < fleet.recorders.size(); ++i) b += fleet.recorders[i].payload_bytes;
  return b;
}

}  // namespace tcd::bench
