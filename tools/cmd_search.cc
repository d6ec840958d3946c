// placeholder until search lands
#include "tools/cli.h"
namespace tcd::tools {
Command AddSearch(CLI::App& root) {
  CLI::App* app = root.add_subcommand("search", "Search sessions");
  return {app, [] { return kExitFailed; }};
}
Command AddReindex(CLI::App& root) {
  CLI::App* app = root.add_subcommand("reindex", "Rebuild the search index");
  return {app, [] { return kExitFailed; }};
}
}  // namespace tcd::tools
