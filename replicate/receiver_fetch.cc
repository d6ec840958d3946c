// The receiver's blob side: FETCH credit, CHUNKs into DATA/inbox part files, completion.
#include <fcntl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

#include "replicate/receiver_loop.h"

namespace tcd::replicate {
namespace receiver_internal {
namespace {

Status ErrnoStatus(const std::string& what) {
  const int e = errno;
  std::string m = what + ": " + std::strerror(e);
  return e == ENOSPC ? Status::NoSpace(m) : Status::IOError(m);
}

}  // namespace

Status AppendPart(const std::string& path, ByteView data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("open " + path);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status s = ErrnoStatus("write " + path);
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  return ::close(fd) == 0 ? Status::OK() : ErrnoStatus("close " + path);
}

Status SyncPart(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open " + path);
  Status s = ::fdatasync(fd) == 0 ? Status::OK() : ErrnoStatus("fdatasync " + path);
  ::close(fd);
  return s;
}

}  // namespace receiver_internal

void Receiver::Loop::OnChunk(Peer& p, Chunk& c) {
  const int64_t now = env_->MonotonicMicros();
  auto o = std::find_if(p.out.begin(), p.out.end(), [&](const Outstanding& x) {
    return x.blob == c.blob && x.offset == c.offset;
  });
  if (o == p.out.end()) return;  // stale (from before a reset): ignore
  const int64_t rtt = now - o->sent_us;
  if (p.rtt_min_us == 0 || rtt < p.rtt_min_us) p.rtt_min_us = rtt;
  p.out.erase(o);
  auto it = p.parts.find(c.blob);
  if (it == p.parts.end()) return;
  Part& part = it->second;
  if (c.total != part.w.size) {
    Refuse(&p, "chunk of blob " + ToHex(c.blob).substr(0, 16) + " says the blob has " +
                   std::to_string(c.total) + " bytes, the signed entry " +
                   std::to_string(part.w.size));
    part.requested = part.size;
    p.retry_after[c.blob] = now + kUnavailableRetryUs;
    return;
  }
  if (c.offset != part.size) {  // a hole (a lost chunk) or a duplicate
    if (c.offset > part.size) {
      std::erase_if(p.out, [&](const Outstanding& x) { return x.blob == c.blob; });
      part.requested = part.size;
    }
    return;
  }
  Status s = AppendPart(PartPath(c.blob), c.data);
  if (!s.ok()) {
    // A partial write (disk full) must not shift the next chunk: cut back to what is counted.
    if (::truncate(PartPath(c.blob).c_str(), static_cast<off_t>(part.size)) != 0) part.size = 0;
    spdlog::error("replication: {}", s.ToString());
    p.stats.last_error = s.message();
    part.requested = part.size;
    return;
  }
  part.size += c.data.size();
  part.dirty = true;
  p.stats.bytes_received += c.data.size();
  if (part.size == part.w.size) Complete(p, part);
}

// The part file holds the whole blob: make it durable, check it against the signed entry,
// move it into the blob store and acknowledge.
void Receiver::Loop::Complete(Peer& p, Part& part) {
  const node::WantedBlob w = part.w;
  const std::string path = PartPath(w.hash);
  Status s = part.size == 0 ? Status::OK() : SyncPart(path);
  Result<Bytes> bytes = part.size == 0 ? Result<Bytes>(Bytes{}) : env_->ReadFile(path);
  if (s.ok()) s = bytes.status();
  if (s.ok()) s = writer_.StoreBlob(w, *bytes);
  if (!s.ok()) {
    spdlog::error("replication: blob from {} refused: {}", p.node.point, s.ToString());
    p.stats.last_error = s.message();
    if (s.IsCorruption()) {
      (void)env_->RemoveFile(path);
      Refuse(&p, s.message());
    }
    p.retry_after[w.hash] = env_->MonotonicMicros() + kUnavailableRetryUs;
    p.parts.erase(w.hash);
    return;
  }
  (void)env_->RemoveFile(path);
  p.parts.erase(w.hash);
  p.queued.erase(w.hash);
  std::erase_if(p.queue, [&](const node::WantedBlob& q) { return q.hash == w.hash; });
  p.stats.blobs_received += 1;
  SendAck(p, w.session);
}

void Receiver::Loop::Refill(Peer& p) {
  const int64_t now = env_->MonotonicMicros();
  auto list = store_->catalog()->ListWanted(p.node.pub.transport_pk, 32, p.cursor);
  if (list.ok() && list->empty() && p.cursor && now >= p.relist_at_us) {
    p.cursor.reset();  // wrapped: start over (retries, sessions older than the cursor)
    p.relist_at_us = now + kRelistUs;
    list = store_->catalog()->ListWanted(p.node.pub.transport_pk, 32, p.cursor);
  }
  if (!list.ok()) {
    p.stats.last_error = list.status().message();
    return;
  }
  for (const auto& w : *list) {
    p.cursor = w;
    if (p.queued.insert(w.hash).second) p.queue.push_back(w);
  }
}

// Requests chunks until the peer's window of outstanding FETCHes is full.
void Receiver::Loop::TopUp(Peer& p) {
  const int64_t now = env_->MonotonicMicros();
  if (p.queue.size() < kBlobsInProgress) Refill(p);
  size_t i = 0;
  while (p.out.size() < p.window && i < p.queue.size() && i < kBlobsInProgress &&
         !gone_.count(p.rid)) {
    const node::WantedBlob w = p.queue[i];
    auto ra = p.retry_after.find(w.hash);
    if (ra != p.retry_after.end() && now < ra->second) {
      p.queued.erase(w.hash);
      p.queue.erase(p.queue.begin() + i);
      continue;
    }
    // Arrived before (a replay, or a crash after the blob was stored but before the inbox
    // record was removed): make sure it is durable, then clear the inbox.
    if (store_->blobs()->Exists(w.hash) && store_->blobs()->MakeDurable(w.hash).ok()) {
      (void)store_->catalog()->BlobArrived(w);
      p.queued.erase(w.hash);
      p.queue.erase(p.queue.begin() + i);
      SendAck(p, w.session);
      continue;
    }
    auto [it, fresh] = p.parts.try_emplace(w.hash);
    Part& part = it->second;
    if (fresh) {
      part.w = w;
      auto size = env_->FileSize(PartPath(w.hash));
      part.size = size.ok() ? *size : 0;  // resume at what is already stored
      if (part.size > w.size) {
        (void)env_->RemoveFile(PartPath(w.hash));
        part.size = 0;
      }
      part.requested = part.size;
      if (part.size == w.size) {
        Complete(p, part);
        continue;
      }
    }
    if (part.requested >= w.size) {
      ++i;
      continue;
    }
    const uint32_t len =
        static_cast<uint32_t>(std::min<uint64_t>(options_.chunk_bytes, w.size - part.requested));
    SendTo(p.rid, Fetch{w.hash, part.requested, len});
    p.out.push_back({w.hash, part.requested, now});
    part.requested += len;
  }
}

void Receiver::Loop::FlushParts() {
  for (auto& [rid, p] : peers_)
    for (auto& [h, part] : p.parts)
      if (part.dirty) {
        Status s = SyncPart(PartPath(h));
        if (!s.ok()) p.stats.last_error = s.message();
        part.dirty = false;
      }
}

}  // namespace tcd::replicate
