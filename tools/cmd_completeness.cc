// tcd verify --data DIR --completeness [--json]
// At a province or the central archive: for every downstream node whose log this archive
// cosigned, whether every logged chain entry (and its media) is still here, naming the first
// missing ones and every session affected (node/completeness.h). Reads only. Exit 0: all
// present; 1: something is missing, or an error.
#include <iostream>

#include "node/completeness.h"
#include "node/store.h"
#include "replicate/enrollment.h"
#include "tools/cli.h"

namespace tcd::tools {

int RunVerifyCompleteness(const std::string& data, bool json) {
  node::StoreOptions so;
  so.read_only = true;
  auto store = node::Store::Open(Env::Default(), data, so);
  if (!store.ok()) return ReportError(store.status());
  auto report = node::CheckCompleteness(store->get());
  if (!report.ok()) return ReportError(report.status());
  auto enrolled = replicate::LoadEnrollment(Env::Default(), data);
  auto point_of = [&](const crypto::PublicKey& pk) -> std::string {
    if (enrolled.ok())
      for (const auto& n : *enrolled)
        if (n.pub.sign_pk == pk) return n.point;
    return "";
  };
  bool complete = true;
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& c : *report) {
    complete = complete && c.missing == 0;
    nlohmann::ordered_json j;
    j["origin"] = c.origin;
    j["point"] = point_of(c.signer);
    j["leaves"] = c.leaves;
    j["entry_leaves"] = c.entry_leaves;
    j["checkpoint_leaves"] = c.checkpoint_leaves;
    j["pending_blobs"] = c.pending_blobs;
    j["evicted_blobs"] = c.evicted_blobs;
    j["missing"] = c.missing;
    j["complete"] = c.missing == 0;
    auto& first = j["first_missing"] = nlohmann::ordered_json::array();
    for (const auto& m : c.first_missing)
      first.push_back({{"leaf", m.index},
                       {"session", crypto::SessionIdToString(m.session)},
                       {"seq", m.seq},
                       {"problem", m.what}});
    auto& sessions = j["sessions_missing"] = nlohmann::ordered_json::array();
    for (const auto& s : c.sessions_missing) sessions.push_back(crypto::SessionIdToString(s));
    out.push_back(std::move(j));
  }
  if (json) {
    std::cout << out.dump(2) << "\n";
    return complete ? kExitOk : kExitFailed;
  }
  if (report->empty())
    std::cout << "no downstream node logs in " << data
              << ": completeness is checked at a province or the central archive, for the "
                 "nodes whose logs it cosigned\n";
  for (const auto& j : out) {
    const std::string point = j["point"].get<std::string>();
    std::cout << (point.empty() ? std::string("(relayed)") : point) << "  "
              << j["origin"].get<std::string>() << ": " << j["leaves"].get<uint64_t>()
              << " leaves cosigned (" << j["entry_leaves"].get<uint64_t>() << " chain entries, "
              << j["checkpoint_leaves"].get<uint64_t>() << " checkpoints)";
    if (j["pending_blobs"].get<uint64_t>() > 0)
      std::cout << ", " << j["pending_blobs"].get<uint64_t>() << " blobs still arriving";
    if (j["evicted_blobs"].get<uint64_t>() > 0)
      std::cout << ", " << j["evicted_blobs"].get<uint64_t>() << " blobs evicted by retention";
    if (j["complete"].get<bool>()) {
      std::cout << ": complete\n";
      continue;
    }
    std::cout << ": " << j["missing"].get<uint64_t>() << " MISSING\n";
    for (const auto& m : j["first_missing"])
      std::cout << "  leaf " << m["leaf"].get<uint64_t>() << ": session "
                << m["session"].get<std::string>() << " seq " << m["seq"].get<uint64_t>() << ": "
                << m["problem"].get<std::string>() << "\n";
    std::cout << "  sessions with missing entries:";
    for (const auto& s : j["sessions_missing"]) std::cout << " " << s.get<std::string>();
    std::cout << "\n";
  }
  if (!report->empty())
    std::cout << (complete ? "complete: every logged entry is present\n"
                           : "INCOMPLETE: logged entries are missing from this archive\n");
  return complete ? kExitOk : kExitFailed;
}

}  // namespace tcd::tools
