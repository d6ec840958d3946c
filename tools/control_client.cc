// The CLI's side of the node's control socket: finding it and calling it.
#include "node/config.h"
#include "node/control.h"
#include "tools/cli.h"

namespace tcd::tools {

void AddNodeAddressOptions(CLI::App* app, NodeAddress* a) {
  auto* socket =
      app->add_option("--socket", a->socket,
                      std::string("Node control socket (default ") + kDefaultControlSocket + ")");
  auto* config =
      app->add_option("--config", a->config, "Node config file (its control_socket is used)");
  socket->excludes(config);
}

Result<std::string> ResolveControlSocket(const NodeAddress& a) {
  if (!a.socket.empty()) return a.socket;
  if (a.config.empty()) return std::string(kDefaultControlSocket);
  TCD_ASSIGN_OR_RETURN(node::NodeConfig config, node::LoadConfig(a.config));
  if (!config.control_socket.empty()) return config.control_socket;
  return config.data_dir + "/control.sock";
}

Result<nlohmann::json> CallNode(const NodeAddress& a, const nlohmann::json& request) {
  TCD_ASSIGN_OR_RETURN(std::string path, ResolveControlSocket(a));
  TCD_ASSIGN_OR_RETURN(nlohmann::json response, node::ControlCall(path, request));
  if (response["ok"].get<bool>()) return response;
  const auto& error = response["error"];
  return Status::Aborted(error.is_string() ? error.get<std::string>()
                                           : "the node refused the request (no reason given)");
}

}  // namespace tcd::tools
