// The node's local control interface: a Unix-domain stream socket (mode 0600 in a directory
// the node creates with mode 0700), owner-only. Protocol: the client connects, sends one JSON
// object on one line, the server answers one JSON object on one line and closes. Every
// response has "ok": true|false; a false one has "error": "<message for a person>".
// Requests (docs/FORMAT.md §Control interface):
//   {"cmd":"status"}
//   {"cmd":"session.start", "source":NAME?, "meta":[[k,v],…]?}   → {"ok":true,"session":ID}
//   {"cmd":"session.stop", "session":ID?, "source":NAME?}          → {"ok":true,"sealed":[ID…]}
//   {"cmd":"session.annotate", "session":ID, "meta":[[k,v],…]}    → {"ok":true,"seq":N}
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "base/status.h"

namespace tcd::node {

// Called with a request that is a JSON object with a string "cmd" (anything else is answered
// {"ok":false,"error":"malformed request: …"} without calling it). Returns the response
// object. An exception it throws is answered {"ok":false,"error":"internal error: …"} and the
// server keeps serving.
using ControlHandler = std::function<nlohmann::json(const nlohmann::json& request)>;

struct ControlServerOptions {
  // A connection that has not sent a complete line within this time is closed unanswered.
  // Connections are served concurrently, so a stuck client never delays another one.
  double read_timeout_seconds = 5.0;
  // A longer request line is answered "malformed request: … larger than …" and closed.
  size_t max_request_bytes = 1 << 20;
};

// Serves requests on its own thread until destroyed. Thread-safety: `handler` is called from
// the server thread, one request at a time.
class ControlServer {
 public:
  // Removes a stale socket file at `path` (only if no server answers there), binds, chmods.
  // Fails with IOError naming the path when another node is already serving it, or when
  // `path` exists and is not a socket (never removed); InvalidArgument when `path` is longer
  // than a socket address holds. A missing parent directory is created with mode 0700; an
  // existing one is left as it is.
  static Result<std::unique_ptr<ControlServer>> Start(const std::string& path,
                                                      ControlHandler handler,
                                                      const ControlServerOptions& options = {});
  // Stops the thread (a request being handled finishes first) and removes the socket file
  // if it is still the one this server bound.
  virtual ~ControlServer() = default;
};

// Sends one request and returns the response. Unavailable "no node is running (cannot connect
// to PATH)" when nothing listens; IOError on a timeout or a malformed response.
Result<nlohmann::json> ControlCall(const std::string& path, const nlohmann::json& request,
                                   double timeout_seconds = 15.0);

}  // namespace tcd::node
