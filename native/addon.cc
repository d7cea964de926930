// Thin N-API entry: argument unpacking, error raising, worker/thread plumbing, and nothing else.
// TypeScript validates arguments; this file trusts their types but still checks fds and lengths.
#include <napi.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "platform.h"
#if OC_HAVE_SPAWN
#include "posix/spawn.h"
#endif

namespace {

// Error factory installed by TypeScript at load time, so native code raises the TS error classes.
struct SpawnChannel;

struct AddonData {
  Napi::FunctionReference make_error;
  std::shared_ptr<SpawnChannel> spawn_channel;  // the posix_spawn runner's result channel, once used
};

Napi::Error MakeError(Napi::Env env, const char* kind, const char* code, const std::string& message, int err,
                      int32_t os_status = 0) {
  auto* data = env.GetInstanceData<AddonData>();
  if (data != nullptr && !data->make_error.IsEmpty()) {
    Napi::Value e = data->make_error.Call({Napi::String::New(env, kind), Napi::String::New(env, code),
                                           Napi::String::New(env, message),
                                           err != 0 ? Napi::Number::New(env, err) : env.Undefined(),
                                           os_status != 0 ? Napi::Number::New(env, os_status) : env.Undefined()});
    if (e.IsObject()) return Napi::Error(env, e);
  }
  Napi::Error fallback = Napi::Error::New(env, message);
  fallback.Set("code", Napi::String::New(env, code));
  return fallback;
}

std::string ErrnoMessage(const char* what, int err) { return std::string(what) + ": " + strerror(err); }

bool CheckFd(const Napi::CallbackInfo& info, size_t index, int* fd, const char* kind = "peercred",
             const char* code = "ERR_PEERCRED_BAD_FD") {
  Napi::Env env = info.Env();
  if (info.Length() <= index || !info[index].IsNumber()) {
    Napi::TypeError::New(env, "fd must be a number").ThrowAsJavaScriptException();
    return false;
  }
  int64_t value = info[index].As<Napi::Number>().Int64Value();
  if (value < 0 || value > INT32_MAX) {
    MakeError(env, kind, code, "invalid file descriptor", EBADF).ThrowAsJavaScriptException();
    return false;
  }
  *fd = static_cast<int>(value);
  return true;
}

void ThrowErrno(Napi::Env env, const char* kind, const char* what, int err) {
  MakeError(env, kind, "", ErrnoMessage(what, err), err).ThrowAsJavaScriptException();
}

// Peer-credential failures: errno values, plus the macOS identity-mismatch results (platform.h), which
// are not errnos and must fail closed with their own codes.
void ThrowPeerError(Napi::Env env, const char* what, int err) {
  if (err == OC_ERR_PEER_UID_MISMATCH) {
    MakeError(env, "peercred", "ERR_PEERCRED_UID_MISMATCH",
              "the peer's current euid differs from its connect-time uid (the socket changed hands)", 0)
        .ThrowAsJavaScriptException();
  } else if (err == OC_ERR_PEER_CHANGED) {
    MakeError(env, "peercred", "ERR_PEERCRED_PEER_CHANGED",
              "the peer socket is shared by more than one process; the peer is ambiguous", 0)
        .ThrowAsJavaScriptException();
  } else {
    ThrowErrno(env, "peercred", what, err);
  }
}

Napi::Value Init(const Napi::CallbackInfo& info) {
  auto* data = info.Env().GetInstanceData<AddonData>();
  data->make_error = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

// ---- peer credentials and pidfds ------------------------------------------------------------------

Napi::Value PeerUid(const Napi::CallbackInfo& info) {
  int fd;
  if (!CheckFd(info, 0, &fd)) return info.Env().Undefined();
  int32_t uid;
  int err = oc_peer_uid(fd, &uid);
  if (err != 0) {
    ThrowPeerError(info.Env(), "getsockopt(peer uid)", err);
    return info.Env().Undefined();
  }
  return Napi::Number::New(info.Env(), uid);
}

// peerCred(fd, out: Int32Array(5), token: Uint8Array(32), keepPidfd: boolean) -> boolean hasAuditToken
// out = [pid, uid, gid, pidfd, pidVersion]; filling typed arrays avoids building an object per call.
// With keepPidfd false no pidfd is created; with true the caller owns out[3] and must close it.
Napi::Value PeerCred(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!CheckFd(info, 0, &fd)) return env.Undefined();
  Napi::Int32Array out = info[1].As<Napi::Int32Array>();
  Napi::Uint8Array token = info[2].As<Napi::Uint8Array>();
  bool keep_pidfd = info.Length() > 3 && info[3].ToBoolean().Value();
  if (out.ElementLength() < 5 || token.ByteLength() < 32) {
    Napi::RangeError::New(env, "output buffers too small").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  oc_peercred_t cred;
  memset(&cred, 0, sizeof(cred));
  int err = oc_peer_cred(fd, keep_pidfd ? 1 : 0, &cred);
  if (err != 0) {
    ThrowPeerError(env, "getsockopt(peer credentials)", err);
    return env.Undefined();
  }
  out[0] = cred.pid;
  out[1] = cred.uid;
  out[2] = cred.gid;
  out[3] = cred.pidfd;
  out[4] = cred.pid_version;
  if (cred.has_audit_token) memcpy(token.Data(), cred.audit_token, 32);
  return Napi::Boolean::New(env, cred.has_audit_token != 0);
}

// pidfdAlive(pidfd) -> boolean
Napi::Value PidfdAlive(const Napi::CallbackInfo& info) {
  int fd;
  if (!CheckFd(info, 0, &fd)) return info.Env().Undefined();
  int32_t alive = 0;
  int err = oc_pidfd_alive(fd, &alive);
  if (err != 0) {
    ThrowErrno(info.Env(), "peercred", "pidfd_send_signal", err);
    return info.Env().Undefined();
  }
  return Napi::Boolean::New(info.Env(), alive != 0);
}

// processExecutable(pid, pidfd) -> string; ESRCH becomes ERR_PEERCRED_PROCESS_EXITED.
Napi::Value ProcessExecutable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int pidfd;
  if (!CheckFd(info, 1, &pidfd)) return env.Undefined();
  int32_t pid = info[0].As<Napi::Number>().Int32Value();
  std::vector<char> path(4096);
  int err = oc_process_executable(pid, pidfd, path.data(), path.size());
  if (err == ESRCH) {
    MakeError(env, "peercred", "ERR_PEERCRED_PROCESS_EXITED", "the peer process has exited", ESRCH)
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (err != 0) {
    ThrowErrno(env, "peercred", "readlink(/proc/<pid>/exe)", err);
    return env.Undefined();
  }
  return Napi::String::New(env, path.data());
}

// Audit-token process handles (macOS; ENOSYS on Linux). The token is the 32 bytes peerCred filled.
bool CheckToken(const Napi::CallbackInfo& info, Napi::Uint8Array* token) {
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
      info[0].As<Napi::Uint8Array>().ByteLength() != 32) {
    Napi::TypeError::New(info.Env(), "token must be a 32-byte Uint8Array").ThrowAsJavaScriptException();
    return false;
  }
  *token = info[0].As<Napi::Uint8Array>();
  return true;
}

// tokenAlive(token) -> boolean
Napi::Value TokenAlive(const Napi::CallbackInfo& info) {
  Napi::Uint8Array token;
  if (!CheckToken(info, &token)) return info.Env().Undefined();
  int32_t alive = 0;
  int err = oc_token_alive(token.Data(), token.ByteLength(), &alive);
  if (err != 0) {
    ThrowErrno(info.Env(), "peercred", "csops_audittoken", err);
    return info.Env().Undefined();
  }
  return Napi::Boolean::New(info.Env(), alive != 0);
}

// tokenExecutable(token) -> string; ESRCH becomes ERR_PEERCRED_PROCESS_EXITED.
Napi::Value TokenExecutable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array token;
  if (!CheckToken(info, &token)) return env.Undefined();
  std::vector<char> path(4096);
  int err = oc_token_executable(token.Data(), token.ByteLength(), path.data(), path.size());
  if (err == ESRCH) {
    MakeError(env, "peercred", "ERR_PEERCRED_PROCESS_EXITED", "the peer process has exited", ESRCH)
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (err != 0) {
    ThrowErrno(env, "peercred", "proc_pidpath", err);
    return env.Undefined();
  }
  return Napi::String::New(env, path.data());
}

// closeFd(fd): for pidfds handed out by peerCred(…, true).
Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  int fd;
  if (!CheckFd(info, 0, &fd)) return info.Env().Undefined();
  if (close(fd) != 0 && errno != EINTR) ThrowErrno(info.Env(), "peercred", "close", errno);
  return info.Env().Undefined();
}

// ---- file locks --------------------------------------------------------------------------------------

// flock(fd, op): op 1 = try exclusive (true when taken, false when another holder has it), 0 = unlock.
// Never waits: callers retry with a bound (lib/native/file-lock.ts).
Napi::Value Flock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!CheckFd(info, 0, &fd, "lock", "ERR_LOCK_BAD_FD")) return env.Undefined();
  if (info.Length() < 2 || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "op must be a number").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int op = info[1].As<Napi::Number>().Int32Value();
  int err = oc_flock(fd, op);
  if (err == EAGAIN && op == OC_FLOCK_TRY_EXCLUSIVE) return Napi::Boolean::New(env, false);
  if (err != 0) {
    ThrowErrno(env, "lock", "flock", err);
    return env.Undefined();
  }
  return Napi::Boolean::New(env, true);
}

// ---- code identity / TeamID (AsyncWorker: hashing and signature checks never run on the JS thread) --

// Captures the target on the JS thread: for a socket the peer's pidfd / audit token is taken now, so a
// later close or reuse of the socket fd cannot redirect the lookup.
bool ReadTarget(const Napi::CallbackInfo& info, oc_peercred_t* peer, oc_code_target_t* target, std::string* path) {
  Napi::Env env = info.Env();
  int32_t kind = info[0].As<Napi::Number>().Int32Value();
  memset(target, 0, sizeof(*target));
  memset(peer, 0, sizeof(*peer));
  peer->pidfd = -1;
  target->kind = kind;
  if (kind == OC_TARGET_PEER) {
    int fd;
    if (!CheckFd(info, 1, &fd)) return false;
    int err = oc_peer_cred(fd, 1, peer);
    if (err != 0) {
      ThrowPeerError(env, "getsockopt(peer credentials)", err);
      return false;
    }
    target->peer = peer;
  } else if (kind == OC_TARGET_PID) {
    target->pid = info[1].As<Napi::Number>().Int32Value();
  } else if (kind == OC_TARGET_PATH) {
    *path = info[2].As<Napi::String>().Utf8Value();
  } else {
    Napi::TypeError::New(env, "bad target kind").ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

class TargetWorker : public Napi::AsyncWorker {
 protected:
  explicit TargetWorker(Napi::Function done) : Napi::AsyncWorker(done, "openclaw-ipc:codesign") {
    memset(&peer_, 0, sizeof(peer_));
    memset(&target_, 0, sizeof(target_));
    peer_.pidfd = -1;
  }
  ~TargetWorker() override {
    if (peer_.pidfd >= 0) close(peer_.pidfd);
  }
  oc_code_target_t* Target() {
    if (target_.kind == OC_TARGET_PATH) target_.path = path_.c_str();
    if (target_.kind == OC_TARGET_PEER) target_.peer = &peer_;
    return &target_;
  }
  void OnError(const Napi::Error&) override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    const char* code = err_ == ESRCH ? "ERR_CODESIGN_PROCESS_EXITED" : "";
    std::string message = err_ == ESRCH ? "the target process has exited" : ErrnoMessage("code identity", err_);
    Callback().Call({MakeError(env, "codesign", code, message, err_, os_status_).Value()});
  }
  void Fail(int err, int32_t os_status) {
    err_ = err;
    os_status_ = os_status;
    SetError("failed");
  }

 public:
  oc_peercred_t peer_;
  oc_code_target_t target_;
  std::string path_;

 private:
  int err_ = 0;
  int32_t os_status_ = 0;
};

class CodeIdentityWorker : public TargetWorker {
 public:
  explicit CodeIdentityWorker(Napi::Function done) : TargetWorker(done) { memset(&out_, 0, sizeof(out_)); }

  void Execute() override {
    int err = oc_code_identity(Target(), &out_);
    if (err != 0) Fail(err, out_.os_status);
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object r = Napi::Object::New(env);
    r.Set("executable", out_.executable);
    r.Set("signed", Napi::Boolean::New(env, out_.is_signed != 0));
    r.Set("valid", Napi::Boolean::New(env, out_.valid != 0));
    r.Set("adhoc", Napi::Boolean::New(env, out_.adhoc != 0));
    r.Set("teamId", out_.team_id[0] ? Napi::Value(Napi::String::New(env, out_.team_id)) : env.Null());
    r.Set("signingId", out_.signing_id[0] ? Napi::Value(Napi::String::New(env, out_.signing_id)) : env.Null());
    if (out_.has_cdhash) r.Set("cdhash", Napi::Buffer<uint8_t>::Copy(env, out_.cdhash, 20));
    if (out_.has_sha256) r.Set("sha256", Napi::Buffer<uint8_t>::Copy(env, out_.sha256, 32));
    r.Set("pid", Napi::Number::New(env, out_.pid));
    if (out_.reason[0]) r.Set("reason", out_.reason);
    if (out_.os_status != 0) r.Set("osStatus", Napi::Number::New(env, out_.os_status));
    Callback().Call({env.Null(), r});
  }

 private:
  oc_code_identity_t out_;
};

class VerifyTeamWorker : public TargetWorker {
 public:
  explicit VerifyTeamWorker(Napi::Function done) : TargetWorker(done) { memset(&out_, 0, sizeof(out_)); }

  void Execute() override {
    std::vector<const char*> ids;
    for (const auto& t : team_ids_) ids.push_back(t.c_str());
    int err = oc_verify_team_id(Target(), ids.data(), ids.size(), has_signing_id_ ? signing_id_.c_str() : nullptr,
                                &out_);
    if (err != 0) Fail(err, out_.os_status);
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object r = Napi::Object::New(env);
    r.Set("ok", Napi::Boolean::New(env, out_.ok != 0));
    if (out_.ok) {
      r.Set("teamId", out_.team_id);
      r.Set("signingId", out_.signing_id);
    } else {
      r.Set("reason", out_.reason[0] ? out_.reason : "requirement-failed");
      if (out_.os_status != 0) r.Set("osStatus", Napi::Number::New(env, out_.os_status));
    }
    Callback().Call({env.Null(), r});
  }

  std::vector<std::string> team_ids_;
  bool has_signing_id_ = false;
  std::string signing_id_;

 private:
  oc_team_result_t out_;
};

// codeIdentity(kind, fdOrPid, path, done)
Napi::Value CodeIdentity(const Napi::CallbackInfo& info) {
  auto* worker = new CodeIdentityWorker(info[3].As<Napi::Function>());
  if (!ReadTarget(info, &worker->peer_, &worker->target_, &worker->path_)) {
    delete worker;
    return info.Env().Undefined();
  }
  worker->Queue();
  return info.Env().Undefined();
}

// verifyTeamId(kind, fdOrPid, path, teamIds: string[], signingId: string | null, done)
Napi::Value VerifyTeamId(const Napi::CallbackInfo& info) {
  auto* worker = new VerifyTeamWorker(info[5].As<Napi::Function>());
  if (!ReadTarget(info, &worker->peer_, &worker->target_, &worker->path_)) {
    delete worker;
    return info.Env().Undefined();
  }
  Napi::Array ids = info[3].As<Napi::Array>();
  for (uint32_t i = 0; i < ids.Length(); i++) worker->team_ids_.push_back(ids.Get(i).As<Napi::String>().Utf8Value());
  if (info[4].IsString()) {
    worker->has_signing_id_ = true;
    worker->signing_id_ = info[4].As<Napi::String>().Utf8Value();
  }
  worker->Queue();
  return info.Env().Undefined();
}

// teamRequirement(teamIds, signingId | null) -> string (the exact requirement macOS would check)
Napi::Value TeamRequirement(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array ids = info[0].As<Napi::Array>();
  std::vector<std::string> owned;
  for (uint32_t i = 0; i < ids.Length(); i++) owned.push_back(ids.Get(i).As<Napi::String>().Utf8Value());
  std::vector<const char*> ptrs;
  for (const auto& s : owned) ptrs.push_back(s.c_str());
  std::string signing;
  bool has_signing = info[1].IsString();
  if (has_signing) signing = info[1].As<Napi::String>().Utf8Value();
  std::vector<char> buf(4096);
  int err = oc_team_requirement(ptrs.data(), ptrs.size(), has_signing ? signing.c_str() : nullptr, buf.data(),
                                buf.size());
  if (err != 0) {
    MakeError(env, "codesign", "ERR_CODESIGN_BAD_REQUIREMENT", ErrnoMessage("team requirement", err), err)
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::String::New(env, buf.data());
}

// ---- TCC ------------------------------------------------------------------------------------------

class TccWorker : public Napi::AsyncWorker {
 public:
  TccWorker(Napi::Function done, bool request, std::string name, bool has_target, std::string target,
            int32_t timeout_ms)
      : Napi::AsyncWorker(done, "openclaw-ipc:tcc"),
        request_(request),
        name_(std::move(name)),
        has_target_(has_target),
        target_(std::move(target)),
        timeout_ms_(timeout_ms) {
    memset(&out_, 0, sizeof(out_));
  }

  void Execute() override {
    const char* target = has_target_ ? target_.c_str() : nullptr;
    err_ = request_ ? oc_tcc_request(name_.c_str(), target, timeout_ms_, &out_)
                    : oc_tcc_status(name_.c_str(), target, timeout_ms_, &out_);
    if (err_ != 0) SetError("failed");
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object r = Napi::Object::New(env);
    r.Set("status", Napi::Number::New(env, out_.status));
    if (out_.reason[0]) r.Set("reason", out_.reason);
    if (out_.os_status != 0) r.Set("osStatus", Napi::Number::New(env, out_.os_status));
    Callback().Call({env.Null(), r});
  }

  void OnError(const Napi::Error&) override {
    Napi::Env env = Env();
    const char* code = err_ == EINVAL ? "ERR_TCC_UNKNOWN_PERMISSION" : "";
    Callback().Call({MakeError(env, "tcc", code, ErrnoMessage("tcc", err_), err_, out_.os_status).Value()});
  }

 private:
  bool request_;
  std::string name_;
  bool has_target_;
  std::string target_;
  int32_t timeout_ms_;
  int err_ = 0;
  oc_tcc_result_t out_;
};

// tccStatus / tccRequest (name, targetBundleId | null, timeoutMs, done)
Napi::Value Tcc(const Napi::CallbackInfo& info, bool request) {
  bool has_target = info[1].IsString();
  auto* worker = new TccWorker(info[3].As<Napi::Function>(), request, info[0].As<Napi::String>().Utf8Value(),
                               has_target, has_target ? info[1].As<Napi::String>().Utf8Value() : std::string(),
                               info[2].As<Napi::Number>().Int32Value());
  worker->Queue();
  return info.Env().Undefined();
}
Napi::Value TccStatus(const Napi::CallbackInfo& info) { return Tcc(info, false); }
Napi::Value TccRequest(const Napi::CallbackInfo& info) { return Tcc(info, true); }

// ---- socket peer state ----------------------------------------------------------------------------

// socketHungUp(fd) -> boolean: the peer closed its end completely (not just its writing side).
Napi::Value SocketHungUp(const Napi::CallbackInfo& info) {
  int fd;
  if (!CheckFd(info, 0, &fd, "socket", "ERR_SOCKET_BAD_FD")) return info.Env().Undefined();
  int32_t hung_up = 0;
  int err = oc_socket_hung_up(fd, &hung_up);
  if (err != 0) {
    ThrowErrno(info.Env(), "socket", "poll(socket)", err);
    return info.Env().Undefined();
  }
  return Napi::Boolean::New(info.Env(), hung_up != 0);
}

// ---- process runner -------------------------------------------------------------------------------
#if OC_HAVE_SPAWN

// One thread-safe function per JS environment carries every spawn result to the JS thread (creating and
// closing one per spawn cost more than the rest of the call). It is unref'd while no spawn is pending, so
// it never keeps the process alive by itself, and ref'd while any is.
struct SpawnChannel {
  std::mutex mu;
  bool alive = true;  // false once the environment is being torn down: results are dropped, not delivered
  napi_threadsafe_function tsfn = nullptr;
  uint32_t pending = 0;  // JS thread only
};

// One spawn request's way back: the channel and the JS callback (created and destroyed on the JS thread).
struct SpawnCtx {
  std::shared_ptr<SpawnChannel> channel;
  Napi::FunctionReference done;
  OcSpawnResult* res = nullptr;
};

std::vector<std::string> StringArray(Napi::Value v) {
  Napi::Array a = v.As<Napi::Array>();
  std::vector<std::string> out;
  out.reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(a.Get(i).As<Napi::String>().Utf8Value());
  return out;
}

void DeliverSpawn(Napi::Env env, Napi::Function done, OcSpawnResult* res) {
  if (res->error != 0) {
    std::string message = ErrnoMessage(res->error_what, res->error);
    done.Call({MakeError(env, "spawn", "", message, res->error).Value()});
    return;
  }
  Napi::Object r = Napi::Object::New(env);
  r.Set("pid", Napi::Number::New(env, res->pid));
  r.Set("exitCode", Napi::Number::New(env, res->exit_code));
  r.Set("signal", Napi::Number::New(env, res->signal));
  r.Set("timedOut", Napi::Boolean::New(env, res->timed_out));
  r.Set("cancelled", Napi::Boolean::New(env, res->cancelled));
  r.Set("stdout", Napi::Buffer<char>::Copy(env, res->out.data(), res->out.size()));
  r.Set("stderr", Napi::Buffer<char>::Copy(env, res->err.data(), res->err.size()));
  r.Set("stdoutTruncated", Napi::Boolean::New(env, res->out_truncated));
  r.Set("stderrTruncated", Napi::Boolean::New(env, res->err_truncated));
  r.Set("durationMs", Napi::Number::New(env, res->duration_ms));
  done.Call({env.Null(), r});
}

// The channel's call_js: on the JS thread, one finished spawn. env is null when the channel is closing with
// results still queued (environment teardown): nothing can be called then, the memory is released.
void CallSpawnDone(napi_env raw_env, napi_value, void*, void* data) {
  auto* ctx = static_cast<SpawnCtx*>(data);
  std::unique_ptr<OcSpawnResult> res(ctx->res);
  if (raw_env == nullptr) {
    ctx->done.SuppressDestruct();  // no environment to release the reference into
    delete ctx;
    return;
  }
  Napi::Env env(raw_env);
  Napi::HandleScope scope(env);
  std::shared_ptr<SpawnChannel> channel = ctx->channel;
  Napi::Function done = ctx->done.Value();
  delete ctx;
  if (--channel->pending == 0) napi_unref_threadsafe_function(env, channel->tsfn);
  try {
    DeliverSpawn(env, done, res.get());
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();  // left pending: Node reports it as uncaught, as for any callback
  }
}

// Runs on the supervisor thread: queue the result for the JS thread (unless the environment is gone).
void OnSpawnDone(void* data, OcSpawnResult* res) {
  auto* ctx = static_cast<SpawnCtx*>(data);
  ctx->res = res;
  std::shared_ptr<SpawnChannel> channel = ctx->channel;
  std::lock_guard<std::mutex> lock(channel->mu);
  if (channel->alive && napi_call_threadsafe_function(channel->tsfn, ctx, napi_tsfn_nonblocking) == napi_ok) return;
  // The environment is gone: its callback reference cannot be released from here; the result can.
  delete res;
  ctx->res = nullptr;
  ctx->done.SuppressDestruct();
  ctx->channel.reset();
  delete ctx;
}

void CloseSpawnChannel(void* arg) {
  auto* holder = static_cast<std::shared_ptr<SpawnChannel>*>(arg);
  {
    std::lock_guard<std::mutex> lock((*holder)->mu);
    (*holder)->alive = false;  // before Node closes the thread-safe function (hooks run in reverse order)
  }
  delete holder;
}

// The environment's channel, created at its first spawn.
std::shared_ptr<SpawnChannel> SpawnChannelFor(Napi::Env env) {
  auto* data = env.GetInstanceData<AddonData>();
  if (data->spawn_channel) return data->spawn_channel;
  auto channel = std::make_shared<SpawnChannel>();
  napi_value name = Napi::String::New(env, "openclaw-ipc:spawn");
  if (napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, nullptr, nullptr, nullptr, CallSpawnDone,
                                      &channel->tsfn) != napi_ok) {
    return nullptr;
  }
  napi_unref_threadsafe_function(env, channel->tsfn);
  napi_add_env_cleanup_hook(env, CloseSpawnChannel, new std::shared_ptr<SpawnChannel>(channel));
  data->spawn_channel = channel;
  return channel;
}

// spawn({file, execFd, argv, env, cwd, stdin, timeoutMs, killGraceMs, maxOutputBytes}, done)
Napi::Value Spawn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = info[0].As<Napi::Object>();
  auto* req = new OcSpawnRequest();
  req->file = o.Get("file").As<Napi::String>().Utf8Value();
  Napi::Value exec_fd = o.Get("execFd");
  if (exec_fd.IsNumber()) req->exec_fd = exec_fd.As<Napi::Number>().Int32Value();
  req->argv = StringArray(o.Get("argv"));
  req->env = StringArray(o.Get("env"));
  Napi::Value cwd = o.Get("cwd");
  if (cwd.IsString()) {
    req->has_cwd = true;
    req->cwd = cwd.As<Napi::String>().Utf8Value();
  }
  Napi::Value in = o.Get("stdin");
  if (in.IsTypedArray()) {
    Napi::Uint8Array bytes = in.As<Napi::Uint8Array>();
    req->has_stdin = true;
    req->stdin_data.assign(reinterpret_cast<const char*>(bytes.Data()), bytes.ByteLength());
  }
  req->timeout_ms = o.Get("timeoutMs").As<Napi::Number>().Int64Value();
  req->kill_grace_ms = o.Get("killGraceMs").As<Napi::Number>().Int64Value();
  req->max_output_bytes = static_cast<size_t>(o.Get("maxOutputBytes").As<Napi::Number>().Int64Value());
  std::shared_ptr<SpawnChannel> channel = SpawnChannelFor(env);
  if (!channel) {
    delete req;
    ThrowErrno(env, "spawn", "spawn result channel", ENOMEM);
    return env.Undefined();
  }
  auto* ctx = new SpawnCtx();
  ctx->channel = channel;
  ctx->done = Napi::Persistent(info[1].As<Napi::Function>());
  if (channel->pending++ == 0) napi_ref_threadsafe_function(env, channel->tsfn);
  uint64_t id = 0;
  int err = oc_spawn_submit(req, OnSpawnDone, ctx, &id);
  if (err != 0) {
    if (--channel->pending == 0) napi_unref_threadsafe_function(env, channel->tsfn);
    delete ctx;
    ThrowErrno(env, "spawn", "spawn supervisor", err);
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(id));  // < 2^53 for any realistic process lifetime
}

// spawnCancel(id): ends that request early (native/posix/spawn.h); unknown ids are ignored.
Napi::Value SpawnCancel(const Napi::CallbackInfo& info) {
  if (info.Length() > 0 && info[0].IsNumber()) {
    int64_t id = info[0].As<Napi::Number>().Int64Value();
    if (id > 0) oc_spawn_cancel(static_cast<uint64_t>(id));
  }
  return info.Env().Undefined();
}

#endif  // OC_HAVE_SPAWN

Napi::Object Register(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new AddonData());
  exports.Set("init", Napi::Function::New(env, Init, "init"));
  exports.Set("peerUid", Napi::Function::New(env, PeerUid, "peerUid"));
  exports.Set("peerCred", Napi::Function::New(env, PeerCred, "peerCred"));
  exports.Set("pidfdAlive", Napi::Function::New(env, PidfdAlive, "pidfdAlive"));
  exports.Set("processExecutable", Napi::Function::New(env, ProcessExecutable, "processExecutable"));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd, "closeFd"));
  exports.Set("flock", Napi::Function::New(env, Flock, "flock"));
  exports.Set("tokenAlive", Napi::Function::New(env, TokenAlive, "tokenAlive"));
  exports.Set("tokenExecutable", Napi::Function::New(env, TokenExecutable, "tokenExecutable"));
  exports.Set("codeIdentity", Napi::Function::New(env, CodeIdentity, "codeIdentity"));
  exports.Set("verifyTeamId", Napi::Function::New(env, VerifyTeamId, "verifyTeamId"));
  exports.Set("teamRequirement", Napi::Function::New(env, TeamRequirement, "teamRequirement"));
  exports.Set("tccStatus", Napi::Function::New(env, TccStatus, "tccStatus"));
  exports.Set("tccRequest", Napi::Function::New(env, TccRequest, "tccRequest"));
  exports.Set("socketHungUp", Napi::Function::New(env, SocketHungUp, "socketHungUp"));
#if OC_HAVE_SPAWN
  exports.Set("spawn", Napi::Function::New(env, Spawn, "spawn"));
  exports.Set("spawnCancel", Napi::Function::New(env, SpawnCancel, "spawnCancel"));
#endif
  return exports;
}

}  // namespace

NODE_API_MODULE(openclaw_ipc, Register)
