// CurveZMQ socket options and the ZAP handler (RFC 27) of replication; see curve.h.
#include "replicate/curve.h"

#include <cerrno>
#include <cstring>
#include <chrono>
#include <unordered_map>
#include <vector>

#include <spdlog/spdlog.h>
#include <zmq_addon.hpp>

namespace tcd::replicate {
namespace {

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";
constexpr const char* kZapDomain = "tcd";
constexpr std::chrono::seconds kLogEvery{60};

Status CheckCurve() {
  if (!zmq_has("curve"))
    return Status::InvalidArgument("this libzmq was built without CURVE support");
  return Status::OK();
}

Status CheckSecret(const crypto::SecretBytes& sk) {
  if (sk.size() != 32)
    return Status::InvalidArgument("transport secret key has " + std::to_string(sk.size()) +
                                   " bytes, expected 32");
  return Status::OK();
}

std::string FrameText(const std::vector<zmq::message_t>& f, size_t i) {
  return i < f.size() ? f[i].to_string() : std::string();
}

}  // namespace

Status FromZmq(const zmq::error_t& e, const std::string& what) {
  std::string msg = what + ": " + e.what();
  switch (e.num()) {
    case ETERM: return Status::Aborted(msg);
    case EAGAIN:
    case EINTR:
    case EHOSTUNREACH:
    case EADDRINUSE:
    case EADDRNOTAVAIL:
    case ECONNREFUSED:
    case ENOTCONN: return Status::Unavailable(msg);
    case EINVAL:
    case EPROTONOSUPPORT:
    case ENOCOMPATPROTO:
    case ENOTSUP:
    case EFAULT: return Status::InvalidArgument(msg);
    default: return Status::IOError(msg);
  }
}

Status SetCommonOptions(zmq::socket_t& s, int reconnect_max_ms) {
  try {
    s.set(zmq::sockopt::heartbeat_ivl, 2000);
    s.set(zmq::sockopt::heartbeat_timeout, 6000);
    s.set(zmq::sockopt::heartbeat_ttl, 6000);
    s.set(zmq::sockopt::linger, 0);
    s.set(zmq::sockopt::reconnect_ivl, 100);
    s.set(zmq::sockopt::reconnect_ivl_max, reconnect_max_ms);
    s.set(zmq::sockopt::sndhwm, 1000);
    s.set(zmq::sockopt::rcvhwm, 1000);
    // A peer cannot make libzmq allocate more than this per frame (the largest legal message
    // tcd sends is an ENTRIES batch of ~512 KiB plus one entry ≤ 1 MiB, or a 64 KiB CHUNK).
    s.set(zmq::sockopt::maxmsgsize, int64_t{4} << 20);
  } catch (const zmq::error_t& e) {
    return FromZmq(e, "set socket options");
  }
  return Status::OK();
}

Status SetCurveServer(zmq::socket_t& s, const crypto::NodeIdentity& id) {
  TCD_RETURN_IF_ERROR(CheckCurve());
  TCD_RETURN_IF_ERROR(CheckSecret(id.transport_sk));
  try {
    s.set(zmq::sockopt::curve_server, 1);
    s.set(zmq::sockopt::curve_secretkey, zmq::const_buffer(id.transport_sk.data(), 32));
    s.set(zmq::sockopt::zap_domain, kZapDomain);
  } catch (const zmq::error_t& e) {
    return FromZmq(e, "set CURVE server options");
  }
  return Status::OK();
}

Status SetCurveClient(zmq::socket_t& s, const crypto::NodeIdentity& id,
                      const crypto::PublicKey& server_pk) {
  TCD_RETURN_IF_ERROR(CheckCurve());
  TCD_RETURN_IF_ERROR(CheckSecret(id.transport_sk));
  try {
    s.set(zmq::sockopt::curve_serverkey, zmq::const_buffer(server_pk.data(), 32));
    s.set(zmq::sockopt::curve_publickey, zmq::const_buffer(id.pub.transport_pk.data(), 32));
    s.set(zmq::sockopt::curve_secretkey, zmq::const_buffer(id.transport_sk.data(), 32));
  } catch (const zmq::error_t& e) {
    return FromZmq(e, "set CURVE client options");
  }
  return Status::OK();
}

Result<std::unique_ptr<ZapHandler>> ZapHandler::Start(zmq::context_t* ctx, AllowList* allow) {
  std::unique_ptr<ZapHandler> h(new ZapHandler());
  h->ctx_ = ctx;
  h->allow_ = allow;
  try {
    h->rep_ = std::make_unique<zmq::socket_t>(*ctx, zmq::socket_type::rep);
    h->rep_->set(zmq::sockopt::linger, 0);
    h->rep_->bind(kZapEndpoint);
  } catch (const zmq::error_t& e) {
    return FromZmq(e, std::string("ZAP handler: bind ") + kZapEndpoint);
  }
  // Thread creation is the memory barrier that lets the thread take over rep_.
  h->thread_ = std::thread([p = h.get()] { p->Run(); });
  return h;
}

ZapHandler::~ZapHandler() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  // Closing is asynchronous (the reaper thread frees the endpoint later); an explicit unbind
  // frees it now, so a new handler can Start at once in the same context.
  try {
    if (rep_) rep_->unbind(kZapEndpoint);
  } catch (const zmq::error_t&) {  // ETERM: the context is going away anyway
  }
  rep_.reset();
}

// One request per loop (RFC 27): version, request id, domain, address, identity, mechanism,
// credentials…; reply: version, request id, status code, status text, user id, metadata.
void ZapHandler::Run() {
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> last_logged;
  auto should_log = [&](const std::string& what) {
    auto now = std::chrono::steady_clock::now();
    if (last_logged.size() > 10000) {  // a scan of random keys must not grow this forever
      std::erase_if(last_logged, [&](const auto& kv) { return now - kv.second >= kLogEvery; });
    }
    auto [it, fresh] = last_logged.try_emplace(what, now);
    if (!fresh && now - it->second < kLogEvery) return false;
    it->second = now;
    return true;
  };

  while (!stop_) {
    try {
      zmq::pollitem_t item = {rep_->handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::milliseconds(100));
      if (!(item.revents & ZMQ_POLLIN)) continue;
      std::vector<zmq::message_t> req;
      if (!zmq::recv_multipart(*rep_, std::back_inserter(req))) continue;

      std::string code = "400", text, user_id;
      const std::string mechanism = FrameText(req, 5), address = FrameText(req, 3);
      if (req.size() < 6 || FrameText(req, 0) != "1.0") {
        code = "500";
        text = "malformed ZAP request";
      } else if (mechanism != "CURVE" || req.size() < 7 || req[6].size() != 32) {
        text = "mechanism " + mechanism + " refused: CURVE is required";
        if (should_log("mechanism " + mechanism))
          spdlog::warn("replication: refused connection from {}: {}", address, text);
      } else {
        crypto::PublicKey key;
        std::memcpy(key.data(), req[6].data(), key.size());
        std::string hex = ToHex(key);
        if (allow_->Find(key)) {
          code = "200";
          text = "OK";
          user_id = hex;
        } else {
          text = allow_->WhyRefused(key);
          if (should_log(hex))
            spdlog::warn("replication: refused connection from {}: {}", address, text);
        }
      }
      if (code == "200") ++accepted_; else ++refused_;

      std::vector<zmq::message_t> reply;
      reply.emplace_back(std::string("1.0"));
      reply.emplace_back(FrameText(req, 1));
      reply.emplace_back(code);
      reply.emplace_back(text);
      reply.emplace_back(user_id);
      reply.emplace_back();  // metadata: none
      zmq::send_multipart(*rep_, reply);
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) break;  // the context is shutting down
      if (e.num() == EINTR) continue;
      spdlog::error("ZAP handler: {}", e.what());
    } catch (const std::exception& e) {
      spdlog::error("ZAP handler: {}", e.what());
    }
  }
}

Result<crypto::PublicKey> PeerKeyFromUserId(const std::string& user_id) {
  auto b = FromHex(user_id);
  if (user_id.size() != 64 || !b)
    return Status::Corruption("ZAP User-Id '" + user_id + "' is not a 64-char hex transport key");
  crypto::PublicKey key;
  std::copy(b->begin(), b->end(), key.begin());
  return key;
}

}  // namespace tcd::replicate
