#include "replicate/replica_writer.h"

#include <spdlog/spdlog.h>

#include "node/chain_writer.h"

namespace tcd::replicate {
namespace {

using crypto::EntryKind;

// The session summary after `e` (the same derivation as the recorder's).
void ApplyEntry(const crypto::ChainEntry& e, node::SessionRecord* r) {
  switch (e.kind) {
    case EntryKind::kOpen: {
      r->state = node::SessionState::kRecording;
      r->start_us = r->end_us = e.start_us;
      auto body = crypto::DecodeOpenBody(e.body);
      if (body.ok())
        for (const auto& [k, v] : body->meta)
          if (k == "point") r->point = v;
      break;
    }
    case EntryKind::kSegment:
      r->segments += 1;
      r->media_duration_us += e.duration_us;
      r->end_us = std::max(r->end_us, e.start_us + e.duration_us);
      break;
    case EntryKind::kGap:
      r->gaps += 1;
      r->end_us = std::max(r->end_us, e.start_us + e.duration_us);
      break;
    case EntryKind::kSeal: r->state = node::SessionState::kSealed; break;
    case EntryKind::kRecoveryClose: r->state = node::SessionState::kRecovered; break;
    case EntryKind::kInit:
    case EntryKind::kAnnotation: break;
  }
  r->next_seq = e.seq + 1;
  r->head_hash = crypto::EntryHash(e);
}

std::string SeqText(uint64_t seq) { return "seq " + std::to_string(seq); }

}  // namespace

ReplicaWriter::ReplicaWriter(node::Store* store, Role self) : store_(store), self_(self) {}

Result<SessionAck> ReplicaWriter::Reject(const crypto::SessionId& session,
                                         const std::string& peer_name,
                                         const std::string& detail) {
  spdlog::warn("replication: refused entries of session {} from {}: {}",
               crypto::SessionIdToString(session), peer_name, detail);
  TCD_ASSIGN_OR_RETURN(SessionAck ack, AckFor(session));
  ack.result = AckResult::kRejected;
  ack.detail = detail;
  return ack;
}

Result<SessionAck> ReplicaWriter::Accept(const EnrolledNode& peer, const Entries& msg) {
  node::Catalog* cat = store_->catalog();
  const std::string who = peer.point + " (key " + crypto::KeyId(peer.pub.sign_pk) + ")";
  node::SessionRecord rec;
  node::ReplRecord repl;
  bool fresh = false;
  auto existing = cat->GetSession(msg.session);
  if (existing.ok()) {
    rec = *existing;
    auto r = cat->GetRepl(msg.session);
    if (r.ok()) repl = *r;
    if (r.ok() && repl.from_peer != peer.pub.transport_pk) {
      // Now sent by another node (a province re-keyed, a recorder moved): fetch what is still
      // missing from the node that has the session now.
      TCD_RETURN_IF_ERROR(cat->MoveWanted(msg.session, repl.from_peer, peer.pub.transport_pk));
      repl.from_peer = peer.pub.transport_pk;
    }
  } else if (!existing.status().IsNotFound()) {
    return existing.status();
  } else {
    rec.id = msg.session;
    repl.from_peer = peer.pub.transport_pk;
    fresh = true;
  }
  crypto::PublicKey signer{};
  if (rec.next_seq > 0) {
    TCD_ASSIGN_OR_RETURN(crypto::OpenBody open, node::ReadOpenBody(store_, msg.session));
    signer = open.signer_pk;
    if (self_ == Role::kProvince && signer != peer.pub.sign_pk)
      return Reject(msg.session, who,
                    "seq " + std::to_string(msg.first_seq) +
                        ": foreign-signer: the session is signed by key " +
                        crypto::KeyId(signer) + ", not by the sending node's enrolled key");
  }
  std::vector<std::pair<uint64_t, node::ChainRecord>> add;
  std::vector<std::pair<crypto::Hash256, uint64_t>> refs;
  std::vector<node::WantedBlob> wanted;
  for (size_t i = 0; i < msg.entries.size(); ++i) {
    const uint64_t seq = msg.first_seq + i;
    const auto& in = msg.entries[i];
    auto decoded = crypto::DecodeEntry(in.entry);
    if (!decoded.ok())
      return Reject(msg.session, who, SeqText(seq) + ": bad-entry: " + decoded.status().message());
    const crypto::ChainEntry& e = *decoded;
    if (e.session != msg.session || e.seq != seq)
      return Reject(msg.session, who, SeqText(seq) + ": out-of-order: the entry carries session " +
                                          crypto::SessionIdToString(e.session) + " seq " +
                                          std::to_string(e.seq));
    if (seq < rec.next_seq) {  // a replay: harmless if identical
      TCD_ASSIGN_OR_RETURN(node::ChainRecord stored, cat->GetChainEntry(msg.session, seq));
      if (stored.entry == in.entry && stored.signature == in.sig) continue;
      return Reject(msg.session, who, SeqText(seq) + ": fork: differs from the entry stored "
                                      "at the same seq (kept the stored one)");
    }
    if (seq > rec.next_seq) break;  // not contiguous: the ack says where to resume
    if ((seq == 0) != (e.kind == EntryKind::kOpen))
      return Reject(msg.session, who, SeqText(seq) + ": bad-entry: kind " +
                                          crypto::EntryKindName(e.kind) + " at this place");
    if (seq == 0) {
      auto open = crypto::DecodeOpenBody(e.body);
      if (!open.ok())
        return Reject(msg.session, who, "seq 0: bad-entry: " + open.status().message());
      signer = open->signer_pk;
      if (self_ == Role::kProvince && signer != peer.pub.sign_pk)
        return Reject(msg.session, who,
                      "seq 0: foreign-signer: the session is signed by key " +
                          crypto::KeyId(signer) + ", not by the sending node's enrolled key");
    }
    const crypto::Hash256 want_prev = seq == 0 ? crypto::Hash256{} : rec.head_hash;
    if (e.prev_hash != want_prev)
      return Reject(msg.session, who, SeqText(seq) + ": broken-link: prev_hash is not the hash "
                                                     "of the stored entry before it");
    const crypto::Hash256 h = crypto::EntryHash(e);
    if (!crypto::VerifyHead(signer, e.session, e.seq, h, in.sig))
      return Reject(msg.session, who, SeqText(seq) + ": bad-signature: the head signature does "
                                                     "not verify with the signer key " +
                                          crypto::KeyId(signer));
    const bool media = e.kind == EntryKind::kInit || e.kind == EntryKind::kSegment;
    if (media && e.cipher_size > kMaxBlobBytes)
      return Reject(msg.session, who, SeqText(seq) + ": bad-entry: blob size " +
                                          std::to_string(e.cipher_size) + " over the limit");
    if (media) {
      refs.emplace_back(e.cipher_hash, seq);
      if (!store_->blobs()->Exists(e.cipher_hash) ||
          !store_->blobs()->MakeDurable(e.cipher_hash).ok())
        wanted.push_back({repl.from_peer, msg.session, seq, e.cipher_hash, e.cipher_size});
    }
    add.emplace_back(seq, node::ChainRecord{in.entry, in.sig});
    ApplyEntry(e, &rec);
  }
  if (!add.empty()) {
    if (!wanted.empty()) {  // media need room; the small closing entries always go in
      TCD_ASSIGN_OR_RETURN(uint64_t free_bytes, store_->env()->FreeBytes(store_->dir()));
      uint64_t need = 64ull << 20;
      for (const auto& w : wanted) need += w.size;
      if (free_bytes < need)
        return Status::NoSpace("disk nearly full at " + store_->dir() + ": " +
                               std::to_string(free_bytes >> 20) + " MiB free");
    }
    TCD_RETURN_IF_ERROR(cat->AppendReplicated(rec, add, refs, wanted, fresh ? &repl : nullptr));
  }
  return AckFor(msg.session);
}

Result<SessionAck> ReplicaWriter::AckFor(const crypto::SessionId& session) {
  node::Catalog* cat = store_->catalog();
  SessionAck ack;
  ack.session = session;
  auto rec = cat->GetSession(session);
  if (!rec.ok()) {
    if (!rec.status().IsNotFound()) return rec.status();
    ack.result = AckResult::kUnknown;
    return ack;
  }
  ack.result = AckResult::kOk;
  ack.stored = rec->next_seq;
  node::ReplRecord repl;
  auto r = cat->GetRepl(session);
  if (r.ok()) repl = *r;
  TCD_ASSIGN_OR_RETURN(auto first, cat->FirstWanted(repl.from_peer, session));
  ack.held = first ? *first : ack.stored;
  ack.central_held = self_ == Role::kCentral ? ack.held : std::min(repl.central_held, ack.held);
  return ack;
}

Status ReplicaWriter::StoreBlob(const node::WantedBlob& w, ByteView bytes) {
  const std::string where =
      "session " + crypto::SessionIdToString(w.session) + " seq " + std::to_string(w.seq);
  if (bytes.size() != w.size)
    return Status::Corruption(where + ": received blob has " + std::to_string(bytes.size()) +
                              " bytes, the signed entry says " + std::to_string(w.size));
  if (crypto::Blake2b256(bytes) != w.hash)
    return Status::Corruption(where + ": received blob does not hash to the signed cipher_hash");
  TCD_ASSIGN_OR_RETURN(crypto::Hash256 h, store_->blobs()->Put(bytes));
  (void)h;
  return store_->catalog()->BlobArrived(w);
}

}  // namespace tcd::replicate
