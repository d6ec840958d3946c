// Shared pieces of the `tcd` subcommands: exit codes, key and passphrase files, metadata
// parsing, time formatting. Every user-facing error names the file, option or field at fault.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "base/env.h"
#include "base/status.h"
#include "base/time_format.h"
#include "crypto/chain.h"
#include "crypto/keys.h"

namespace tcd::tools {

// Process exit codes of every subcommand.
constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;  // the operation failed, or verification found a problem
constexpr int kExitUsage = 2;   // bad options or arguments

// For commands that stream gigabytes through buffers of a few megabytes (export, verify):
// freed buffers stay in the heap instead of going back to the kernel, so that the next one
// does not page-fault its way in again (a third of an export's time went to that and to
// zeroing fresh pages). Call once, before any buffer is allocated.
void KeepLargeBuffers();

// A subcommand: its CLI11 node and what to run when it was chosen.
struct Command {
  CLI::App* app;
  std::function<int()> run;
};
Command AddKeygen(CLI::App& root);
Command AddRecord(CLI::App& root);
Command AddSessions(CLI::App& root);
Command AddExport(CLI::App& root);
Command AddVerify(CLI::App& root);
Command AddNode(CLI::App& root);
Command AddSession(CLI::App& root);  // session start|stop|annotate, over the control socket
Command AddStatus(CLI::App& root);
Command AddEnroll(CLI::App& root);
Command AddSearch(CLI::App& root);   // tools/cmd_search.cc
Command AddReindex(CLI::App& root);  // tools/cmd_search.cc
Command AddAudit(CLI::App& root);    // tools/cmd_audit.cc
Command AddLog(CLI::App& root);      // tools/cmd_log.cc

// `tcd record` and `tcd node` capture video, with FFmpeg, whose libraries (and theirs: about
// 220 in all) take ~50 ms to load. So they live in a second program, `tcd-capture`, installed
// next to `tcd`, and every other subcommand starts without FFmpeg. `tcd` hands them over
// (tools/capture_exec.cc: execvp, so the process id, arguments and environment stay);
// `tcd-capture` runs them (tools/capture_here.cc) and every other subcommand too.
constexpr const char* kRecordSummary = "Record one reception session (foreground)";
constexpr const char* kNodeSummary =
    "Run a node (recorder, province or central) from a configuration file";
// `record` and `node`: in tcd-capture AddRecord and AddNode; in tcd, entries for --help.
std::vector<Command> AddCaptureCommands(CLI::App& root);
// In tcd, when argv[1] is `record` or `node`: replaces this process with tcd-capture (found
// next to tcd, else on PATH), telling it this build's id in kHandOverVariable. In tcd-capture:
// refuses a tcd of another build. Returns only on failure, with kExitCaptureUnavailable after
// saying why (no tcd-capture, another build's, or a tcd in its place); otherwise nullopt.
std::optional<int> HandOverCapture(int argc, char** argv);
constexpr int kExitCaptureUnavailable = 69;  // EX_UNAVAILABLE: systemd does not restart on it
constexpr const char* kHandOverVariable = "TCD_HANDED_OVER_BY";  // its value: the build id
// `tcd verify --audit --data DIR [--json]` (tools/cmd_audit.cc): exit 0 intact, 1 a problem.
int RunVerifyAudit(const std::string& data_dir, bool json);
// `tcd verify --completeness --data DIR [--json]` (tools/cmd_completeness.cc): exit 0 when
// every entry logged by the downstream nodes is here, 1 when one is missing.
int RunVerifyCompleteness(const std::string& data_dir, bool json);

// How a command reaches the running node (tools/control_client.cc): --socket PATH, else the
// control_socket of --config FILE, else kDefaultControlSocket.
constexpr const char* kDefaultControlSocket = "/run/tcd/control.sock";
struct NodeAddress {
  std::string socket;
  std::string config;
};
// Adds --socket and --config (mutually exclusive) to `app`. *a must outlive the parse.
void AddNodeAddressOptions(CLI::App* app, NodeAddress* a);
// The socket path; the --config file's errors (NotFound, InvalidArgument naming the key).
Result<std::string> ResolveControlSocket(const NodeAddress& a);
// Sends one request to the node. Unavailable "no node is running (cannot connect to PATH)"
// when none listens; a response with "ok": false becomes Aborted carrying the node's "error".
Result<nlohmann::json> CallNode(const NodeAddress& a, const nlohmann::json& request);

// Prints "tcd: error: <status message>" to stderr and returns the exit code for it
// (kExitUsage for InvalidArgument raised from options, else kExitFailed).
int ReportError(const Status& s, int code = kExitFailed);

Result<std::string> ReadTextFile(const std::string& path, const std::string& what);
// The passphrase is the file's first line (without its newline); empty is refused.
Result<std::optional<std::string>> ReadPassphrase(const std::string& path);
Result<crypto::NodeIdentity> LoadNodeKey(const std::string& path);
Result<crypto::ArchivePublic> LoadArchivePub(const std::string& path);
Result<crypto::ArchiveKeyPair> LoadArchiveKey(const std::string& path,
                                             const std::string& passphrase_file);

// Parses KEY=VALUE pairs into session metadata and validates them: known keys (point, chair,
// case, type, participant, note, conference, province) and custom keys [a-z][a-z0-9_.-]*; only
// participant repeats; type is complaint|denunciation|petition|feedback; values are UTF-8.
Result<crypto::Metadata> ParseMetadata(const std::vector<std::string>& pairs);


// True when another process holds the catalog's RocksDB lock (a recorder is writing).
bool CatalogInUse(const std::string& data_dir);

}  // namespace tcd::tools
