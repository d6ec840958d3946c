// tcd: the one program of tcd-archive. Exit codes: 0 success, 1 failure or verification
// problem, 2 usage error.
#include <iostream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "tools/cli.h"

int main(int argc, char** argv) {
  using namespace tcd::tools;
  auto logger = spdlog::stderr_color_mt("tcd");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(logger);
  if (const char* level = std::getenv("TCD_LOG")) spdlog::set_level(spdlog::level::from_str(level));

  CLI::App app{"tcd: record, archive, export and verify citizen reception sessions"};
  app.require_subcommand(1);
  std::vector<Command> commands = {AddKeygen(app), AddRecord(app), AddSessions(app),
                                   AddExport(app), AddVerify(app), AddSession(app), AddNode(app),
                                   AddStatus(app), AddEnroll(app),   AddSearch(app), AddReindex(app),
                                   AddAudit(app),   AddLog(app)};
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  for (const auto& c : commands) {
    if (!c.app->parsed()) continue;
    try {
      return c.run();
    } catch (const std::exception& e) {  // a bug, not an expected outcome: say so, exit 1
      std::cerr << "tcd: internal error: " << e.what() << "\n";
      return kExitFailed;
    }
  }
  return kExitUsage;
}
