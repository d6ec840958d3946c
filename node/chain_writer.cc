#include "node/chain_writer.h"

#include <spdlog/spdlog.h>

#include "node/node_log.h"

namespace tcd::node {

Result<SessionRecord> AppendSigned(Store* store, const crypto::SecretBytes& sign_sk,
                                   const SessionRecord& current, crypto::ChainEntry entry,
                                   std::optional<ByteView> blob, SessionRecord next) {
  entry.session = current.id;
  entry.seq = current.next_seq;
  entry.prev_hash = current.next_seq == 0 ? crypto::Hash256{} : current.head_hash;
  crypto::Hash256 h = crypto::EntryHash(entry);
  crypto::Signature sig = crypto::SignHead(sign_sk, entry.session, entry.seq, h);
  next.id = current.id;
  next.next_seq = entry.seq + 1;
  next.head_hash = h;
  TCD_RETURN_IF_ERROR(store->Append(next, entry, sig, blob));
  // A session closed or amended: sign the node log's new head, so what the session became is
  // covered by a checkpoint even before the replication sender asks for one. The entry is
  // durable already; failing to sign only delays the checkpoint.
  if (entry.kind == crypto::EntryKind::kSeal || entry.kind == crypto::EntryKind::kRecoveryClose ||
      entry.kind == crypto::EntryKind::kAnnotation) {
    auto cp = SignOwnCheckpoint(store->catalog()->logs(), sign_sk);
    if (!cp.ok()) spdlog::warn("node log: signing a checkpoint failed: {}", cp.status().ToString());
  }
  return next;
}

crypto::ChainEntry MakeAnnotation(Env* env, const crypto::Metadata& meta) {
  crypto::ChainEntry e;
  e.kind = crypto::EntryKind::kAnnotation;
  e.start_us = env->NowMicros();
  crypto::EncodeMeta(meta, &e.body);
  return e;
}

Result<crypto::OpenBody> ReadOpenBody(Store* store, const crypto::SessionId& session) {
  TCD_ASSIGN_OR_RETURN(auto chain, store->catalog()->GetChain(session));
  if (chain.empty() || chain[0].first != 0)
    return Status::Corruption("session " + crypto::SessionIdToString(session) +
                              " has no open entry");
  TCD_ASSIGN_OR_RETURN(crypto::ChainEntry open, crypto::DecodeEntry(chain[0].second.entry));
  return crypto::DecodeOpenBody(open.body);
}

static Status CheckSigner(Store* store, const crypto::NodeIdentity& identity,
                          const crypto::SessionId& session) {
  TCD_ASSIGN_OR_RETURN(crypto::OpenBody body, ReadOpenBody(store, session));
  if (body.signer_pk != identity.pub.sign_pk)
    return Status::InvalidArgument("session " + crypto::SessionIdToString(session) +
                                   " was signed by key " + crypto::KeyId(body.signer_pk) +
                                   ", not by this node's key " +
                                   crypto::KeyId(identity.pub.sign_pk));
  return Status::OK();
}

Result<uint64_t> AnnotateStoredSession(Store* store, const crypto::NodeIdentity& identity,
                                       const crypto::SessionId& session,
                                       const crypto::Metadata& meta) {
  TCD_ASSIGN_OR_RETURN(SessionRecord rec, store->catalog()->GetSession(session));
  TCD_RETURN_IF_ERROR(CheckSigner(store, identity, session));
  TCD_ASSIGN_OR_RETURN(SessionRecord next,
                       AppendSigned(store, identity.sign_sk, rec,
                                    MakeAnnotation(store->env(), meta), std::nullopt, rec));
  return next.next_seq - 1;
}

Result<std::vector<std::string>> CloseInterruptedSessions(Store* store,
                                                          const crypto::NodeIdentity& identity) {
  std::vector<std::string> closed;
  TCD_RETURN_IF_ERROR(store->catalog()->ForEachSession([&](const SessionRecord& rec) {
    if (rec.state != SessionState::kUnsealed) return Status::OK();
    std::string sid = crypto::SessionIdToString(rec.id);
    if (!CheckSigner(store, identity, rec.id).ok()) {
      spdlog::warn("session {} is unsealed but was recorded by another key; left as is", sid);
      return Status::OK();
    }
    crypto::ChainEntry e;
    e.kind = crypto::EntryKind::kRecoveryClose;
    e.start_us = store->env()->NowMicros();
    std::string note = "closed by recovery after an unclean stop (crash or power loss); the "
                       "recording ends with entry " + std::to_string(rec.next_seq - 1) + ", " +
                       std::to_string(rec.segments) + " segments";
    e.body.assign(note.begin(), note.end());
    SessionRecord next = rec;
    next.state = SessionState::kRecovered;
    TCD_RETURN_IF_ERROR(
        AppendSigned(store, identity.sign_sk, rec, std::move(e), std::nullopt, next).status());
    spdlog::warn("session {}: {}", sid, note);
    closed.push_back(sid);
    return Status::OK();
  }));
  return closed;
}

}  // namespace tcd::node
