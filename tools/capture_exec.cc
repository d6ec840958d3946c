// In tcd: the capture subcommands run in tcd-capture, next to this program (tools/cli.h,
// AddCaptureCommands), so that no other subcommand loads FFmpeg.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <system_error>

#include "tools/cli.h"

namespace tcd::tools {

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
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) {
    std::cerr << "tcd: error: cannot find this program's own path (/proc/self/exe: "
              << ec.message() << "), so not tcd-capture, which runs `tcd " << argv[1] << "`\n";
    return kExitFailed;
  }
  const std::string capture = (self.parent_path() / "tcd-capture").string();
  execv(capture.c_str(), argv);  // argv[0] stays: messages and --help still say `tcd`
  std::cerr << "tcd: error: cannot start " << capture << ", which runs `tcd " << argv[1]
            << "` (it holds the FFmpeg capture): " << std::strerror(errno)
            << "; install it next to " << self.string() << " (ops/install-node does)\n";
  return kExitFailed;
}

}  // namespace tcd::tools
