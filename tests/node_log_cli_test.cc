// Node logs across three real nodes (issue 6): checkpoints cosigned up every tier, a whole
// session deleted at the province found by `tcd verify --completeness`, and a recorder that
// rewrites its history caught at the province as a split view that `tcd status` raises.
#include <signal.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "crypto/chain.h"
#include "node/store.h"
#include "tests/replication_fixture.h"

namespace tcd {
namespace {

using testing::RunTcd;
using testing::TempDir;
using Tier = Trio::Tier;
using Json = nlohmann::json;

// `tcd log --json` of an archive (read-only, while its node runs): its "logs"; null on failure.
Json Logs(const std::string& data) {
  auto r = RunTcd({"log", "--data", data, "--json"});
  if (r.exit_code != 0) return nullptr;
  Json j = Json::parse(r.out, nullptr, false);
  return j.is_object() ? j.value("logs", Json()) : Json();
}

// The log of that kind ("own", "downstream") in a `tcd log --json` answer; null when absent.
Json Find(const Json& logs, const std::string& kind) {
  if (!logs.is_array()) return nullptr;
  for (const auto& l : logs)
    if (l.is_object() && l.value("kind", "") == kind) return l;
  return nullptr;
}

// True when the newest checkpoint of `log` covers all of it and carries a cosignature.
bool CosignedToTheEnd(const Json& log) {
  if (!log.is_object() || log.value("size", 0) == 0) return false;
  const Json cps = log.value("checkpoints", Json::array());
  if (cps.empty()) return false;
  const Json& last = cps.back();
  if (last.value("size", 0) != log.value("size", 0) || !last.value("valid", false)) return false;
  for (const auto& s : last.value("signatures", Json::array()))
    if (s.contains("cosigned_at")) return true;
  return false;
}

// A field of the node's status' node_log (null when the node does not answer).
Json NodeLogField(Node& n, const char* key) {
  const Json st = n.Status();
  if (!st.is_object() || !st.contains("node_log") || !st["node_log"].is_object()) return nullptr;
  return st["node_log"].value(key, Json());
}

TEST(NodeLogCli, CheckpointsAreCosignedUpEveryTierAndADeletedSessionIsNamed) {
  TempDir dir;
  Trio trio(dir, {});
  auto sessions = trio.Record(3, 2, 4096);
  ASSERT_EQ(sessions.size(), 3u);
  trio.Start(Tier::kCentral);
  trio.Start(Tier::kProvince);
  trio.Start(Tier::kRecorder);
  ASSERT_TRUE(Poll(60, [&] { return trio.CompleteAt(Tier::kCentral) == 3; })) << trio.Logs();
  // The recorder's whole log is cosigned by the province, and the province's log (which holds
  // that checkpoint) by the central archive.
  ASSERT_TRUE(Poll(30, [&] { return CosignedToTheEnd(Find(Logs(trio.data(Tier::kRecorder)), "own")); }))
      << Logs(trio.data(Tier::kRecorder)).dump(1) << trio.Logs();
  ASSERT_TRUE(Poll(30, [&] { return CosignedToTheEnd(Find(Logs(trio.data(Tier::kProvince)), "own")); }))
      << Logs(trio.data(Tier::kProvince)).dump(1) << trio.Logs();
  const Json rec = Find(Logs(trio.data(Tier::kRecorder)), "own");
  EXPECT_EQ(rec["size"], 3u * 5);  // open, init, 2 segments, seal
  const Json copy = Find(Logs(trio.data(Tier::kProvince)), "downstream");
  ASSERT_TRUE(copy.is_object());
  EXPECT_EQ(copy["origin"], rec["origin"]);
  EXPECT_EQ(copy["root"], rec["root"]);
  // The central archive keeps the province's log, and the recorder's log the province relays,
  // each cosigned by it.
  const std::string province_origin = Find(Logs(trio.data(Tier::kProvince)), "own")["origin"];
  Json central_copies;
  ASSERT_TRUE(Poll(30, [&] {
    central_copies = Json::object();
    const Json all = Logs(trio.data(Tier::kCentral));
    if (all.is_array())
      for (const auto& l : all)
        if (l.value("kind", "") == "downstream" && CosignedToTheEnd(l))
          central_copies[l.value("origin", "")] = l;
    return central_copies.contains(province_origin) && central_copies.contains(rec["origin"]) &&
           central_copies[rec["origin"].get<std::string>()]["size"] == 15;
  })) << Logs(trio.data(Tier::kCentral)).dump(1) << trio.Logs();
  const Json relayed = central_copies[rec["origin"].get<std::string>()];
  EXPECT_EQ(relayed["root"], rec["root"]);
  EXPECT_EQ(relayed["checkpoints"].back()["signatures"].size(), 3u);  // recorder, province, central
  EXPECT_EQ(NodeLogField(trio.node(Tier::kRecorder), "upstream_cosigned"), 15u);

  auto complete = RunTcd({"verify", "--data", trio.data(Tier::kProvince), "--completeness"});
  EXPECT_EQ(complete.exit_code, 0) << complete.out << complete.err;
  EXPECT_NE(complete.out.find("15 leaves cosigned (15 chain entries, 0 checkpoints): complete"),
            std::string::npos)
      << complete.out;

  // One log by its origin's key id; an unknown one is a usage error that says so.
  const std::string rec_origin = rec["origin"];
  auto only = RunTcd({"log", "--data", trio.data(Tier::kCentral), "--origin",
                      rec_origin.substr(rec_origin.find('/') + 1), "--json"});
  EXPECT_EQ(only.exit_code, 0) << only.err;
  const Json only_logs = Json::parse(only.out, nullptr, false);
  ASSERT_TRUE(only_logs.is_object()) << only.out;
  ASSERT_EQ(only_logs["logs"].size(), 1u);
  EXPECT_EQ(only_logs["logs"][0]["origin"], rec_origin);
  auto none = RunTcd({"log", "--data", trio.data(Tier::kCentral), "--origin", "nope"});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("no log of origin or key id 'nope'"), std::string::npos) << none.err;
  auto usage = RunTcd({"verify", "--data", trio.data(Tier::kCentral), "--completeness",
                       "--session", "x"});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_NE(usage.err.find("--completeness needs --data DIR"), std::string::npos) << usage.err;

  auto central_complete = RunTcd({"verify", "--data", trio.data(Tier::kCentral), "--completeness"});
  EXPECT_EQ(central_complete.exit_code, 0) << central_complete.out << central_complete.err;
  EXPECT_NE(central_complete.out.find("15 leaves cosigned (15 chain entries, 0 checkpoints): "
                                      "complete"),
            std::string::npos)
      << central_complete.out;

  // An intruder at the province deletes the second session: its files and its catalog rows.
  ASSERT_EQ(trio.node(Tier::kProvince).Stop(), 0);
  auto victim = crypto::SessionIdFromString(sessions[1].id);
  ASSERT_TRUE(victim.ok());
  {
    auto store = node::Store::Open(Env::Default(), trio.data(Tier::kProvince));
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto chain = (*store)->catalog()->GetChain(*victim);
    ASSERT_TRUE(chain.ok());
    ASSERT_EQ(chain->size(), 5u);
    for (const auto& [seq, rec] : *chain) {
      auto e = crypto::DecodeEntry(rec.entry);
      ASSERT_TRUE(e.ok());
      if (e->cipher_hash != crypto::Hash256{})
        std::filesystem::remove((*store)->blobs()->PathOf(e->cipher_hash));
    }
    ASSERT_TRUE((*store)->catalog()->RawDeleteSession(*victim).ok());
  }
  auto incomplete = RunTcd({"verify", "--data", trio.data(Tier::kProvince), "--completeness"});
  EXPECT_EQ(incomplete.exit_code, 1) << incomplete.out << incomplete.err;
  EXPECT_NE(incomplete.out.find("5 MISSING"), std::string::npos) << incomplete.out;
  EXPECT_NE(incomplete.out.find("leaf 5: session " + sessions[1].id + " seq 0: chain entry "
                                "missing"),
            std::string::npos)
      << incomplete.out;
  EXPECT_NE(incomplete.out.find("sessions with missing entries: " + sessions[1].id),
            std::string::npos)
      << incomplete.out;
  auto j = RunTcd({"verify", "--data", trio.data(Tier::kProvince), "--completeness", "--json"});
  EXPECT_EQ(j.exit_code, 1);
  const Json report = Json::parse(j.out, nullptr, false);
  ASSERT_TRUE(report.is_array() && report.size() == 1) << j.out;
  EXPECT_EQ(report[0]["missing"], 5);
  EXPECT_EQ(report[0]["sessions_missing"], Json::array({sessions[1].id}));
}

TEST(NodeLogCli, ARecorderThatRewritesItsHistoryRaisesASplitViewAlarm) {
  TempDir dir;
  Trio trio(dir, {});
  trio.Record(2, 2, 4096);
  trio.Start(Tier::kProvince);
  trio.Start(Tier::kRecorder);
  ASSERT_TRUE(Poll(60, [&] {
    return NodeLogField(trio.node(Tier::kRecorder), "upstream_cosigned") == 10;
  })) << trio.Logs();
  // The commune PC is reinstalled with the same key and an empty disk (or its operator forges
  // another history): its log starts again, grows past the 10 leaves the province cosigned, and
  // the consistency proof from them fails.
  ASSERT_EQ(trio.node(Tier::kRecorder).Stop(), 0);
  std::filesystem::rename(trio.data(Tier::kRecorder), trio.data(Tier::kRecorder) + ".old");
  trio.Record(3, 1, 4096);  // 3 × (open, init, 1 segment, seal): 12 leaves
  trio.Start(Tier::kRecorder);
  Json views;
  ASSERT_TRUE(Poll(60, [&] {
    views = NodeLogField(trio.node(Tier::kProvince), "split_views");
    return views.is_array() && !views.empty();
  })) << trio.Logs();
  const Json view = views[0];
  EXPECT_EQ(view["size"], 12u) << view.dump();
  EXPECT_NE(view["why"].get<std::string>().find("not an extension of the 10 leaves cosigned here"),
            std::string::npos)
      << view.dump();
  auto text = RunTcd({"status", "--config", trio.config(Tier::kProvince)});
  EXPECT_NE(text.out.find("ALARM:    split view: " + view["origin"].get<std::string>()),
            std::string::npos)
      << text.out << text.err;
  // The province's copy still holds the history it cosigned; tcd log shows the evidence and
  // fails.
  auto log = RunTcd({"log", "--data", trio.data(Tier::kProvince), "--json"});
  EXPECT_EQ(log.exit_code, 1) << log.out << log.err;
  const Json shown = Json::parse(log.out, nullptr, false);
  ASSERT_TRUE(shown.is_object()) << log.out;
  const Json copy = Find(shown["logs"], "downstream");
  ASSERT_TRUE(copy.is_object());
  EXPECT_EQ(copy["size"], 10u);
  ASSERT_EQ(shown["split_views"].size(), 1u);
  EXPECT_NE(shown["split_views"][0]["note"].get<std::string>().find("\n12\n"), std::string::npos);
  // The recorder is told, and says so.
  EXPECT_TRUE(Poll(30, [&] {
    auto r = trio.node(Tier::kRecorder).Status();
    return !r.is_null() && r.dump().find("split view") != std::string::npos;
  })) << trio.node(Tier::kRecorder).Status().dump(1);
}

// Both node logs cosigned up to central: the province's whole log, and the whole recorder log
// it relays (central's copy as long as the recorder's own log).
bool CosignedAtCentral(Trio& trio) {
  const Json size = NodeLogField(trio.node(Tier::kProvince), "size");
  const Json up = NodeLogField(trio.node(Tier::kProvince), "upstream_cosigned");
  const Json rec_size = NodeLogField(trio.node(Tier::kRecorder), "size");
  if (!size.is_number() || size == 0 || size != up || !rec_size.is_number()) return false;
  const Json logs = Logs(trio.data(Tier::kCentral));
  if (!logs.is_array() || logs.size() != 3) return false;  // its own and two copies
  for (const auto& l : logs)
    if (l.value("kind", "") == "downstream" && !CosignedToTheEnd(l)) return false;
  for (const auto& l : logs)
    if (l.value("kind", "") == "downstream" && l.value("size", Json()) == rec_size) return true;
  return false;
}

// Flips one character in the middle of signature line `line` (0-based) of a note.
std::string FlipSignature(std::string note, int line) {
  size_t at = note.find("\n\n");
  for (int i = 0; i <= line; ++i) at = note.find("\xe2\x80\x94", at + 1);
  const size_t end = note.find('\n', at);
  size_t c = (note.rfind(' ', end) + end) / 2 + 4;  // inside the signature, past the key id
  note[c] = note[c] == 'A' ? 'B' : 'A';
  return note;
}

std::string FlipHex(std::string hex) {
  hex[5] = hex[5] == '0' ? '1' : '0';
  return hex;
}

TEST(NodeLogCli, ABundleExportedAtCentralProvesCustodyThroughEveryTier) {
  TempDir dir;
  Trio trio(dir, {});
  trio.Record(1, 2, 4096);
  trio.Start(Tier::kCentral);
  trio.Start(Tier::kProvince);
  trio.Start(Tier::kRecorder);
  ASSERT_TRUE(Poll(60, [&] { return CosignedAtCentral(trio); })) << trio.Logs();
  // A second session later: the province's log then has two leaves, so every proof has hashes.
  ASSERT_EQ(trio.node(Tier::kRecorder).Stop(), 0);
  auto second = trio.Record(1, 3, 4096);
  ASSERT_EQ(second.size(), 1u);
  const std::string sid = second[0].id;
  trio.Start(Tier::kRecorder);
  ASSERT_TRUE(Poll(60, [&] {
    return trio.CompleteAt(Tier::kCentral) == 2 && NodeLogField(trio.node(Tier::kProvince), "size") == 2 &&
           CosignedAtCentral(trio);
  })) << trio.Logs();

  const std::string bag = dir / "bundle";
  auto ex = RunTcd({"export", "--data", trio.data(Tier::kCentral), "--session", sid, "--key",
                    trio.archive_key(), "--out", bag});
  ASSERT_EQ(ex.exit_code, 0) << ex.out << ex.err;
  auto v = RunTcd({"verify", "--bundle", bag, "--signer", trio.pub(Tier::kRecorder)});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  EXPECT_NE(v.out.find("node logs: proven recorder → province → central: seq 0–5"),
            std::string::npos)
      << v.out;
  EXPECT_NE(v.out.find("give --cosigner node.pub of each archive"), std::string::npos) << v.out;
  // With the archives' keys pinned the same proof holds; with a stranger's, it does not.
  auto pinned = RunTcd({"verify", "--bundle", bag, "--cosigner", trio.pub(Tier::kProvince),
                        "--cosigner", trio.pub(Tier::kCentral)});
  EXPECT_EQ(pinned.exit_code, 0) << pinned.out << pinned.err;
  EXPECT_EQ(pinned.out.find("give --cosigner"), std::string::npos) << pinned.out;
  auto stranger = RunTcd({"verify", "--bundle", bag, "--cosigner", trio.pub(Tier::kCentral)});
  EXPECT_EQ(stranger.exit_code, 1) << stranger.out;
  EXPECT_NE(stranger.out.find("the province's key tcd-archive/"), std::string::npos)
      << stranger.out;
  EXPECT_NE(stranger.out.find("is not one of the trusted cosigners (--cosigner) (log-proof)"),
            std::string::npos)
      << stranger.out;
  const std::string proof_path = bag + "/data/" + sid + "/log-proof.json";
  const Json proof = Json::parse(testing::ReadFile(proof_path), nullptr, false);
  ASSERT_TRUE(proof.is_object());
  ASSERT_FALSE(proof["recorder_inclusion"].empty());
  ASSERT_FALSE(proof["province"]["inclusion"].empty());

  // A forger edits the proof and recomputes both manifests: each change is caught and named.
  int n = 0;
  auto tampered = [&](const std::function<void(nlohmann::ordered_json&)>& edit) {
    const std::string copy = dir / ("tampered" + std::to_string(++n));
    testing::RunProgram("cp", {"-a", bag, copy});
    auto j = nlohmann::ordered_json::parse(testing::ReadFile(proof_path));
    edit(j);
    testing::WriteFile(copy + "/data/" + sid + "/log-proof.json", j.dump(2) + "\n");
    testing::RunProgram("sh", {"-c", "cd '" + copy + "' && find data -type f | sort | xargs "
                                     "sha256sum > manifest-sha256.txt && sha256sum bagit.txt "
                                     "bag-info.txt manifest-sha256.txt > tagmanifest-sha256.txt"});
    auto r = RunTcd({"verify", "--bundle", copy, "--json"});
    EXPECT_EQ(r.exit_code, 1) << r.out;
    const Json report = Json::parse(r.out, nullptr, false);
    for (const auto& p : report.value("problems", Json::array()))
      if (p.value("problem", "") == "log-proof") return p.value("detail", "");
    return std::string("no log-proof problem: ") + r.out;
  };
  auto has = [](const std::string& detail, const std::string& part) {
    return detail.find(part) != std::string::npos;
  };
  std::string d = tampered([](auto& j) {
    j["recorder_inclusion"][0] = FlipHex(j["recorder_inclusion"][0].template get<std::string>());
  });
  EXPECT_TRUE(has(d, "in the recorder's log") && has(d, "inclusion proof of leaf")) << d;
  d = tampered([](auto& j) {
    j["province"]["inclusion"][0] =
        FlipHex(j["province"]["inclusion"][0].template get<std::string>());
  });
  EXPECT_TRUE(has(d, "the recorder's checkpoint in the province's log")) << d;
  d = tampered([](auto& j) {
    std::string note = j["recorder_checkpoint"].template get<std::string>();
    const size_t at = note.find("\n1") + 1;  // the size line ("10")
    note[at + 1] = note[at + 1] == '0' ? '1' : '0';
    j["recorder_checkpoint"] = note;
  });
  EXPECT_TRUE(has(d, "the recorder's checkpoint") && has(d, "does not verify")) << d;
  d = tampered([](auto& j) {
    j["recorder_checkpoint"] = FlipSignature(j["recorder_checkpoint"].template get<std::string>(), 1);
  });
  EXPECT_TRUE(has(d, "(the province's)") && has(d, "does not verify")) << d;
  d = tampered([](auto& j) {
    j["province"]["checkpoint"] =
        FlipSignature(j["province"]["checkpoint"].template get<std::string>(), 0);
  });
  EXPECT_TRUE(has(d, "the province's checkpoint") && has(d, "does not verify")) << d;
  d = tampered([](auto& j) {
    j["province"]["checkpoint"] =
        FlipSignature(j["province"]["checkpoint"].template get<std::string>(), 1);
  });
  EXPECT_TRUE(has(d, "(the central's)") && has(d, "does not verify")) << d;
}

}  // namespace
}  // namespace tcd
