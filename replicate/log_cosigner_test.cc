// LogCosigner (replicate/log_cosigner.h): a province cosigns a recorder's checkpoints only as
// consistent extensions of what it cosigned before, over entries it holds; a recorder that
// rewrites its history is caught by the failing consistency proof and the split view is kept.
#include "replicate/log_cosigner.h"

#include "crypto/merkle.h"
#include "crypto/note.h"
#include "node/node_log.h"
#include "replicate/replica_writer_test_fixture.h"

namespace tcd::replicate {
namespace {

namespace merkle = crypto::merkle;
namespace note = crypto::note;
using node::LogId;

class LogCosignerTest : public ReplicaWriterTest {
 protected:
  void SetUp() override {
    ReplicaWriterTest::SetUp();
    cosigner_ = std::make_unique<LogCosigner>(province_.get(), &province_id_);
  }
  node::NodeLogs* RecorderLog() { return recorder_->catalog()->logs(); }
  node::NodeLogs* ProvinceLogs() { return province_->catalog()->logs(); }

  // A session recorded and its entries replicated to the province (the sender's order).
  crypto::SessionId RecordAndReplicate(int more = 3) {
    const crypto::SessionId id = Record(recorder_id_, more);
    EXPECT_EQ(Accept(Msg(id, Chain(id))).result, AckResult::kOk);
    return id;
  }

  // The LOG the sender sends: the recorder's leaves [old, end), its checkpoint of `end`, the
  // consistency proof.
  Log MakeLog(uint64_t old, uint64_t end) {
    Log m;
    m.old_size = old;
    for (uint64_t i = old; i < end; ++i) m.leaves.push_back(*RecorderLog()->Leaf(LogId::Own(), i));
    m.checkpoint = *node::SignOwnCheckpointAt(RecorderLog(), recorder_id_.sign_sk, end);
    m.proof = *RecorderLog()->ConsistencyProof(LogId::Own(), old, end);
    return m;
  }

  // A checkpoint of the recorder's origin over any tree, signed by the recorder's key.
  std::string Signed(uint64_t size, const crypto::Hash256& root) {
    const std::string origin = node::LogOrigin(recorder_id_.pub.sign_pk);
    const std::string body = note::CheckpointBody({origin, size, root});
    return note::FormatNote({body, {note::Sign(body, origin, recorder_id_.sign_sk)}});
  }

  Cosigned Send(const Log& m) {
    auto r = cosigner_->Accept(peer_, m);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : Cosigned{{}, LogResult::kRejected, 0, "", r.status().ToString()};
  }

  uint64_t CopySize() { return *ProvinceLogs()->Size(LogId::Of(recorder_id_.pub.sign_pk)); }
  size_t SplitViews() { return ProvinceLogs()->SplitViews()->size(); }

  crypto::NodeIdentity province_id_ = crypto::GenerateNodeIdentity();
  std::unique_ptr<LogCosigner> cosigner_;
};

TEST_F(LogCosignerTest, CosignsEachConsistentExtensionOverEntriesItHolds) {
  RecordAndReplicate();  // 8 entries
  ASSERT_EQ(*RecorderLog()->Size(LogId::Own()), 8u);
  Cosigned c = Send(MakeLog(0, 8));
  ASSERT_EQ(c.result, LogResult::kCosigned) << c.detail;
  EXPECT_EQ(c.size, 8u);
  auto n = note::ParseNote(c.note);
  ASSERT_TRUE(n.ok());
  const std::string recorder = node::LogOrigin(recorder_id_.pub.sign_pk);
  const std::string province = node::LogOrigin(province_id_.pub.sign_pk);
  EXPECT_TRUE(note::VerifySignature(*n, recorder, recorder_id_.pub.sign_pk).ok());
  auto t = note::VerifyCosignature(*n, province, province_id_.pub.sign_pk);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_NEAR(static_cast<double>(*t), std::time(nullptr), 5);
  // The copy is the recorder's tree; the province's own log holds the checkpoint as a leaf.
  const LogId copy = LogId::Of(recorder_id_.pub.sign_pk);
  EXPECT_EQ(*ProvinceLogs()->Root(copy, 8), *RecorderLog()->Root(LogId::Own(), 8));
  EXPECT_TRUE(node::CheckCheckpoint(ProvinceLogs(), copy, 8, c.note).ok());
  ASSERT_EQ(*ProvinceLogs()->Size(LogId::Own()), 1u);
  auto leaf = node::ParseLeaf(*ProvinceLogs()->Leaf(LogId::Own(), 0));
  ASSERT_TRUE(leaf.ok());
  EXPECT_EQ(leaf->kind, node::kLeafCheckpoint);
  EXPECT_EQ(leaf->checkpoint, n->body);

  // The same LOG again (its answer was lost): the same cosigned checkpoint, nothing added.
  Cosigned again = Send(MakeLog(0, 8));
  EXPECT_EQ(again.result, LogResult::kCosigned);
  EXPECT_EQ(again.note, c.note);
  EXPECT_EQ(*ProvinceLogs()->Size(LogId::Own()), 1u);

  // The next session extends it, with a consistency proof from 8.
  RecordAndReplicate(1);
  const uint64_t size = *RecorderLog()->Size(LogId::Own());
  ASSERT_EQ(size, 14u);
  // Signature lines the sender adds (here a "cosignature" by a third name) are not kept or
  // passed on: the cosigned note holds the recorder's signature and the province's only.
  Log padded = MakeLog(8, size);
  note::Note with_fake = *note::ParseNote(padded.checkpoint);
  with_fake.sigs.push_back(note::Cosign(with_fake.body, "tcd-archive/0000000000000000",
                                        other_id_.sign_sk, 1));
  padded.checkpoint = note::FormatNote(with_fake);
  // A sender that thinks the province holds less is told where to resume.
  Cosigned resync = Send(MakeLog(3, size));
  EXPECT_EQ(resync.result, LogResult::kResync);
  EXPECT_EQ(resync.size, 8u);
  Cosigned next = Send(padded);
  ASSERT_EQ(next.result, LogResult::kCosigned) << next.detail;
  auto kept_note = note::ParseNote(next.note);
  ASSERT_TRUE(kept_note.ok());
  ASSERT_EQ(kept_note->sigs.size(), 2u);
  EXPECT_EQ(kept_note->sigs[0].name, recorder);
  EXPECT_EQ(kept_note->sigs[1].name, province);
  EXPECT_EQ(CopySize(), size);
  EXPECT_EQ(*ProvinceLogs()->Size(LogId::Own()), 2u);
  EXPECT_EQ(SplitViews(), 0u);
}

TEST_F(LogCosignerTest, LeavesOfEntriesNotYetStoredWaitAndNothingIsKept) {
  Record(recorder_id_);  // not replicated
  Cosigned c = Send(MakeLog(0, 8));
  EXPECT_EQ(c.result, LogResult::kLater);
  EXPECT_TRUE(Contains(c.detail, "leaf 0 names session")) << c.detail;
  EXPECT_EQ(CopySize(), 0u);
  EXPECT_EQ(*ProvinceLogs()->Size(LogId::Own()), 0u);
}

TEST_F(LogCosignerTest, ARecorderThatRewritesItsHistoryIsCaughtAndTheSplitViewKept) {
  RecordAndReplicate();
  ASSERT_EQ(Send(MakeLog(0, 8)).result, LogResult::kCosigned);
  RecordAndReplicate(1);  // leaves 8..13, all held by the province

  // The recorder forks: a tree of 14 leaves whose leaf 2 is not the one cosigned before.
  merkle::Tree forked;
  std::vector<Bytes> leaves;
  for (uint64_t i = 0; i < 14; ++i) {
    Bytes l = *RecorderLog()->Leaf(LogId::Own(), i);
    if (i == 2) l = node::CheckpointLeaf("x\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n");
    forked.Append(merkle::LeafHash(l));
    leaves.push_back(l);
  }
  Log fork;
  fork.old_size = 8;
  fork.leaves.assign(leaves.begin() + 8, leaves.end());
  fork.checkpoint = Signed(14, *forked.Root(14));
  fork.proof = *forked.ConsistencyProof(8, 14);  // honest for the forked tree
  Cosigned c = Send(fork);
  EXPECT_EQ(c.result, LogResult::kRejected);
  EXPECT_TRUE(Contains(c.detail, "split view")) << c.detail;
  EXPECT_TRUE(Contains(c.detail, "not an extension of the 8 leaves")) << c.detail;
  EXPECT_EQ(CopySize(), 8u);  // nothing of the fork is kept in the copy …
  auto views = ProvinceLogs()->SplitViews();  // … but the checkpoint is, as evidence
  ASSERT_TRUE(views.ok());
  ASSERT_EQ(views->size(), 1u);
  EXPECT_EQ((*views)[0].signer, recorder_id_.pub.sign_pk);
  EXPECT_EQ((*views)[0].size, 14u);
  EXPECT_EQ((*views)[0].note, fork.checkpoint);
  // The same fork again (the sender retrying) is not kept twice.
  EXPECT_EQ(Send(fork).result, LogResult::kRejected);
  EXPECT_EQ(SplitViews(), 1u);

  // Two checkpoints of one size with different roots: a split view too.
  Log same_size;
  same_size.old_size = 8;
  same_size.checkpoint = Signed(8, *forked.Root(8));
  c = Send(same_size);
  EXPECT_EQ(c.result, LogResult::kRejected);
  EXPECT_TRUE(Contains(c.detail, "another root hash")) << c.detail;
  EXPECT_EQ(SplitViews(), 2u);

  // The honest extension is still cosigned.
  Cosigned honest = Send(MakeLog(8, 14));
  EXPECT_EQ(honest.result, LogResult::kCosigned) << honest.detail;
}

TEST_F(LogCosignerTest, EveryOtherDefectIsRefusedNamingIt) {
  RecordAndReplicate();
  Log good = MakeLog(0, 8);

  Log other_key = good;  // the recorder's origin, another key
  other_key.checkpoint = note::FormatNote(
      {note::ParseNote(good.checkpoint)->body,
       {note::Sign(note::ParseNote(good.checkpoint)->body,
                   node::LogOrigin(recorder_id_.pub.sign_pk), other_id_.sign_sk)}});
  Cosigned c = Send(other_key);
  EXPECT_EQ(c.result, LogResult::kRejected);
  EXPECT_TRUE(Contains(c.detail, "no signature by tcd-archive/")) << c.detail;

  Log bad_sig = good;  // the recorder's key id, a damaged signature
  note::Note n = *note::ParseNote(good.checkpoint);
  n.sigs[0].sig[10] ^= 1;
  bad_sig.checkpoint = note::FormatNote(n);
  c = Send(bad_sig);
  EXPECT_EQ(c.result, LogResult::kRejected);
  EXPECT_TRUE(Contains(c.detail, "does not verify")) << c.detail;

  Log other_origin = good;
  const std::string o = node::LogOrigin(other_id_.pub.sign_pk);
  const std::string body = note::CheckpointBody({o, 8, *RecorderLog()->Root(LogId::Own(), 8)});
  other_origin.checkpoint = note::FormatNote({body, {note::Sign(body, o, other_id_.sign_sk)}});
  c = Send(other_origin);
  EXPECT_EQ(c.result, LogResult::kRejected);
  EXPECT_TRUE(Contains(c.detail, "not of the log tcd-archive/")) << c.detail;

  Log short_leaves = good;
  short_leaves.leaves.pop_back();
  c = Send(short_leaves);
  EXPECT_EQ(c.result, LogResult::kRejected);
  EXPECT_TRUE(Contains(c.detail, "0 held + 7 sent")) << c.detail;

  Log swapped = good;  // every leaf held, but in another order: not the signed root
  std::swap(swapped.leaves[1], swapped.leaves[2]);
  c = Send(swapped);
  EXPECT_EQ(c.result, LogResult::kRejected);
  EXPECT_TRUE(Contains(c.detail, "do not lead to the checkpoint's root")) << c.detail;

  Log garbage = good;
  garbage.leaves[4] = Bytes{1, 2, 3};
  c = Send(garbage);
  EXPECT_EQ(c.result, LogResult::kRejected);
  EXPECT_TRUE(Contains(c.detail, "leaf 4")) << c.detail;

  EXPECT_EQ(CopySize(), 0u);
  EXPECT_EQ(SplitViews(), 0u);
  EXPECT_EQ(Send(good).result, LogResult::kCosigned);
}

TEST_F(LogCosignerTest, TheCentralArchiveCosignsARecorderLogThatItsProvinceRelays) {
  const crypto::SessionId id = RecordAndReplicate();
  Cosigned at_province = Send(MakeLog(0, 8));
  ASSERT_EQ(at_province.result, LogResult::kCosigned) << at_province.detail;
  // The central archive holds the session's entries (relayed by the province).
  central_ = OpenStore("central", /*outbox=*/false);
  ReplicaWriter writer(central_.get(), Role::kCentral);
  ASSERT_EQ(Accept(Msg(id, Chain(id)), &writer).result, AckResult::kOk);
  const crypto::NodeIdentity central_id = crypto::GenerateNodeIdentity();
  LogCosigner central(central_.get(), &central_id);
  EnrolledNode province;
  province.point = "tinh-01";
  province.pub = province_id_.pub;

  Log relayed = MakeLog(0, 8);
  relayed.signer = recorder_id_.pub.sign_pk;
  relayed.checkpoint = at_province.note;  // the recorder's signature and the province's
  // Without the province's cosignature, the province does not vouch for it.
  Log unvouched = relayed;
  unvouched.checkpoint = *node::SignOwnCheckpointAt(RecorderLog(), recorder_id_.sign_sk, 8);
  auto r = central.Accept(province, unvouched);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->result, LogResult::kRejected);
  EXPECT_TRUE(Contains(r->detail, "relayed checkpoint: no cosignature by")) << r->detail;

  r = central.Accept(province, relayed);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->result, LogResult::kCosigned) << r->detail;
  EXPECT_EQ(r->signer, recorder_id_.pub.sign_pk);  // the answer names the log
  auto n = note::ParseNote(r->note);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->sigs.size(), 3u);  // recorder, province, central
  EXPECT_TRUE(note::VerifyCosignature(*n, node::LogOrigin(central_id.pub.sign_pk),
                                      central_id.pub.sign_pk)
                  .ok());
  node::NodeLogs* logs = central_->catalog()->logs();
  EXPECT_EQ(*logs->Size(LogId::Of(recorder_id_.pub.sign_pk)), 8u);
  EXPECT_EQ(*logs->Root(LogId::Of(recorder_id_.pub.sign_pk), 8),
            *RecorderLog()->Root(LogId::Own(), 8));
  EXPECT_EQ(*logs->Size(LogId::Own()), 0u);  // central's own log holds provinces' checkpoints
}

}  // namespace
}  // namespace tcd::replicate
