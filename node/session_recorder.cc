#include "node/session_recorder.h"

#include <spdlog/spdlog.h>

#include "crypto/session_crypto.h"

namespace tcd::node {

SessionRecorder::SessionRecorder(Store* store, const crypto::NodeIdentity* identity)
    : store_(store), identity_(identity) {}

Result<std::unique_ptr<SessionRecorder>> SessionRecorder::Start(
    Store* store, const crypto::NodeIdentity* identity,
    const std::vector<crypto::ArchivePublic>& recipients, const crypto::Metadata& meta) {
  if (recipients.empty())
    return Status::InvalidArgument("a session needs at least one recipient archive key");
  std::unique_ptr<SessionRecorder> r(new SessionRecorder(store, identity));
  r->session_key_ = crypto::NewSessionKey();
  crypto::OpenBody body;
  body.signer_pk = identity->pub.sign_pk;
  for (const auto& pub : recipients)
    body.recipients.push_back({pub.box_pk, crypto::SealSessionKey(r->session_key_, pub)});
  body.meta = meta;

  SessionRecord next;
  next.id = crypto::NewSessionId();
  next.state = SessionState::kRecording;
  next.start_us = store->env()->NowMicros();
  next.end_us = next.start_us;
  for (const auto& [k, v] : meta)
    if (k == "point") next.point = v;
  crypto::ChainEntry open;
  open.kind = crypto::EntryKind::kOpen;
  open.start_us = next.start_us;
  open.body = crypto::EncodeOpenBody(body);
  r->record_.id = next.id;
  TCD_RETURN_IF_ERROR(r->AppendEntry(std::move(open), std::nullopt, next));
  spdlog::info("session {} opened", crypto::SessionIdToString(r->record_.id));
  return r;
}

Status SessionRecorder::AppendEntry(crypto::ChainEntry entry, std::optional<ByteView> blob,
                                    SessionRecord next) {
  if (sealed_) return Status::InvalidArgument("session already sealed");
  entry.session = record_.id;
  entry.seq = record_.next_seq;
  entry.prev_hash = record_.next_seq == 0 ? crypto::Hash256{} : record_.head_hash;
  crypto::Hash256 h = crypto::EntryHash(entry);
  crypto::Signature sig =
      crypto::SignHead(identity_->sign_sk, entry.session, entry.seq, h);
  next.next_seq = entry.seq + 1;
  next.head_hash = h;
  TCD_RETURN_IF_ERROR(store_->Append(next, entry, sig, blob));
  record_ = next;
  return Status::OK();
}

Status SessionRecorder::AppendMedia(crypto::EntryKind kind, uint32_t run, const Bytes& plain,
                                    int64_t start_us, int64_t duration_us) {
  crypto::ChainEntry e;
  e.kind = kind;
  e.start_us = start_us;
  e.duration_us = duration_us;
  Bytes blob = crypto::EncryptBlob(session_key_, record_.id, record_.next_seq, plain);
  e.cipher_hash = crypto::Blake2b256(blob);
  e.plain_hash = crypto::Blake2b256(plain);
  e.cipher_size = blob.size();
  e.plain_size = plain.size();
  e.body = crypto::EncodeRunBody(run);
  SessionRecord next = record_;
  if (kind == crypto::EntryKind::kSegment) {
    next.segments += 1;
    next.media_duration_us += duration_us;
    next.end_us = std::max(next.end_us, start_us + duration_us);
  }
  return AppendEntry(std::move(e), ByteView(blob), next);
}

Status SessionRecorder::OnInit(uint32_t run, Bytes init, const std::string& codecs) {
  spdlog::info("session {}: run {} init segment ({} bytes): {}",
               crypto::SessionIdToString(record_.id), run, init.size(), codecs);
  return AppendMedia(crypto::EntryKind::kInit, run, init, store_->env()->NowMicros(), 0);
}

Status SessionRecorder::OnSegment(ingest::MediaSegment segment) {
  return AppendMedia(crypto::EntryKind::kSegment, segment.run, segment.data,
                     segment.wall_start_us, segment.duration_us);
}

Status SessionRecorder::OnGap(int64_t from_us, int64_t to_us, const std::string& reason) {
  crypto::ChainEntry e;
  e.kind = crypto::EntryKind::kGap;
  e.start_us = from_us;
  e.duration_us = to_us - from_us;
  e.body.assign(reason.begin(), reason.end());
  SessionRecord next = record_;
  next.gaps += 1;
  next.end_us = std::max(next.end_us, to_us);
  spdlog::warn("session {}: source gap of {:.1f} s ({})", crypto::SessionIdToString(record_.id),
               (to_us - from_us) / 1e6, reason);
  return AppendEntry(std::move(e), std::nullopt, next);
}

Status SessionRecorder::Seal(crypto::SealReason reason) {
  crypto::ChainEntry e;
  e.kind = crypto::EntryKind::kSeal;
  e.start_us = store_->env()->NowMicros();
  crypto::SealBody body{reason, record_.segments, record_.media_duration_us};
  e.body = crypto::EncodeSealBody(body);
  SessionRecord next = record_;
  next.state = SessionState::kSealed;
  Status s = AppendEntry(std::move(e), std::nullopt, next);
  session_key_ = crypto::SecretBytes();  // wipes the key whatever happened
  sealed_ = true;
  if (s.ok())
    spdlog::info("session {} sealed ({}): {} segments, {:.1f} s",
                 crypto::SessionIdToString(record_.id), crypto::SealReasonName(reason),
                 record_.segments, record_.media_duration_us / 1e6);
  return s;
}

}  // namespace tcd::node
