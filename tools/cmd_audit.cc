// placeholder until the audit log lands
#include "tools/cli.h"
namespace tcd::tools {
Command AddAudit(CLI::App& root) {
  CLI::App* app = root.add_subcommand("audit", "Show the audit log");
  return {app, [] { return kExitFailed; }};
}
int RunVerifyAudit(const std::string&, bool) { return kExitFailed; }
}  // namespace tcd::tools
