// Group commit of Catalog::Append. Every chain entry a node signs is a leaf of its node log,
// added in the entry's own synced batch; the leaves must be numbered in the order the batches
// become durable, with no hole. Holding one lock across each synced write gave that order but
// made a recorder with many sources wait for one fsync per segment in turn (100 live streams:
// p50 commit latency 4.3 ms x N). Now whoever finds no group being written leads: it takes
// every Append queued so far, merges their batches into one, numbers their leaves in queue
// order, and writes the lot with one sync, while the next Appends queue for the next group.
#include <rocksdb/write_batch.h>

#include <exception>
#include <map>

#include "node/catalog.h"
#include "node/catalog_internal.h"
#include "node/node_log.h"

namespace tcd::node {
using namespace internal;

struct Catalog::PendingAppend {
  rocksdb::WriteBatch* batch;
  crypto::SessionId id;
  Bytes leaf;
  Status status;
  bool done = false;
};

namespace {

// Copies a batch's operations into another (RocksDB has no public WriteBatch::Append).
class Copier : public rocksdb::WriteBatch::Handler {
 public:
  Copier(rocksdb::WriteBatch* to, const std::map<uint32_t, rocksdb::ColumnFamilyHandle*>& cf)
      : to_(to), cf_(cf) {}
  rocksdb::Status PutCF(uint32_t id, const rocksdb::Slice& k, const rocksdb::Slice& v) override {
    auto* h = Cf(id);
    return h ? to_->Put(h, k, v) : Unknown(id);
  }
  rocksdb::Status DeleteCF(uint32_t id, const rocksdb::Slice& k) override {
    auto* h = Cf(id);
    return h ? to_->Delete(h, k) : Unknown(id);
  }
  rocksdb::Status SingleDeleteCF(uint32_t id, const rocksdb::Slice& k) override {
    auto* h = Cf(id);
    return h ? to_->SingleDelete(h, k) : Unknown(id);
  }
  rocksdb::Status DeleteRangeCF(uint32_t id, const rocksdb::Slice& b,
                                const rocksdb::Slice& e) override {
    auto* h = Cf(id);
    return h ? to_->DeleteRange(h, b, e) : Unknown(id);
  }
  rocksdb::Status MergeCF(uint32_t id, const rocksdb::Slice& k, const rocksdb::Slice& v) override {
    auto* h = Cf(id);
    return h ? to_->Merge(h, k, v) : Unknown(id);
  }

 private:
  rocksdb::ColumnFamilyHandle* Cf(uint32_t id) const {
    auto it = cf_.find(id);
    return it == cf_.end() ? nullptr : it->second;
  }
  static rocksdb::Status Unknown(uint32_t id) {
    return rocksdb::Status::InvalidArgument("group commit: unknown column family " +
                                            std::to_string(id));
  }
  rocksdb::WriteBatch* to_;
  const std::map<uint32_t, rocksdb::ColumnFamilyHandle*>& cf_;
};

}  // namespace

Status Catalog::CommitAppend(rocksdb::WriteBatch* batch, const crypto::SessionId& id, Bytes leaf,
                             const std::string& what) {
  PendingAppend me{batch, id, std::move(leaf)};
  std::unique_lock<std::mutex> l(group_mu_);
  group_queue_.push_back(&me);
  while (!me.done && group_leader_) group_cv_.wait(l);
  if (me.done) return me.status.ok() ? me.status : me.status.WithContext(what);
  // Lead the group: everything queued until now, this Append included.
  group_leader_ = true;
  std::vector<PendingAppend*> group;
  group.swap(group_queue_);
  l.unlock();
  Status s;
  try {
    s = CommitGroup(group);
  } catch (const std::exception& e) {  // e.g. bad_alloc: fail the group, never hang the others
    s = Status::IOError(std::string("catalog append: ") + e.what());
  }
  l.lock();
  for (PendingAppend* p : group) {
    p->status = s;
    p->done = true;
  }
  group_leader_ = false;
  group_cv_.notify_all();
  return s.ok() ? s : s.WithContext(what);
}

Status Catalog::CommitGroup(const std::vector<PendingAppend*>& group) {
  std::map<uint32_t, rocksdb::ColumnFamilyHandle*> cf;
  for (auto* h : handles_) cf[h->GetID()] = h;
  rocksdb::WriteBatch merged;
  Copier copy(&merged, cf);
  std::vector<Bytes> leaves;
  for (PendingAppend* p : group) {
    TCD_RETURN_IF_ERROR(FromRocks(p->batch->Iterate(&copy), "group commit: merge batches"));
    leaves.push_back(p->leaf);
  }
  // The log's lock is held until the write returns: no other leaf can be numbered meanwhile.
  auto log_lock = logs_->Lock();
  TCD_RETURN_IF_ERROR(logs_->AddLeaves(&merged, LogId::Own(), leaves).status());
  rocksdb::WriteOptions wo;
  wo.sync = sync_;
  std::unique_lock<std::mutex> outbox_lock(outbox_mu_, std::defer_lock);
  if (track_outbox_ && outbox_) {
    outbox_lock.lock();
    for (PendingAppend* p : group) merged.Put(outbox_, IdKey(p->id), "");
  }
  return FromRocks(db_->Write(wo, &merged), "catalog append (" + std::to_string(group.size()) +
                                                " entries in one write)");
}

}  // namespace tcd::node
