#include "base/fault_env.h"

#include <algorithm>
#include <utility>

namespace tcd {
namespace {

// Collapses "//" and "/./" and drops a trailing "/" so that "a/b/" and "a//b" name one dir.
std::string Normalize(const std::string& path) {
  std::string out;
  out.reserve(path.size());
  for (size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    if (c == '.' && !out.empty() && out.back() == '/' &&
        (i + 1 == path.size() || path[i + 1] == '/')) {
      continue;  // "/." component
    }
    out.push_back(c);
  }
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

std::string Parent(const std::string& normalized) {
  size_t slash = normalized.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return normalized.substr(0, slash);
}

Status First(const Status& acc, Status s) { return acc.ok() ? std::move(s) : acc; }

}  // namespace

// A handle that counts its Append/Sync/Close as steps and records the synced length.
class FaultInjectionEnv::File final : public WritableFile {
 public:
  File(FaultInjectionEnv* env, std::string path, std::shared_ptr<FileState> state,
       std::unique_ptr<WritableFile> base)
      : env_(env), path_(std::move(path)), state_(std::move(state)), base_(std::move(base)) {}

  Status Append(ByteView data) override {
    std::lock_guard<std::mutex> l(env_->mu_);
    TCD_RETURN_IF_ERROR(CheckLocked("append"));
    Status s = base_->Append(data);
    if (s.ok()) state_->size += data.size();
    return s;
  }
  Status Sync() override {
    std::lock_guard<std::mutex> l(env_->mu_);
    TCD_RETURN_IF_ERROR(CheckLocked("sync"));
    Status s = base_->Sync();
    if (s.ok()) state_->synced_size = state_->size;
    return s;
  }
  Status Close() override {
    std::lock_guard<std::mutex> l(env_->mu_);
    TCD_RETURN_IF_ERROR(CheckLocked("close"));
    return base_->Close();
  }

 private:
  Status CheckLocked(const char* op) {
    if (state_->dead) return Status::Aborted(std::string(op) + " " + path_ + ": file handle "
                                             "opened before a simulated power loss");
    return env_->StepLocked(op, path_);
  }

  FaultInjectionEnv* const env_;
  const std::string path_;  // name at creation (for messages)
  const std::shared_ptr<FileState> state_;  // GUARDED_BY(env_->mu_)
  const std::unique_ptr<WritableFile> base_;
};

FaultInjectionEnv::FaultInjectionEnv(Env* base) : base_(base) {}
FaultInjectionEnv::~FaultInjectionEnv() = default;

void FaultInjectionEnv::CrashAtStep(int n) {
  std::lock_guard<std::mutex> l(mu_);
  crash_step_ = steps_ + n;
}

int FaultInjectionEnv::steps() const {
  std::lock_guard<std::mutex> l(mu_);
  return steps_;
}

bool FaultInjectionEnv::crashed() const {
  std::lock_guard<std::mutex> l(mu_);
  return crashed_;
}

void FaultInjectionEnv::ResetCrash() {
  std::lock_guard<std::mutex> l(mu_);
  crashed_ = false;
  crash_step_ = 0;
}

Status FaultInjectionEnv::StepLocked(const char* op, const std::string& what) {
  ++steps_;
  if (crashed_) {
    return Status::Aborted("env crashed before step " + std::to_string(steps_) + ": " + op +
                           " " + what);
  }
  if (steps_ == crash_step_) {
    crashed_ = true;
    return Status::Aborted("injected crash at step " + std::to_string(steps_) + ": " + op +
                           " " + what);
  }
  return Status::OK();
}

std::optional<Bytes> FaultInjectionEnv::DurableBytesLocked(const std::string& path,
                                                           uint32_t* mode) {
  *mode = 0644;
  if (!base_->FileExists(path)) return std::nullopt;
  auto bytes = base_->ReadFile(path);
  if (!bytes.ok()) return std::nullopt;  // cannot capture: the undo will not restore it
  auto it = files_.find(path);
  if (it != files_.end()) {
    *mode = it->second->mode;
    if (bytes->size() > it->second->synced_size) bytes->resize(it->second->synced_size);
  }
  return std::move(bytes).value();
}

Status FaultInjectionEnv::WriteRawLocked(const std::string& path, ByteView data,
                                         uint32_t mode) {
  auto f = base_->NewWritableFile(path, mode);
  if (!f.ok()) return f.status();
  TCD_RETURN_IF_ERROR((*f)->Append(data));
  TCD_RETURN_IF_ERROR((*f)->Sync());
  return (*f)->Close();
}

Result<std::unique_ptr<WritableFile>> FaultInjectionEnv::NewWritableFile(
    const std::string& path, uint32_t mode) {
  std::lock_guard<std::mutex> l(mu_);
  TCD_RETURN_IF_ERROR(StepLocked("create", path));
  const std::string p = Normalize(path);
  const bool existed = base_->FileExists(p);
  auto base_file = base_->NewWritableFile(path, mode);
  if (!base_file.ok()) return base_file.status();
  auto state = std::make_shared<FileState>();
  state->mode = mode;
  files_[p] = state;
  if (!existed) pending_.push_back(PendingOp{PendingOp::kCreate, p, "", std::nullopt, mode});
  return std::unique_ptr<WritableFile>(
      new File(this, path, std::move(state), std::move(base_file).value()));
}

Status FaultInjectionEnv::RenameFile(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> l(mu_);
  TCD_RETURN_IF_ERROR(StepLocked("rename", from + " -> " + to));
  const std::string f = Normalize(from), t = Normalize(to);
  uint32_t old_mode;
  std::optional<Bytes> old = DurableBytesLocked(t, &old_mode);
  TCD_RETURN_IF_ERROR(base_->RenameFile(from, to));
  files_.erase(t);
  if (auto it = files_.find(f); it != files_.end()) {
    files_[t] = it->second;
    files_.erase(it);
  }
  pending_.push_back(PendingOp{PendingOp::kRename, t, f, std::move(old), old_mode});
  return Status::OK();
}

Status FaultInjectionEnv::RemoveFile(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  TCD_RETURN_IF_ERROR(StepLocked("remove", path));
  const std::string p = Normalize(path);
  uint32_t old_mode;
  std::optional<Bytes> old = DurableBytesLocked(p, &old_mode);
  TCD_RETURN_IF_ERROR(base_->RemoveFile(path));
  files_.erase(p);
  pending_.push_back(PendingOp{PendingOp::kRemove, p, "", std::move(old), old_mode});
  return Status::OK();
}

Status FaultInjectionEnv::SyncDir(const std::string& dir) {
  std::lock_guard<std::mutex> l(mu_);
  TCD_RETURN_IF_ERROR(StepLocked("sync dir", dir));
  TCD_RETURN_IF_ERROR(base_->SyncDir(dir));
  const std::string d = Normalize(dir);
  std::erase_if(pending_, [&](const PendingOp& op) { return Parent(op.path) == d; });
  return Status::OK();
}

Status FaultInjectionEnv::CreateDirs(const std::string& dir) {
  std::lock_guard<std::mutex> l(mu_);
  TCD_RETURN_IF_ERROR(StepLocked("create dirs", dir));
  return base_->CreateDirs(dir);
}

Status FaultInjectionEnv::CrashPoint(const char* name) {
  std::lock_guard<std::mutex> l(mu_);
  return StepLocked("crash point", name);
}

Status FaultInjectionEnv::SimulatePowerLoss() {
  std::lock_guard<std::mutex> l(mu_);
  Status result;
  // 1. File data: cut every tracked file back to its synced length.
  for (auto& [path, state] : files_) {
    if (!base_->FileExists(path)) continue;
    auto size = base_->FileSize(path);
    if (!size.ok()) { result = First(result, size.status()); continue; }
    if (*size <= state->synced_size) continue;
    auto bytes = base_->ReadFile(path);
    if (!bytes.ok()) { result = First(result, bytes.status()); continue; }
    bytes->resize(state->synced_size);
    result = First(result, WriteRawLocked(path, *bytes, state->mode));
  }
  // 2. Names: undo the namespace changes no SyncDir made durable, newest first.
  for (auto it = pending_.rbegin(); it != pending_.rend(); ++it) {
    const PendingOp& op = *it;
    switch (op.kind) {
      case PendingOp::kCreate:
        if (base_->FileExists(op.path)) result = First(result, base_->RemoveFile(op.path));
        break;
      case PendingOp::kRename:
        if (base_->FileExists(op.path)) {
          result = First(result, base_->RenameFile(op.path, op.from));
        }
        if (op.old_bytes) result = First(result, WriteRawLocked(op.path, *op.old_bytes,
                                                                op.old_mode));
        break;
      case PendingOp::kRemove:
        if (op.old_bytes) result = First(result, WriteRawLocked(op.path, *op.old_bytes,
                                                                op.old_mode));
        break;
    }
  }
  // 3. A fresh, clean state.
  for (auto& [path, state] : files_) state->dead = true;
  files_.clear();
  pending_.clear();
  crashed_ = false;
  crash_step_ = 0;
  steps_ = 0;
  return result;
}

Result<Bytes> FaultInjectionEnv::ReadFile(const std::string& path) {
  return base_->ReadFile(path);
}
bool FaultInjectionEnv::FileExists(const std::string& path) { return base_->FileExists(path); }
Result<uint64_t> FaultInjectionEnv::FileSize(const std::string& path) {
  return base_->FileSize(path);
}
Result<std::vector<std::string>> FaultInjectionEnv::ListDir(const std::string& dir) {
  return base_->ListDir(dir);
}
void FaultInjectionEnv::SetFreeBytes(std::optional<uint64_t> bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  free_bytes_ = bytes;
}

Result<uint64_t> FaultInjectionEnv::FreeBytes(const std::string& path) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (free_bytes_) return *free_bytes_;
  }
  return base_->FreeBytes(path);
}
int64_t FaultInjectionEnv::NowMicros() { return base_->NowMicros(); }
int64_t FaultInjectionEnv::MonotonicMicros() { return base_->MonotonicMicros(); }
void FaultInjectionEnv::SleepMicros(int64_t micros) { base_->SleepMicros(micros); }

}  // namespace tcd
