#include "tests/test_util.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/filesystem.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace tcd::testing {
namespace fs = boost::filesystem;

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "tcd-test-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  boost::system::error_code ec;
  fs::remove_all(path_, ec);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

static int Spawn(const std::string& program, const std::vector<std::string>& args,
                 const std::string& out_path, const std::string& err_path) {
  pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(program.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    if (!freopen(out_path.c_str(), "w", stdout) || !freopen(err_path.c_str(), "w", stderr))
      _exit(127);
    if (!freopen("/dev/null", "r", stdin)) _exit(127);
    execvp(program.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

static int ExitCode(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int WaitExit(int pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return ExitCode(status);
}

Process::Process(const std::string& program, const std::vector<std::string>& args) {
  pid_ = Spawn(program, args, io_ / "out", io_ / "err");
}

Process::~Process() {
  if (pid_ > 0 && !status_) {
    kill(pid_, SIGKILL);
    WaitExit(pid_);
  }
}

void Process::Signal(int sig) {
  if (pid_ > 0 && !status_) kill(pid_, sig);
}

bool Process::Running() {
  if (pid_ <= 0) return false;
  if (status_) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = status;
    return false;
  }
  return r == 0;
}

RunResult Process::Wait() {
  RunResult r;
  r.exit_code = status_ ? ExitCode(*status_) : WaitExit(pid_);
  pid_ = -1;
  status_.reset();
  r.out = ReadFile(io_ / "out");
  r.err = ReadFile(io_ / "err");
  return r;
}

std::optional<RunResult> Process::WaitFor(double seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (Running()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    usleep(20000);
  }
  if (pid_ <= 0) return std::nullopt;
  return Wait();
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

RunResult RunProgram(const std::string& program, const std::vector<std::string>& args) {
  Process p(program, args);
  return p.Wait();
}

RunResult RunTcd(const std::vector<std::string>& args) { return RunProgram(TCD_BINARY, args); }

nlohmann::json Probe(const std::string& path) {
  RunResult r = RunProgram("ffprobe", {"-v", "error", "-show_format", "-show_streams", "-of",
                                       "json", path});
  if (r.exit_code != 0) return nullptr;
  return nlohmann::json::parse(r.out, nullptr, false);
}

std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (fs::recursive_directory_iterator it(dir), end; it != end; ++it)
    if (fs::is_regular_file(it->path()))
      out[fs::relative(it->path(), dir).string()] = ReadFile(it->path().string());
  return out;
}

static Fixture MakeFixture(int seconds) {
  setenv("TCD_PWHASH_INTERACTIVE", "1", 0);  // Argon2id at interactive cost: faster tests
  static TempDir root_dir;  // lives (and is removed) with the test binary
  TempDir* root = &root_dir;
  Fixture f;
  f.keys = *root / "keys";
  f.data = *root / "data";
  WriteFile(*root / "passphrase", "correct horse\n");
  auto check = [](const RunResult& r, const char* what) {
    if (r.exit_code != 0) throw std::runtime_error(std::string(what) + " failed: " + r.err);
  };
  check(RunTcd({"keygen", "--kind", "node", "--out", f.keys + "/node"}), "keygen node");
  check(RunTcd({"keygen", "--kind", "archive", "--out", f.keys + "/archive", "--passphrase-file",
                *root / "passphrase"}),
        "keygen archive");
  fs::copy_file(*root / "passphrase", f.keys + "/passphrase");
  RunResult rec = RunTcd({"record", "--data", f.data, "--node-key", f.keys + "/node/node.key",
                          "--recipient", f.keys + "/archive/archive.pub", "--format", "lavfi",
                          "--source", "testsrc2=size=320x240:rate=25", "--audio-format", "lavfi",
                          "--audio-source", "sine=frequency=440:sample_rate=48000", "--duration",
                          std::to_string(seconds), "--segment-seconds", "1", "--point", "xa-a",
                          "--meta", "chair=Trần Thị Bình", "--meta", "type=complaint"});
  check(rec, "record");
  std::string out = rec.out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  f.session = out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
  return f;
}

const Fixture& SharedFixture(int seconds) {
  static const Fixture f = MakeFixture(seconds);
  return f;
}

}  // namespace tcd::testing
