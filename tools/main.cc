// tcd: the program of tcd-archive (and tcd-capture, the same with the capture subcommands:
// tools/cli.h, AddCaptureCommands). Exit codes: 0 success, 1 failure or verification problem,
// 2 usage error.
#include <iostream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "tools/cli.h"

int main(int argc, char** argv) {
  using namespace tcd::tools;
  if (std::optional<int> failed = HandOverCapture(argc, argv)) return *failed;
  auto logger = spdlog::stderr_color_mt("tcd");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(logger);
  if (const char* level = std::getenv("TCD_LOG")) spdlog::set_level(spdlog::level::from_str(level));

  CLI::App app{"tcd: record, archive, export and verify citizen reception sessions"};
  app.require_subcommand(1);
  std::vector<Command> commands = {AddKeygen(app)};
  for (Command& c : AddCaptureCommands(app)) commands.push_back(std::move(c));  // record, node
  for (auto add : {AddSessions, AddExport, AddVerify, AddSession, AddStatus, AddEnroll, AddSearch,
                   AddReindex, AddAudit, AddLog})
    commands.push_back(add(app));
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
