// In tcd-capture: the capture subcommands are here (tools/cli.h, AddCaptureCommands).
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "tools/cli.h"

namespace tcd::tools {

constexpr const char* kBuildId = TCD_BUILD_ID;  // the same in tcd and tcd-capture of one build

std::vector<Command> AddCaptureCommands(CLI::App& root) { return {AddRecord(root), AddNode(root)}; }

std::optional<int> HandOverCapture(int, char**) {
  const char* from = std::getenv(kHandOverVariable);
  if (from == nullptr) return std::nullopt;  // started directly
  const bool same = std::strcmp(from, kBuildId) == 0;
  unsetenv(kHandOverVariable);  // not inherited by what this process starts
  if (same) return std::nullopt;
  std::cerr << "tcd: error: tcd-capture is from another build than the tcd that started it (build "
            << kBuildId << ", tcd's " << from
            << "): install both from the same build (ops/install-node does)\n";
  return kExitCaptureUnavailable;
}

}  // namespace tcd::tools
