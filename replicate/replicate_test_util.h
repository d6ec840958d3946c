// Test support shared by the replicate tests (not part of tcd_replicate): synthetic sessions
// recorded by a real node::SessionRecorder into a "recorder" store, random bytes standing in for
// media, and the recorder's chains turned into the ENTRIES messages a downstream node sends.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "crypto/chain.h"
#include "crypto/keys.h"
#include "node/store.h"
#include "replicate/protocol.h"

namespace tcd::replicate::test_util {

// A store for a test at `dir` (created if needed) with a small free-space reserve. nullptr (and
// a test failure) when it cannot be opened.
std::unique_ptr<node::Store> OpenTestStore(const std::string& dir, bool track_outbox = true);

// `n` bytes from `rng`.
Bytes RandomBytes(std::mt19937_64& rng, size_t n);

// What RecordSession records: open (seq 0), init (1), segment 0 (2), gap (3), then `more`
// segments (indexes 1…more), seal. Segment `i` lasts seg_duration_us + i * seg_duration_step_us.
struct SessionShape {
  crypto::Metadata meta = {{"point", "xa-01"}};
  size_t init_bytes = 300;
  std::string codecs = "fake";
  int more = 2;
  size_t seg_bytes = 10000;  // plaintext size of each segment
  int64_t seg_duration_us = 2'000'000;
  int64_t seg_duration_step_us = 0;
  bool set_media_start = false;  // fill MediaSegment::media_start_us (else left 0)
  int64_t gap_us = 1'000'000;
  std::string gap_reason = "cable";
};

// A sealed session in `recorder`, signed by `signer`, sealed to `archive`; init and segment
// plaintexts are random bytes from `rng` (drawn in recording order). A zero id on failure.
crypto::SessionId RecordSession(node::Store* recorder, const crypto::NodeIdentity& signer,
                                const crypto::ArchivePublic& archive, std::mt19937_64& rng,
                                const SessionShape& shape);

// `store`'s chain of `id` as it travels (empty, and a test failure, when it cannot be read).
std::vector<EntryWithSig> ReadChain(node::Store* store, const crypto::SessionId& id);

// ENTRIES of `id` carrying chain[from, min(to, chain.size())).
Entries EntriesOf(const crypto::SessionId& id, const std::vector<EntryWithSig>& chain,
                  size_t from = 0, size_t to = SIZE_MAX);

// `store`'s blob with cipher hash `h` (empty, and a test failure, when absent).
Bytes ReadBlob(node::Store* store, const crypto::Hash256& h);

}  // namespace tcd::replicate::test_util
