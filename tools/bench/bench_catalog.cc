// Writes the benchmark's sessions into a real catalog (tools/bench/bench_data.h): each session's
// chain is built and signed as the recorder does it (node/session_recorder.cc,
// node/chain_writer.cc), on worker threads, and appended in session order from one thread,
// with the replication record a central archive keeps for it (received from its province).
#include <sodium.h>
#include <sys/resource.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "crypto/hash.h"
#include "tools/bench/bench_data.h"

namespace tcd::bench {
namespace {

using crypto::EntryKind;

struct AppendOp {
  uint16_t province = 0;  // the session's: the central archive received it from there
  node::SessionRecord record;
  uint64_t seq = 0;
  node::ChainRecord chain;
  std::optional<crypto::Hash256> blob;
};

struct Signer {
  crypto::PublicKey pk{};
  crypto::SecretBytes sk;
};

template <size_t N>
void Fill(Rng& r, std::array<uint8_t, N>* a) {
  for (size_t i = 0; i < N; i += 8) {
    uint64_t v = r.Next();
    for (size_t k = 0; k < 8 && i + k < N; ++k) (*a)[i + k] = static_cast<uint8_t>(v >> (8 * k));
  }
}

// Builds one session's chain as a recorder would have appended it.
class ChainBuilder {
 public:
  ChainBuilder(const Dataset& d, const std::vector<Signer>& signers,
               const std::vector<crypto::PublicKey>& archives, uint64_t index,
               std::vector<AppendOp>* out)
      : d_(d),
        s_(d.sessions[index]),
        signer_(signers[s_.point]),
        archives_(archives),
        r_(SubSeed(d.params.seed, 2, index)),
        out_(out) {
    rec_.id = s_.id;
  }

  uint64_t Build() {
    crypto::ChainEntry open;
    open.kind = EntryKind::kOpen;
    open.start_us = s_.start_us;
    crypto::OpenBody body;
    body.signer_pk = signer_.pk;
    for (const auto& pk : archives_) {  // a sealed session key per recipient: random bytes
      crypto::Recipient rcp{pk, Bytes(crypto::kSealedKeySize)};
      for (auto& b : rcp.sealed_key) b = static_cast<uint8_t>(r_.Next());
      body.recipients.push_back(std::move(rcp));
    }
    body.meta = OpenMetadata(d_, s_);
    open.body = crypto::EncodeOpenBody(body);
    rec_.state = node::SessionState::kRecording;
    rec_.start_us = rec_.end_us = s_.start_us;
    rec_.point = d_.points[s_.point].id;
    Add(std::move(open), true);

    const int64_t kbit_s = r_.Range(900, 1600);  // this point's video bitrate
    int64_t t = s_.start_us + r_.Range(300000, 1500000);
    Init(0, t);
    const size_t gap_after = s_.gap ? s_.segments / 2 : SIZE_MAX;
    for (size_t k = 0; k < s_.segments; ++k) {
      const int64_t dur = k + 1 < s_.segments ? 60000000 : s_.last_segment_us;
      crypto::ChainEntry e;
      e.kind = EntryKind::kSegment;
      e.start_us = t;
      e.duration_us = dur;
      Fill(r_, &e.cipher_hash);
      Fill(r_, &e.plain_hash);
      e.plain_size = static_cast<uint64_t>(kbit_s * 125 * dur / 1000000 * r_.Range(90, 110) / 100);
      e.cipher_size = e.plain_size + crypto::kBlobOverhead;
      e.body = crypto::EncodeRunBody(s_.gap && k > gap_after ? 1 : 0);
      rec_.segments += 1;
      rec_.media_duration_us += dur;
      rec_.end_us = std::max(rec_.end_us, t + dur);
      Add(std::move(e), d_.params.sign_all);
      t += dur;
      if (k == gap_after) {
        crypto::ChainEntry g;
        g.kind = EntryKind::kGap;
        g.start_us = t;
        g.duration_us = r_.Range(5000000, 600000000);
        std::string reason = "source unavailable: RTSP connection timed out";
        g.body.assign(reason.begin(), reason.end());
        t += g.duration_us;
        rec_.gaps += 1;
        rec_.end_us = std::max(rec_.end_us, t);
        Add(std::move(g), d_.params.sign_all);
        Init(1, t);
      }
    }
    crypto::ChainEntry end;
    if (!s_.recovered) {
      end.kind = EntryKind::kSeal;
      end.start_us = rec_.end_us + r_.Range(200000, 3000000);
      end.body = crypto::EncodeSealBody(
          {crypto::SealReason::kStopped, rec_.segments, rec_.media_duration_us});
      rec_.state = node::SessionState::kSealed;
    } else {
      end.kind = EntryKind::kRecoveryClose;
      end.start_us = rec_.end_us + r_.Range(60, 48 * 3600) * int64_t{1000000};
      std::string note = "closed by recovery after an unclean stop (crash or power loss); the "
                         "recording ends with entry " + std::to_string(rec_.next_seq - 1) + ", " +
                         std::to_string(rec_.segments) + " segments";
      end.body.assign(note.begin(), note.end());
      rec_.state = node::SessionState::kRecovered;
    }
    const int64_t closed_us = end.start_us;
    Add(std::move(end), true);
    if (!s_.annotation.empty()) {
      crypto::ChainEntry a;
      a.kind = EntryKind::kAnnotation;
      a.start_us = closed_us + r_.Range(1, 30) * 86400 * int64_t{1000000};
      crypto::EncodeMeta(s_.annotation, &a.body);
      Add(std::move(a), true);
    }
    return signatures_;
  }

 private:
  void Init(uint32_t run, int64_t t) {
    crypto::ChainEntry e;
    e.kind = EntryKind::kInit;
    e.start_us = t;
    Fill(r_, &e.cipher_hash);
    Fill(r_, &e.plain_hash);
    e.plain_size = static_cast<uint64_t>(r_.Range(1000, 1500));
    e.cipher_size = e.plain_size + crypto::kBlobOverhead;
    e.body = crypto::EncodeRunBody(run);
    Add(std::move(e), d_.params.sign_all);
  }

  // As node::AppendSigned: link, hash, sign, and the session summary after the entry.
  void Add(crypto::ChainEntry e, bool sign) {
    e.session = s_.id;
    e.seq = rec_.next_seq;
    e.prev_hash = e.seq == 0 ? crypto::Hash256{} : rec_.head_hash;
    AppendOp op;
    op.province = d_.points[s_.point].province;
    op.chain.entry = crypto::EncodeEntry(e);
    const crypto::Hash256 h = crypto::DomainHash("tcd/chain-entry/v1", op.chain.entry);
    if (sign) {
      op.chain.signature = crypto::SignHead(signer_.sk, s_.id, e.seq, h);
      ++signatures_;
    } else {
      Fill(r_, &op.chain.signature);
    }
    if (e.kind == EntryKind::kInit || e.kind == EntryKind::kSegment) op.blob = e.cipher_hash;
    rec_.next_seq = e.seq + 1;
    rec_.head_hash = h;
    op.record = rec_;
    op.seq = e.seq;
    out_->push_back(std::move(op));
  }

  const Dataset& d_;
  const Session& s_;
  const Signer& signer_;
  const std::vector<crypto::PublicKey>& archives_;
  Rng r_;
  std::vector<AppendOp>* out_;
  node::SessionRecord rec_;
  uint64_t signatures_ = 0;
};

// One Ed25519 node key per reception point, derived from the seed.
std::vector<Signer> MakeSigners(const Dataset& d) {
  std::vector<Signer> out(d.points.size());
  for (size_t i = 0; i < out.size(); ++i) {
    Rng r(SubSeed(d.params.seed, 3, i));
    std::array<uint8_t, 32> seed;
    Fill(r, &seed);
    out[i].sk = crypto::SecretBytes(crypto_sign_SECRETKEYBYTES);
    crypto_sign_seed_keypair(out[i].pk.data(), out[i].sk.data(), seed.data());
  }
  return out;
}

double CpuSeconds() {  // this process, all threads (RocksDB's background threads included)
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

Result<WriteStats> WriteCatalog(const Dataset& d, node::Catalog* catalog, int threads) {
  TCD_RETURN_IF_ERROR(crypto::InitCrypto());
  const auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = CpuSeconds();
  const std::vector<Signer> signers = MakeSigners(d);
  std::vector<crypto::PublicKey> archives(2);  // province and central archive keys
  Rng ar(SubSeed(d.params.seed, 4, 0));
  for (auto& pk : archives) Fill(ar, &pk);
  std::vector<crypto::PublicKey> provinces(d.provinces.size());  // their transport keys
  Rng pr(SubSeed(d.params.seed, 5, 0));
  for (auto& pk : provinces) Fill(pr, &pk);

  constexpr size_t kChunk = 256, kWindow = 16;
  const size_t n = d.sessions.size(), chunks = (n + kChunk - 1) / kChunk;
  std::mutex mu;
  std::condition_variable cv;
  std::map<size_t, std::pair<std::vector<AppendOp>, uint64_t>> ready;
  size_t next_claim = 0, next_write = 0;
  bool stop = false;
  auto worker = [&] {
    for (;;) {
      size_t c;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return stop || next_claim >= chunks || next_claim < next_write + kWindow; });
        if (stop || next_claim >= chunks) return;
        c = next_claim++;
      }
      std::vector<AppendOp> ops;
      uint64_t sigs = 0;
      for (size_t i = c * kChunk; i < std::min(n, (c + 1) * kChunk); ++i)
        sigs += ChainBuilder(d, signers, archives, i, &ops).Build();
      std::lock_guard<std::mutex> lock(mu);
      ready.emplace(c, std::make_pair(std::move(ops), sigs));
      cv.notify_all();
    }
  };
  std::vector<std::thread> pool;
  for (int i = 0; i < std::max(1, threads); ++i) pool.emplace_back(worker);

  WriteStats st;
  Status failed;
  auto last_report = t0;
  for (size_t c = 0; c < chunks && failed.ok(); ++c) {
    std::pair<std::vector<AppendOp>, uint64_t> got;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return ready.count(c) > 0; });
      got = std::move(ready[c]);
      ready.erase(c);
      next_write = c + 1;
      cv.notify_all();
    }
    st.signatures += got.second;
    for (const auto& op : got.first) {
      if (op.seq == 0) {  // as the central archive's receiver records it (every blob held)
        failed = catalog->UpdateRepl(
            op.record.id, [&](node::ReplRecord* r) { r->from_peer = provinces[op.province]; },
            /*sync=*/false);
        if (!failed.ok()) break;
      }
      failed = catalog->Append(op.record, op.seq, op.chain, op.blob);
      if (!failed.ok()) break;
      ++st.entries;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_report > std::chrono::seconds(15) || c + 1 == chunks) {
      last_report = now;
      const double s = std::chrono::duration<double>(now - t0).count();
      const size_t done = std::min(n, (c + 1) * kChunk);
      std::printf("  generated %zu/%zu sessions (%.0f%%), %llu entries, %.0f s, ETA %.0f s\n",
                  done, n, 100.0 * done / n, static_cast<unsigned long long>(st.entries), s,
                  s / done * (n - done));
      std::fflush(stdout);
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    stop = true;
    cv.notify_all();
  }
  for (auto& t : pool) t.join();
  TCD_RETURN_IF_ERROR(failed);
  for (const auto& s : d.sessions) st.segments += s.segments;
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  st.cpu_seconds = CpuSeconds() - cpu0;
  return st;
}

}  // namespace tcd::bench
