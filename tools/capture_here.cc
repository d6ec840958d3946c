// In tcd-capture: the capture subcommands are here (tools/cli.h, AddCaptureCommands).
#include "tools/cli.h"

namespace tcd::tools {

std::vector<Command> AddCaptureCommands(CLI::App& root) { return {AddRecord(root), AddNode(root)}; }

std::optional<int> HandOverCapture(int, char**) { return std::nullopt; }

}  // namespace tcd::tools
