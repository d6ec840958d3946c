#include "tools/bench/swarm_province.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/env.h"
#include "base/time_format.h"
#include "replicate/enrollment.h"

namespace tcd::bench {
namespace {

std::string Q(const std::string& s) { return "'" + s + "'"; }  // our paths have no quotes

// A loopback port nobody listens on at the moment.
Result<int> FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return Status::IOError("socket: cannot pick a free port");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  ::close(fd);
  if (!ok) return Status::IOError("bind 127.0.0.1:0: cannot pick a free port");
  return static_cast<int>(ntohs(a.sin_port));
}

Status Write(const std::string& path, const std::string& text, uint32_t mode = 0644) {
  Status s = Env::Default()->WriteFileDurably(path, AsBytes(text), mode);
  return s.ok() ? s : Status::IOError("writing " + path + ": " + s.ToString());
}

// DATA/enrolled.json as `tcd enroll` writes it, in one go (1,000 `tcd enroll` runs would each
// rewrite and fsync the whole file).
std::string EnrollmentJson(const SwarmFleet& fleet, size_t n) {
  nlohmann::ordered_json nodes = nlohmann::ordered_json::array();
  const int64_t now = Env::Default()->NowMicros();
  for (size_t i = 0; i < n; ++i) {
    const auto& pub = fleet.recorders[i].identity.pub;
    nodes.push_back({{"point", fleet.recorders[i].point},
                     {"sign_pk", ToHex(pub.sign_pk)},
                     {"transport_pk", ToHex(pub.transport_pk)},
                     {"key_id", crypto::KeyId(pub.sign_pk)},
                     {"enrolled", FormatUtc(now)},
                     {"enrolled_us", now},
                     {"revoked_us", 0}});
  }
  nlohmann::ordered_json doc = {{"format", "tcd-enrolled"}, {"version", 1}, {"nodes", nodes}};
  return doc.dump(2) + "\n";
}

}  // namespace

int RunCapture(const std::string& command, std::string* out) {
  FILE* f = ::popen(command.c_str(), "r");
  if (!f) return -1;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out->append(buf, n);
  const int st = ::pclose(f);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Mem ReadMem(pid_t pid) {
  Mem m;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) m.rss_kb = std::stoull(line.substr(6));
    if (line.rfind("VmHWM:", 0) == 0) m.hwm_kb = std::stoull(line.substr(6));
  }
  return m;
}

Result<std::unique_ptr<Province>> Province::Prepare(const SwarmFleet& fleet,
                                                    const ProvinceOptions& o) {
  std::unique_ptr<Province> p(new Province());
  p->tcd_ = o.tcd;
  p->dir_ = o.dir;
  p->nofile_ = o.nofile;
  Env* env = Env::Default();
  TCD_RETURN_IF_ERROR(env->CreateDirs(p->data()));
  const crypto::NodeIdentity id = crypto::GenerateNodeIdentity();
  p->transport_pk_ = id.pub.transport_pk;
  TCD_RETURN_IF_ERROR(Write(o.dir + "/node.key", crypto::EncodeNodeKey(id), 0600));
  TCD_RETURN_IF_ERROR(Write(o.dir + "/central.pub",
                            crypto::EncodeNodePub(crypto::GenerateNodeIdentity().pub)));
  TCD_RETURN_IF_ERROR(Write(replicate::EnrollmentPath(p->data()), EnrollmentJson(fleet, o.recorders)));
  // Read back with the node's own reader: a mistake here would show as refused handshakes.
  auto enrolled = replicate::LoadEnrollment(env, p->data());
  if (!enrolled.ok()) return Status::Corruption("enrollment file: " + enrolled.status().ToString());
  if (enrolled->size() != o.recorders)
    return Status::Corruption("enrollment file has " + std::to_string(enrolled->size()) +
                              " nodes, expected " + std::to_string(o.recorders));
  TCD_ASSIGN_OR_RETURN(int port, FreePort());
  TCD_ASSIGN_OR_RETURN(int dead_port, FreePort());
  p->address_ = "tcp://127.0.0.1:" + std::to_string(port);
  TCD_RETURN_IF_ERROR(Write(
      o.dir + "/province.toml",
      "role = \"province\"\ndata_dir = \"" + p->data() + "\"\nnode_key = \"" + o.dir +
          "/node.key\"\npoint = \"tinh-bench\"\ncontrol_socket = \"" + o.dir +
          "/prov.sock\"\nlog_level = \"info\"\nlisten = \"" + p->address_ +
          "\"\n[upstream]\naddress = \"tcp://127.0.0.1:" + std::to_string(dead_port) +
          "\"\npublic_key = \"" + o.dir + "/central.pub\"\nmax_mbit = 0\n"));
  return p;
}

Province::~Province() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

std::string Province::LogTail(size_t bytes) const {
  std::ifstream in(dir_ + "/node.log");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > bytes ? "…" + s.substr(s.size() - bytes) : s;
}

Status Province::Start() {
  const std::string config = dir_ + "/province.toml", log = dir_ + "/node.log";
  pid_ = ::fork();
  if (pid_ < 0) return Status::IOError("fork for tcd node failed");
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlives the driver (Ctrl-C, crash)
    if (nofile_ > 0) {
      rlimit rl{};
      ::getrlimit(RLIMIT_NOFILE, &rl);
      rl.rlim_cur = static_cast<rlim_t>(nofile_);
      ::setrlimit(RLIMIT_NOFILE, &rl);
    }
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execl(tcd_.c_str(), "tcd", "node", "--config", config.c_str(), (char*)nullptr);
    std::perror(("exec " + tcd_).c_str());
    ::_exit(127);
  }
  for (int i = 0; i < 150; ++i) {
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      return Status::IOError("tcd node exited at start (status " + std::to_string(st) +
                             "); its log:\n" + LogTail());
    }
    std::string out;
    if (RunCapture(Q(tcd_) + " status --config " + Q(config) + " --json 2>/dev/null", &out) == 0)
      return Status::OK();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return Status::IOError("tcd node did not answer `tcd status` within 30 s; its log:\n" +
                         LogTail());
}

Status Province::Stop() {
  if (pid_ <= 0) return Status::OK();
  ::kill(pid_, SIGTERM);
  int st = 0;
  for (int i = 0; i < 300; ++i) {
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return Status::OK();
      return Status::IOError("tcd node did not exit cleanly (status " + std::to_string(st) +
                             "); its log:\n" + LogTail());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
  return Status::IOError("tcd node did not stop within 30 s of SIGTERM (killed)");
}

Status Province::CheckSessions(const std::vector<std::string>& expected_ids) const {
  std::string out;
  const int rc = RunCapture(Q(tcd_) + " sessions --data " + Q(data()) + " --json", &out);
  if (rc != 0) return Status::IOError("tcd sessions exited " + std::to_string(rc) + ": " + out);
  auto list = nlohmann::json::parse(out, nullptr, false);
  if (!list.is_array()) return Status::Corruption("tcd sessions --json: not a JSON array");
  std::map<std::string, std::string> state;
  for (const auto& s : list)
    state[s.value("id", "")] = s.value("state", "") +
                               (s.value("media_complete", false) ? "" : ", media incomplete");
  size_t bad = 0;
  std::string first;
  for (const auto& id : expected_ids) {
    auto it = state.find(id);
    const std::string st = it == state.end() ? "missing" : it->second;
    if (st == "sealed") continue;
    if (bad++ < 5) first += "\n  " + id + ": " + st;
  }
  if (bad > 0)
    return Status::Corruption(std::to_string(bad) + " of " + std::to_string(expected_ids.size()) +
                              " sessions are not complete at the province:" + first);
  return Status::OK();
}

Status Province::Verify() const {
  std::string out;
  const int rc = RunCapture(Q(tcd_) + " verify --data " + Q(data()) + " 2>&1", &out);
  if (rc != 0)
    return Status::Corruption("tcd verify --data " + data() + " exited " + std::to_string(rc) +
                              ": " + out.substr(0, 2000));
  return Status::OK();
}

}  // namespace tcd::bench
