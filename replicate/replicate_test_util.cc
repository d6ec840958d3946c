#include "replicate/replicate_test_util.h"

#include <algorithm>
#include <utility>

#include <gtest/gtest.h>

#include "base/env.h"
#include "ingest/capture.h"
#include "node/catalog.h"
#include "node/session_recorder.h"

namespace tcd::replicate::test_util {

std::unique_ptr<node::Store> OpenTestStore(const std::string& dir, bool track_outbox) {
  node::StoreOptions so;
  so.min_free_bytes = 1 << 20;
  so.track_outbox = track_outbox;
  auto s = node::Store::Open(Env::Default(), dir, so);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

Bytes RandomBytes(std::mt19937_64& rng, size_t n) {
  Bytes b(n);
  for (auto& c : b) c = static_cast<uint8_t>(rng());
  return b;
}

crypto::SessionId RecordSession(node::Store* recorder, const crypto::NodeIdentity& signer,
                                const crypto::ArchivePublic& archive, std::mt19937_64& rng,
                                const SessionShape& shape) {
  auto rec = node::SessionRecorder::Start(recorder, &signer, {archive}, shape.meta);
  EXPECT_TRUE(rec.ok()) << rec.status().ToString();
  if (!rec.ok()) return {};
  node::SessionRecorder& r = **rec;
  const int64_t t0 = r.record().start_us;
  Status s = r.OnInit(0, RandomBytes(rng, shape.init_bytes), shape.codecs);
  EXPECT_TRUE(s.ok()) << s.ToString();
  int64_t t = t0;
  auto segment = [&](uint64_t index) {
    ingest::MediaSegment seg;
    seg.index = index;
    seg.data = RandomBytes(rng, shape.seg_bytes);
    if (shape.set_media_start) seg.media_start_us = t - t0;
    seg.duration_us =
        shape.seg_duration_us + static_cast<int64_t>(index) * shape.seg_duration_step_us;
    seg.wall_start_us = t;
    t += seg.duration_us;
    Status st = r.OnSegment(std::move(seg));
    EXPECT_TRUE(st.ok()) << st.ToString();
  };
  segment(0);
  s = r.OnGap(t, t + shape.gap_us, shape.gap_reason);
  EXPECT_TRUE(s.ok()) << s.ToString();
  t += shape.gap_us;
  for (int i = 0; i < shape.more; ++i) segment(1 + i);
  s = r.Seal(crypto::SealReason::kStopped);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return r.id();
}

std::vector<EntryWithSig> ReadChain(node::Store* store, const crypto::SessionId& id) {
  auto chain = store->catalog()->GetChain(id);
  EXPECT_TRUE(chain.ok()) << chain.status().ToString();
  std::vector<EntryWithSig> out;
  if (!chain.ok()) return out;
  for (auto& [seq, cr] : *chain) {
    EXPECT_EQ(seq, out.size());
    out.push_back({cr.entry, cr.signature});
  }
  return out;
}

Entries EntriesOf(const crypto::SessionId& id, const std::vector<EntryWithSig>& chain,
                  size_t from, size_t to) {
  Entries m;
  m.session = id;
  m.first_seq = from;
  m.entries.assign(chain.begin() + from, chain.begin() + std::min(to, chain.size()));
  return m;
}

Bytes ReadBlob(node::Store* store, const crypto::Hash256& h) {
  auto b = store->blobs()->Get(h);
  EXPECT_TRUE(b.ok()) << b.status().ToString();
  return b.ok() ? *b : Bytes{};
}

}  // namespace tcd::replicate::test_util
