#include "node/log_proof.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "base/time_format.h"
#include "crypto/merkle.h"
#include "crypto/note.h"
#include "node/node_log.h"
#include "node/store.h"

namespace tcd::node {
namespace {

using OJson = nlohmann::ordered_json;
namespace merkle = crypto::merkle;
namespace note = crypto::note;

OJson HexList(const std::vector<crypto::Hash256>& hashes) {
  OJson a = OJson::array();
  for (const auto& h : hashes) a.push_back(ToHex(h));
  return a;
}

std::string BodyOf(const std::string& text) {
  auto n = note::ParseNote(text);
  return n.ok() ? n->body : "";
}

// Where the recorder checkpoint `body` is a leaf of a province log kept here, with a kept
// checkpoint of that log covering it.
struct ProvinceHit {
  LogId log;
  crypto::PublicKey pk{};
  uint64_t index = 0;
  std::pair<uint64_t, std::string> checkpoint;
};
Result<std::optional<ProvinceHit>> FindInProvinceLog(NodeLogs* logs, const std::string& body,
                                                     const std::vector<crypto::PublicKey>& keys) {
  for (const auto& pk : keys) {
    TCD_ASSIGN_OR_RETURN(auto own, logs->Signer(LogId::Own()));
    const LogId log = own && *own == pk ? LogId::Own() : LogId::Of(pk);
    TCD_ASSIGN_OR_RETURN(auto index, logs->IndexOfCheckpoint(log, body));
    if (!index) continue;
    TCD_ASSIGN_OR_RETURN(auto cp, logs->CheckpointAtOrBelow(log, UINT64_MAX));
    if (cp && cp->first > *index) return std::optional<ProvinceHit>({log, pk, *index, *cp});
  }
  return std::optional<ProvinceHit>();
}

Result<std::vector<crypto::Hash256>> Hashes(const OJson& j, const std::string& field) {
  if (!j.contains(field) || !j[field].is_array())
    return Status::Corruption("log-proof.json: field '" + field + "' is not a list");
  std::vector<crypto::Hash256> out;
  for (const auto& h : j[field]) {
    auto b = h.is_string() ? FromHex(h.get<std::string>()) : std::nullopt;
    if (!b || b->size() != 32)
      return Status::Corruption("log-proof.json: field '" + field + "': not 64 hex characters");
    out.emplace_back();
    std::copy(b->begin(), b->end(), out.back().begin());
  }
  return out;
}

Result<crypto::PublicKey> Key(const OJson& j, const std::string& field) {
  auto b = j.contains(field) && j[field].is_string() ? FromHex(j[field].get<std::string>())
                                                     : std::nullopt;
  if (!b || b->size() != 32)
    return Status::Corruption("log-proof.json: field '" + field + "': not a 32-byte hex key");
  crypto::PublicKey pk;
  std::copy(b->begin(), b->end(), pk.begin());
  return pk;
}

Result<uint64_t> Index(const OJson& j, const std::string& field) {
  if (!j.contains(field) || !j[field].is_number_unsigned())
    return Status::Corruption("log-proof.json: field '" + field + "' is not a number");
  return j[field].get<uint64_t>();
}

// A checkpoint note of `pk`'s log, signed by it: its note and checkpoint.
Result<std::pair<note::Note, note::Checkpoint>> SignedCheckpoint(const OJson& j,
                                                                 const std::string& field,
                                                                 const crypto::PublicKey& pk,
                                                                 const std::string& what) {
  if (!j.contains(field) || !j[field].is_string())
    return Status::Corruption("log-proof.json: field '" + field + "' is not a note");
  auto n = note::ParseNote(j[field].get<std::string>());
  if (!n.ok()) return n.status().WithContext(what);
  auto c = note::ParseCheckpoint(n->body);
  if (!c.ok()) return c.status().WithContext(what);
  const std::string origin = LogOrigin(pk);
  if (c->origin != origin)
    return Status::Corruption(what + ": of the log " + c->origin + ", not " + origin);
  if (Status s = note::VerifySignature(*n, origin, pk); !s.ok()) return s.WithContext(what);
  return std::make_pair(std::move(*n), std::move(*c));
}

std::string Cosigner(const std::string& origin, uint64_t t) {
  return origin + " at " + FormatUtc(static_cast<int64_t>(t) * 1000000);
}

Result<LogProofCheck> CheckLogProofJson(std::string_view json_text,
                                        const crypto::SessionId& session,
                                        const std::vector<ByteView>& entries,
                                        const crypto::PublicKey& recorder_pk,
                                        const std::vector<crypto::PublicKey>& trusted);

// OK when no trusted keys were given or `pk` is one of them.
Status Trusted(const crypto::PublicKey& pk, const std::vector<crypto::PublicKey>& trusted,
               const std::string& what) {
  if (trusted.empty() || std::find(trusted.begin(), trusted.end(), pk) != trusted.end())
    return Status::OK();
  return Status::Corruption(what + " key " + LogOrigin(pk) +
                            " is not one of the trusted cosigners (--cosigner)");
}

}  // namespace

std::string LogProofCheck::Tiers() const {
  return std::string("recorder") + (through_province ? " → province" : "") +
         (central_cosigned ? " → central" : "");
}

Result<std::optional<std::string>> BuildLogProof(Store* store, const crypto::SessionId& session,
                                                 uint64_t next_seq,
                                                 const crypto::PublicKey& recorder_pk) {
  NodeLogs* logs = store->catalog()->logs();
  if (logs == nullptr || next_seq == 0) return std::optional<std::string>();
  TCD_ASSIGN_OR_RETURN(auto own, logs->Signer(LogId::Own()));
  LogId rec = LogId::Of(recorder_pk);
  TCD_ASSIGN_OR_RETURN(uint64_t copy_size, logs->Size(rec));
  if (copy_size == 0) {
    if (!own || *own != recorder_pk) return std::optional<std::string>();
    rec = LogId::Own();  // exported at the recorder itself
  }
  // The newest entry of the session under the newest kept checkpoint of the recorder's log (an
  // entry added after it, such as a late annotation, is not covered yet; the chain's links
  // cover every earlier one).
  TCD_ASSIGN_OR_RETURN(auto kept, logs->Checkpoints(rec));
  if (kept.empty()) return std::optional<std::string>();
  uint64_t seq = next_seq;
  uint64_t leaf = 0;  // the entry's leaf index (a plain value: g++ -O2 saw an optional unset)
  bool covered = false;
  while (!covered && seq-- > 0) {
    TCD_ASSIGN_OR_RETURN(std::optional<uint64_t> at, logs->IndexOfEntry(rec, session, seq));
    covered = at && *at < kept.back().first;
    if (covered) leaf = *at;
  }
  if (!covered) return std::optional<std::string>();
  // The province logs kept here (copies, or this node's own at a province).
  std::vector<crypto::PublicKey> provinces;
  TCD_ASSIGN_OR_RETURN(auto down, logs->Downstream());
  for (const auto& pk : down)
    if (pk != recorder_pk) provinces.push_back(pk);
  if (own && *own != recorder_pk) provinces.push_back(*own);
  // Newest first: a recorder checkpoint covering the entry, preferably one a province log holds.
  std::optional<std::pair<uint64_t, std::string>> chosen;
  std::optional<ProvinceHit> hit;
  for (auto it = kept.rbegin(); it != kept.rend() && it->first > leaf; ++it) {
    if (!chosen) chosen = *it;
    TCD_ASSIGN_OR_RETURN(hit, FindInProvinceLog(logs, BodyOf(it->second), provinces));
    if (hit) {
      chosen = *it;
      break;
    }
  }
  if (!chosen) return std::optional<std::string>();
  TCD_ASSIGN_OR_RETURN(auto path, logs->InclusionProof(rec, leaf, chosen->first));
  OJson j = {{"format", "tcd-log-proof"},
             {"version", 1},
             {"session", crypto::SessionIdToString(session)},
             {"seq", seq},
             {"leaf_index", leaf},
             {"recorder_checkpoint", chosen->second},
             {"recorder_inclusion", HexList(path)}};
  j["province"] = nullptr;
  j["central_public_key"] = nullptr;
  if (hit) {
    TCD_ASSIGN_OR_RETURN(auto ppath, logs->InclusionProof(hit->log, hit->index,
                                                          hit->checkpoint.first));
    j["province"] = {{"public_key", ToHex(hit->pk)},
                     {"leaf_index", hit->index},
                     {"checkpoint", hit->checkpoint.second},
                     {"inclusion", HexList(ppath)}};
    // At the central archive, its own key cosigned the province's checkpoint.
    if (own && *own != hit->pk && hit->log.prefix != LogId::Own().prefix)
      j["central_public_key"] = ToHex(*own);
  }
  return std::optional<std::string>(j.dump(2) + "\n");
}

Result<LogProofCheck> CheckLogProof(std::string_view json_text, const crypto::SessionId& session,
                                    const std::vector<ByteView>& entries,
                                    const crypto::PublicKey& recorder_pk,
                                    const std::vector<crypto::PublicKey>& trusted_cosigners) {
  // A member of the wrong JSON type is a malformed file, never an exception.
  try {
    return CheckLogProofJson(json_text, session, entries, recorder_pk, trusted_cosigners);
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(std::string("log-proof.json: malformed (") + e.what() + ")");
  }
}

namespace {

Result<LogProofCheck> CheckLogProofJson(std::string_view json_text,
                                        const crypto::SessionId& session,
                                        const std::vector<ByteView>& entries,
                                        const crypto::PublicKey& recorder_pk,
                                        const std::vector<crypto::PublicKey>& trusted) {
  const OJson j = OJson::parse(json_text, nullptr, false);
  auto text = [&](const char* k) {
    return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string();
  };
  if (!j.is_object() || text("format") != "tcd-log-proof" || !j.contains("version") ||
      !j["version"].is_number_unsigned() || j["version"].get<uint64_t>() != 1)
    return Status::Corruption("log-proof.json: not a tcd-log-proof document of version 1");
  if (text("session") != crypto::SessionIdToString(session))
    return Status::Corruption("log-proof.json: field 'session' is not the session of its "
                              "directory");
  LogProofCheck r;
  TCD_ASSIGN_OR_RETURN(r.seq, Index(j, "seq"));
  if (r.seq >= entries.size())
    return Status::Corruption("log-proof.json: seq " + std::to_string(r.seq) +
                              " is not in the chain (" + std::to_string(entries.size()) +
                              " entries)");
  TCD_ASSIGN_OR_RETURN(uint64_t index, Index(j, "leaf_index"));
  TCD_ASSIGN_OR_RETURN(auto path, Hashes(j, "recorder_inclusion"));
  TCD_ASSIGN_OR_RETURN(auto rec, SignedCheckpoint(j, "recorder_checkpoint", recorder_pk,
                                                  "the recorder's checkpoint"));
  r.recorder_origin = rec.second.origin;
  r.recorder_size = rec.second.size;
  const Bytes leaf = EntryLeaf(session, r.seq, crypto::EntryHashOf(entries[r.seq]));
  if (Status s = merkle::VerifyInclusion(index, rec.second.size, merkle::LeafHash(leaf), path,
                                         rec.second.root);
      !s.ok())
    return s.WithContext("seq " + std::to_string(r.seq) + " in the recorder's log");
  if (j.contains("province") && !j["province"].is_null()) {
    const OJson& p = j["province"];
    if (!p.is_object()) return Status::Corruption("log-proof.json: field 'province' is not an object");
    TCD_ASSIGN_OR_RETURN(auto pk, Key(p, "public_key"));
    TCD_RETURN_IF_ERROR(Trusted(pk, trusted, "the province's"));
    const std::string porigin = LogOrigin(pk);
    auto t = note::VerifyCosignature(rec.first, porigin, pk);
    if (!t.ok()) return t.status().WithContext("the recorder's checkpoint (the province's)");
    r.recorder_cosigners.push_back(Cosigner(porigin, *t));
    TCD_ASSIGN_OR_RETURN(uint64_t pindex, Index(p, "leaf_index"));
    TCD_ASSIGN_OR_RETURN(auto ppath, Hashes(p, "inclusion"));
    TCD_ASSIGN_OR_RETURN(auto prov,
                         SignedCheckpoint(p, "checkpoint", pk, "the province's checkpoint"));
    if (Status s = merkle::VerifyInclusion(pindex, prov.second.size,
                                           merkle::LeafHash(CheckpointLeaf(rec.first.body)), ppath,
                                           prov.second.root);
        !s.ok())
      return s.WithContext("the recorder's checkpoint in the province's log");
    r.through_province = true;
    r.province_origin = porigin;
    r.province_size = prov.second.size;
    if (j.contains("central_public_key") && !j["central_public_key"].is_null()) {
      TCD_ASSIGN_OR_RETURN(auto cpk, Key(j, "central_public_key"));
      TCD_RETURN_IF_ERROR(Trusted(cpk, trusted, "the central archive's"));
      r.central_origin = LogOrigin(cpk);
      auto ct = note::VerifyCosignature(prov.first, r.central_origin, cpk);
      if (!ct.ok()) return ct.status().WithContext("the province's checkpoint (the central's)");
      r.central_cosigned = true;
      if (auto rt = note::VerifyCosignature(rec.first, r.central_origin, cpk); rt.ok())
        r.recorder_cosigners.push_back(Cosigner(r.central_origin, *rt));
    }
  }
  r.cosigners_checked = !trusted.empty();
  return r;
}

}  // namespace

}  // namespace tcd::node
