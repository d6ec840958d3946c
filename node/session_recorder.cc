#include "node/session_recorder.h"

#include <spdlog/spdlog.h>

#include <future>
#include <system_error>

#include "crypto/session_crypto.h"
#include "node/chain_writer.h"

namespace tcd::node {
namespace {

// Below this a segment's plaintext is hashed inline (a thread costs more than it saves).
constexpr size_t kParallelHashBytes = 256 * 1024;

}  // namespace

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

  r->id_ = crypto::NewSessionId();
  r->record_.id = r->id_;
  const int64_t now = store->env()->NowMicros();
  crypto::ChainEntry open;
  open.kind = crypto::EntryKind::kOpen;
  open.start_us = now;
  open.body = crypto::EncodeOpenBody(body);
  std::lock_guard<std::mutex> lock(r->mu_);
  TCD_RETURN_IF_ERROR(r->AppendLocked(std::move(open), std::nullopt, [&](SessionRecord* n) {
    n->state = SessionState::kRecording;
    n->start_us = n->end_us = now;
    for (const auto& [k, v] : meta)
      if (k == "point") n->point = v;
  }));
  spdlog::info("session {} opened", crypto::SessionIdToString(r->id_));
  return r;
}

SessionRecord SessionRecorder::record() const {
  std::lock_guard<std::mutex> lock(mu_);
  return record_;
}

Status SessionRecorder::AppendLocked(crypto::ChainEntry entry, std::optional<ByteView> blob,
                                     const std::function<void(SessionRecord*)>& update) {
  SessionRecord next = record_;
  update(&next);
  TCD_ASSIGN_OR_RETURN(record_, AppendSigned(store_, identity_->sign_sk, record_,
                                             std::move(entry), blob, next));
  return Status::OK();
}

Status SessionRecorder::AppendMedia(crypto::EntryKind kind, uint32_t run, const Bytes& plain,
                                    int64_t start_us, int64_t duration_us) {
  std::lock_guard<std::mutex> lock(mu_);
  if (sealed_) return Status::InvalidArgument("session already sealed");
  crypto::ChainEntry e;
  e.kind = kind;
  e.start_us = start_us;
  e.duration_us = duration_us;
  // A large segment's plaintext is hashed on another core while this one encrypts and hashes
  // the ciphertext: the crypto of a segment then takes as long as one encryption and one hash
  // (docs/BENCHMARKS.md, ingest). Small blobs are not worth a thread.
  std::future<crypto::Hash256> plain_hash;
  if (plain.size() >= kParallelHashBytes) {
    try {
      plain_hash = std::async(std::launch::async, [&plain] { return crypto::Blake2b256(plain); });
    } catch (const std::system_error&) {
      // No thread to be had: hash inline below.
    }
  }
  Bytes blob = crypto::EncryptBlob(session_key_, id_, record_.next_seq, plain);
  e.cipher_hash = crypto::Blake2b256(blob);
  e.plain_hash = plain_hash.valid() ? plain_hash.get() : crypto::Blake2b256(plain);
  e.cipher_size = blob.size();
  e.plain_size = plain.size();
  e.body = crypto::EncodeRunBody(run);
  return AppendLocked(std::move(e), ByteView(blob), [&](SessionRecord* n) {
    if (kind != crypto::EntryKind::kSegment) return;
    n->segments += 1;
    n->media_duration_us += duration_us;
    n->end_us = std::max(n->end_us, start_us + duration_us);
  });
}

Status SessionRecorder::OnInit(uint32_t run, Bytes init, const std::string& codecs) {
  spdlog::info("session {}: run {} init segment ({} bytes): {}",
               crypto::SessionIdToString(id_), run, init.size(), codecs);
  return AppendMedia(crypto::EntryKind::kInit, run, init, store_->env()->NowMicros(), 0);
}

Status SessionRecorder::OnSegment(ingest::MediaSegment segment) {
  return AppendMedia(crypto::EntryKind::kSegment, segment.run, segment.data,
                     segment.wall_start_us, segment.duration_us);
}

Status SessionRecorder::OnGap(int64_t from_us, int64_t to_us, const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  if (sealed_) return Status::InvalidArgument("session already sealed");
  crypto::ChainEntry e;
  e.kind = crypto::EntryKind::kGap;
  e.start_us = from_us;
  e.duration_us = to_us - from_us;
  e.body.assign(reason.begin(), reason.end());
  spdlog::warn("session {}: source gap of {:.1f} s ({})", crypto::SessionIdToString(id_),
               (to_us - from_us) / 1e6, reason);
  return AppendLocked(std::move(e), std::nullopt, [&](SessionRecord* n) {
    n->gaps += 1;
    n->end_us = std::max(n->end_us, to_us);
  });
}

Status SessionRecorder::Seal(crypto::SealReason reason) {
  std::lock_guard<std::mutex> lock(mu_);
  if (sealed_) return Status::InvalidArgument("session already sealed");
  crypto::ChainEntry e;
  e.kind = crypto::EntryKind::kSeal;
  e.start_us = store_->env()->NowMicros();
  e.body = crypto::EncodeSealBody({reason, record_.segments, record_.media_duration_us});
  session_key_ = crypto::SecretBytes();  // wiped whatever happens next
  // A transient failure (I/O error, a busy disk) must not leave the session unsealed for the
  // life of the process: retry the very same entry a few times. The store refuses to store a
  // second entry at the same seq, so a retry after an ambiguous failure cannot fork the chain.
  Status s;
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (attempt > 0) store_->env()->SleepMicros(int64_t{200000} << attempt);
    s = AppendLocked(e, std::nullopt,
                     [](SessionRecord* n) { n->state = SessionState::kSealed; });
    if (s.ok() || s.IsCorruption() || s.IsInvalidArgument()) break;
    spdlog::warn("session {}: sealing failed ({}), retrying", crypto::SessionIdToString(id_),
                 s.ToString());
  }
  sealed_ = true;
  if (s.ok())
    spdlog::info("session {} sealed ({}): {} segments, {:.1f} s", crypto::SessionIdToString(id_),
                 crypto::SealReasonName(reason), record_.segments,
                 record_.media_duration_us / 1e6);
  return s;
}

Result<uint64_t> SessionRecorder::Annotate(const crypto::Metadata& meta) {
  std::lock_guard<std::mutex> lock(mu_);
  TCD_RETURN_IF_ERROR(AppendLocked(MakeAnnotation(store_->env(), meta), std::nullopt,
                                   [](SessionRecord*) {}));
  return record_.next_seq - 1;
}

}  // namespace tcd::node
