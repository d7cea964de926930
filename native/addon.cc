// Thin N-API entry: argument unpacking, error raising, and nothing else.
// TypeScript validates arguments; this file trusts their types but still checks fds and lengths.
#include <napi.h>

#include <string.h>

#include "platform.h"

namespace {

// Error factory installed by TypeScript at load time, so native code raises the TS error classes.
struct AddonData {
  Napi::FunctionReference make_error;
};

Napi::Error MakeError(Napi::Env env, const char* kind, const char* code, const std::string& message, int err) {
  auto* data = env.GetInstanceData<AddonData>();
  if (data != nullptr && !data->make_error.IsEmpty()) {
    Napi::Value e = data->make_error.Call({Napi::String::New(env, kind), Napi::String::New(env, code),
                                           Napi::String::New(env, message),
                                           err != 0 ? Napi::Number::New(env, err) : env.Undefined()});
    if (e.IsObject()) return Napi::Error(env, e);
  }
  Napi::Error fallback = Napi::Error::New(env, message);
  fallback.Set("code", Napi::String::New(env, code));
  return fallback;
}

bool CheckFd(const Napi::CallbackInfo& info, size_t index, int* fd) {
  Napi::Env env = info.Env();
  if (info.Length() <= index || !info[index].IsNumber()) {
    Napi::TypeError::New(env, "fd must be a number").ThrowAsJavaScriptException();
    return false;
  }
  int64_t value = info[index].As<Napi::Number>().Int64Value();
  if (value < 0 || value > INT32_MAX) {
    MakeError(env, "peercred", "ERR_PEERCRED_BAD_FD", "invalid file descriptor", EBADF).ThrowAsJavaScriptException();
    return false;
  }
  *fd = static_cast<int>(value);
  return true;
}

void ThrowErrno(Napi::Env env, const char* kind, const char* what, int err) {
  std::string message = std::string(what) + ": " + strerror(err);
  MakeError(env, kind, "", message, err).ThrowAsJavaScriptException();
}

Napi::Value Init(const Napi::CallbackInfo& info) {
  auto* data = info.Env().GetInstanceData<AddonData>();
  data->make_error = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

Napi::Value PeerUid(const Napi::CallbackInfo& info) {
  int fd;
  if (!CheckFd(info, 0, &fd)) return info.Env().Undefined();
  int32_t uid;
  int err = oc_peer_uid(fd, &uid);
  if (err != 0) {
    ThrowErrno(info.Env(), "peercred", "getsockopt(peer uid)", err);
    return info.Env().Undefined();
  }
  return Napi::Number::New(info.Env(), uid);
}

// peerCred(fd, out: Int32Array(5), token: Uint8Array(32)) -> boolean hasAuditToken
// out = [pid, uid, gid, pidfd, pidVersion]; filling typed arrays avoids building an object per call.
Napi::Value PeerCred(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!CheckFd(info, 0, &fd)) return env.Undefined();
  Napi::Int32Array out = info[1].As<Napi::Int32Array>();
  Napi::Uint8Array token = info[2].As<Napi::Uint8Array>();
  if (out.ElementLength() < 5 || token.ByteLength() < 32) {
    Napi::RangeError::New(env, "output buffers too small").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  oc_peercred_t cred;
  memset(&cred, 0, sizeof(cred));
  int err = oc_peer_cred(fd, &cred);
  if (err != 0) {
    ThrowErrno(env, "peercred", "getsockopt(peer credentials)", err);
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

Napi::Object Register(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new AddonData());
  exports.Set("init", Napi::Function::New(env, Init, "init"));
  exports.Set("peerUid", Napi::Function::New(env, PeerUid, "peerUid"));
  exports.Set("peerCred", Napi::Function::New(env, PeerCred, "peerCred"));
  return exports;
}

}  // namespace

NODE_API_MODULE(openclaw_ipc, Register)
