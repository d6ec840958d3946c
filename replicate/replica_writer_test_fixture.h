// The fixture shared by the ReplicaWriter tests (replica_writer_test.cc,
// replica_writer_refusal_test.cc): what a province (or the central archive) stores of the
// entries and blobs a downstream node sends. Sessions are made by a real SessionRecorder in a
// "recorder" store (random bytes stand in for media: the writer checks hashes and signatures,
// not media), then fed, as ENTRIES messages built from the recorder's catalog, to a writer over
// a second store.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <boost/filesystem.hpp>
#include <gtest/gtest.h>

#include "crypto/chain.h"
#include "crypto/keys.h"
#include "node/catalog.h"
#include "node/store.h"
#include "replicate/replica_writer.h"
#include "replicate/replicate_test_util.h"

namespace tcd::replicate {

namespace fs = boost::filesystem;
using crypto::EntryKind;

inline bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class ReplicaWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = (fs::temp_directory_path() / fs::unique_path("tcd-rw-test-%%%%-%%%%")).string();
    recorder_ = OpenStore("recorder");
    province_ = OpenStore("province");
    ASSERT_TRUE(recorder_ && province_);
    peer_.point = "xa-01";
    peer_.pub = recorder_id_.pub;
    peer_.enrolled_us = 1;
    writer_ = std::make_unique<ReplicaWriter>(province_.get(), Role::kProvince);
  }
  void TearDown() override {
    writer_.reset();
    central_.reset();
    province_.reset();
    recorder_.reset();
    boost::system::error_code ec;
    fs::remove_all(root_, ec);
  }

  std::unique_ptr<node::Store> OpenStore(const std::string& name, bool outbox = true) {
    return test_util::OpenTestStore(root_ + "/" + name, outbox);
  }

  // A sealed session in the recorder store, signed by `id`: open (seq 0), init (1), segment
  // (2), gap (3), then `more` segments, seal. Segment plaintexts are `seg_bytes` random bytes;
  // segment i lasts 2 s + i ms, the gap 5 s.
  crypto::SessionId Record(const crypto::NodeIdentity& id, int more = 3,
                           size_t seg_bytes = 3000) {
    test_util::SessionShape shape;
    shape.meta = {{"point", "xa-01"}, {"case", "test"}};
    shape.init_bytes = 200;
    shape.codecs = "fake h264";
    shape.more = more;
    shape.seg_bytes = seg_bytes;
    shape.seg_duration_us = 2'000'000;
    shape.seg_duration_step_us = 1000;
    shape.set_media_start = true;
    shape.gap_us = 5'000'000;
    shape.gap_reason = "camera unplugged";
    return test_util::RecordSession(recorder_.get(), id, archive_.pub, rng_, shape);
  }

  // The recorder's chain of `id` as it travels.
  std::vector<EntryWithSig> Chain(const crypto::SessionId& id) {
    return test_util::ReadChain(recorder_.get(), id);
  }

  // ENTRIES of `id` carrying chain[from, to).
  static Entries Msg(const crypto::SessionId& id, const std::vector<EntryWithSig>& chain,
                     size_t from, size_t to) {
    return test_util::EntriesOf(id, chain, from, to);
  }
  static Entries Msg(const crypto::SessionId& id, const std::vector<EntryWithSig>& chain) {
    return test_util::EntriesOf(id, chain);
  }

  static crypto::ChainEntry Decoded(const EntryWithSig& e) {
    auto d = crypto::DecodeEntry(e.entry);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? *d : crypto::ChainEntry{};
  }
  // `e` re-encoded and signed by `signer` (a validly signed entry with other content).
  static EntryWithSig Resigned(const crypto::ChainEntry& e, const crypto::NodeIdentity& signer) {
    return {crypto::EncodeEntry(e), crypto::SignHead(signer.sign_sk, e.session, e.seq,
                                                     crypto::EntryHash(e))};
  }

  static std::vector<uint64_t> MediaSeqs(const std::vector<EntryWithSig>& chain) {
    std::vector<uint64_t> out;
    for (const auto& e : chain) {
      auto d = Decoded(e);
      if (d.kind == EntryKind::kInit || d.kind == EntryKind::kSegment) out.push_back(d.seq);
    }
    return out;
  }

  SessionAck Accept(const Entries& m, ReplicaWriter* w = nullptr, const EnrolledNode* p = nullptr) {
    auto ack = (w ? w : writer_.get())->Accept(p ? *p : peer_, m);
    EXPECT_TRUE(ack.ok()) << ack.status().ToString();
    if (!ack.ok()) return {};
    EXPECT_EQ(ack->session, m.session);
    return *ack;
  }

  std::vector<node::WantedBlob> Wanted(node::Store* store = nullptr) {
    auto w = (store ? store : province_.get())
                 ->catalog()
                 ->ListWanted(peer_.pub.transport_pk, 1000, std::nullopt);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return w.ok() ? *w : std::vector<node::WantedBlob>{};
  }

  // The province's stored chain of `id` (empty when absent).
  std::vector<std::pair<uint64_t, node::ChainRecord>> Stored(const crypto::SessionId& id,
                                                             node::Store* store = nullptr) {
    auto c = (store ? store : province_.get())->catalog()->GetChain(id);
    EXPECT_TRUE(c.ok() || c.status().IsNotFound()) << c.status().ToString();
    return c.ok() ? *c : std::vector<std::pair<uint64_t, node::ChainRecord>>{};
  }

  bool SessionAbsent(const crypto::SessionId& id) {
    auto s = province_->catalog()->GetSession(id);
    return !s.ok() && s.status().IsNotFound() && Stored(id).empty();
  }

  Bytes RecorderBlob(const crypto::Hash256& h) {
    return test_util::ReadBlob(recorder_.get(), h);
  }

  void StoreAllBlobs(ReplicaWriter* w = nullptr, node::Store* store = nullptr) {
    for (const auto& want : Wanted(store)) {
      Status s = (w ? w : writer_.get())->StoreBlob(want, RecorderBlob(want.hash));
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
  }

  static void ExpectSameRecord(const node::SessionRecord& a, const node::SessionRecord& b) {
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(node::SessionStateName(a.state), node::SessionStateName(b.state));
    EXPECT_EQ(a.start_us, b.start_us);
    EXPECT_EQ(a.end_us, b.end_us);
    EXPECT_EQ(a.next_seq, b.next_seq);
    EXPECT_EQ(a.segments, b.segments);
    EXPECT_EQ(a.media_duration_us, b.media_duration_us);
    EXPECT_EQ(a.gaps, b.gaps);
    EXPECT_EQ(a.head_hash, b.head_hash);
    EXPECT_EQ(a.point, b.point);
  }

  std::string root_;
  std::mt19937_64 rng_{20260101};
  crypto::NodeIdentity recorder_id_ = crypto::GenerateNodeIdentity();
  crypto::NodeIdentity other_id_ = crypto::GenerateNodeIdentity();
  crypto::ArchiveKeyPair archive_ = crypto::GenerateArchiveKey();
  std::unique_ptr<node::Store> recorder_, province_, central_;
  EnrolledNode peer_;
  std::unique_ptr<ReplicaWriter> writer_;
};

}  // namespace tcd::replicate
