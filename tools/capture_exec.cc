// In tcd: the capture subcommands run in tcd-capture, next to this program (tools/cli.h,
// AddCaptureCommands), so that no other subcommand loads FFmpeg.
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <system_error>

#include "tools/cli.h"

namespace tcd::tools {

constexpr const char* kBuildId = TCD_BUILD_ID;  // the same in tcd and tcd-capture of one build

std::vector<Command> AddCaptureCommands(CLI::App& root) {
  // Listed by `tcd --help`; never parsed here: HandOverCapture runs first.
  auto listed = [&](const char* name, const char* summary) {
    return Command{root.add_subcommand(name, summary)->allow_extras(), [] { return kExitUsage; }};
  };
  return {listed("record", kRecordSummary), listed("node", kNodeSummary)};
}

std::optional<int> HandOverCapture(int argc, char** argv) {
  if (argc < 2 || (std::strcmp(argv[1], "record") != 0 && std::strcmp(argv[1], "node") != 0))
    return std::nullopt;
  const std::string command = std::string("`tcd ") + argv[1] + "`";
  auto fail = [&](const std::string& what) {
    std::cerr << "tcd: error: " << what << " (tcd-capture runs " << command
              << "; install it from the same build next to tcd: ops/install-node does)\n";
    return kExitCaptureUnavailable;
  };
  if (std::getenv(kHandOverVariable) != nullptr)  // a tcd started by tcd, not by tcd-capture
    return fail("the tcd-capture next to this program is a tcd, not tcd-capture");
  // Its directory: /proc/self/exe, else argv[0] when it has one; else tcd-capture on PATH.
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::read_symlink("/proc/self/exe", ec).parent_path();
  if (ec && std::strchr(argv[0], '/') != nullptr) dir = std::filesystem::path(argv[0]).parent_path();
  const std::string capture = dir.empty() ? "tcd-capture" : (dir / "tcd-capture").string();
  setenv(kHandOverVariable, kBuildId, 1);
  execvp(capture.c_str(), argv);  // argv[0] stays: messages and --help still say `tcd`
  return fail("cannot start " + capture + ": " + std::strerror(errno));
}

}  // namespace tcd::tools
