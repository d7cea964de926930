// macOS code identity and TeamID verification (platform.h §2: oc_code_identity, oc_verify_team_id).
//
// Processes are looked up by audit token, never by bare pid (a pid can be reused between lookup and use;
// a token is bound to one process instance through its pidversion):
//   peer  -> the token the caller captured with LOCAL_PEERTOKEN;
//   pid   -> a token taken now with task_name_for_pid + TASK_AUDIT_TOKEN. Racy by nature: the pid may
//            already name a different process when the token is taken. The token then at least pins
//            whatever was found for the rest of the lookup;
//   path  -> SecStaticCodeCreateWithPath. Time-of-check/time-of-use with respect to a later exec.
// For running code the signature is checked first and details are read only after that; then the CDHash
// the kernel enforces for that process instance (csops_audittoken) is read before and after and must
// equal the validated static CDHash, so an exec between the steps cannot slip through.
// Everything here may hash files: platform.h marks both entry points BLOCKING (worker thread only).
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <signal.h>
#include <mach/mach.h>
#include <mach/mach_traps.h>
#include <bsm/libbsm.h>
#include <CoreFoundation/CoreFoundation.h>
#include <Security/Security.h>

#include <string>
#include <vector>

#include "../platform.h"

// Private libsystem_kernel syscall wrapper (xnu bsd/sys/codesign.h, not in the public SDK):
//   int csops_audittoken(pid_t pid, unsigned int ops, void *useraddr, size_t usersize, audit_token_t *token);
// With a token the kernel refuses (ESRCH) when the token's pidversion no longer matches the process, so
// the answer is about exactly the instance the token names. CS_OPS_CDHASH (5) copies out the 20-byte
// CDHash of the code directory the kernel validated pages against.
extern "C" int csops_audittoken(pid_t pid, unsigned int ops, void* useraddr, size_t usersize, audit_token_t* token);

namespace {

constexpr unsigned int kCsOpsCdhash = 5;  // CS_OPS_CDHASH, xnu bsd/sys/codesign.h
constexpr size_t kCdhashLen = 20;         // CS_CDHASH_LEN
constexpr size_t kMaxRequirement = 1024;  // 32 teams x ~40 bytes + identifier clause fits comfortably
constexpr OSStatus kPosixErrorBase = 100000;  // kPOSIXErrorBase (MacErrors.h): OSStatus = base + errno

// Owns one CoreFoundation reference (Security types are CF types); released on scope exit.
template <typename T>
class CFRef {
 public:
  CFRef() = default;
  explicit CFRef(T ref) : ref_(ref) {}
  ~CFRef() {
    if (ref_ != nullptr) CFRelease(ref_);
  }
  CFRef(const CFRef&) = delete;
  CFRef& operator=(const CFRef&) = delete;
  T get() const { return ref_; }
  // For Copy/Create out-parameters: the slot must be empty so nothing is leaked by overwriting it.
  T* out() {
    if (ref_ != nullptr) {
      CFRelease(ref_);
      ref_ = nullptr;
    }
    return &ref_;
  }

 private:
  T ref_ = nullptr;
};

void CopyTruncated(const char* src, char* dst, size_t cap) {
  if (cap == 0) return;
  size_t len = strnlen(src, cap - 1);
  // Do not cut a UTF-8 sequence in half: back up over continuation bytes.
  if (src[len] != '\0') {
    while (len > 0 && (static_cast<unsigned char>(src[len]) & 0xC0) == 0x80) len--;
  }
  memcpy(dst, src, len);
  dst[len] = '\0';
}

std::string StringFrom(CFStringRef s) {
  if (s == nullptr || CFGetTypeID(s) != CFStringGetTypeID()) return std::string();
  CFIndex max = CFStringGetMaximumSizeForEncoding(CFStringGetLength(s), kCFStringEncodingUTF8) + 1;
  std::vector<char> buf(static_cast<size_t>(max));
  if (!CFStringGetCString(s, buf.data(), max, kCFStringEncodingUTF8)) return std::string();
  return std::string(buf.data());
}

std::string PathFrom(CFURLRef url) {
  if (url == nullptr || CFGetTypeID(url) != CFURLGetTypeID()) return std::string();
  std::vector<UInt8> buf(4 * 4096);
  if (!CFURLGetFileSystemRepresentation(url, true, buf.data(), static_cast<CFIndex>(buf.size()))) return std::string();
  return std::string(reinterpret_cast<const char*>(buf.data()));
}

// ---- looking code up -----------------------------------------------------------------------

// A token for `pid`, taken now. task_name_for_pid needs no entitlement (Electron's parent-process check).
int TokenForPid(pid_t pid, audit_token_t* token) {
  mach_port_name_t name = MACH_PORT_NULL;
  kern_return_t kr = task_name_for_pid(mach_task_self(), pid, &name);
  if (kr != KERN_SUCCESS) {
    if (kill(pid, 0) != 0 && errno == ESRCH) return ESRCH;
    return EPERM;
  }
  mach_msg_type_number_t count = TASK_AUDIT_TOKEN_COUNT;
  kr = task_info(name, TASK_AUDIT_TOKEN, reinterpret_cast<task_info_t>(token), &count);
  mach_port_deallocate(mach_task_self(), name);
  if (kr != KERN_SUCCESS) return ESRCH;  // the task died between the two calls
  if (audit_token_to_pid(*token) != pid) return ESRCH;
  return 0;
}

OSStatus CodeForToken(const audit_token_t& token, SecCodeRef* code) {
  CFRef<CFDataRef> data(CFDataCreate(kCFAllocatorDefault, reinterpret_cast<const UInt8*>(&token), sizeof(token)));
  if (data.get() == nullptr) return errSecAllocate;
  const void* keys[] = {kSecGuestAttributeAudit};
  const void* values[] = {data.get()};
  CFRef<CFDictionaryRef> attrs(CFDictionaryCreate(kCFAllocatorDefault, keys, values, 1,
                                                  &kCFTypeDictionaryKeyCallBacks, &kCFTypeDictionaryValueCallBacks));
  if (attrs.get() == nullptr) return errSecAllocate;
  return SecCodeCopyGuestWithAttributes(nullptr, attrs.get(), kSecCSDefaultFlags, code);
}

// 0, or an errno (ESRCH: that process instance is gone; EINVAL etc.: no CDHash available).
int LiveCdhash(const audit_token_t& token, uint8_t out[kCdhashLen]) {
  audit_token_t copy = token;  // the kernel takes a non-const pointer
  if (csops_audittoken(audit_token_to_pid(token), kCsOpsCdhash, out, kCdhashLen, &copy) != 0) return errno;
  return 0;
}

int StaticCodeForPath(const char* path, SecStaticCodeRef* code, OSStatus* status) {
  struct stat st;
  if (stat(path, &st) != 0) return errno;  // ENOENT / EACCES / ENOTDIR as the OS says
  CFRef<CFURLRef> url(CFURLCreateFromFileSystemRepresentation(kCFAllocatorDefault, reinterpret_cast<const UInt8*>(path),
                                                              static_cast<CFIndex>(strlen(path)), S_ISDIR(st.st_mode)));
  if (url.get() == nullptr) return ENOMEM;
  *status = SecStaticCodeCreateWithPath(url.get(), kSecCSDefaultFlags, code);
  if (*status == errSecCSStaticCodeNotFound) return ENOENT;
  return 0;
}

// ---- reading and judging signatures --------------------------------------------------------

enum class Verdict { kValid, kUnsigned, kRequirementFailed, kInvalid, kGone, kError };

Verdict Classify(OSStatus st) {
  switch (st) {
    case errSecSuccess: return Verdict::kValid;
    case errSecCSUnsigned:
    case errSecCSBadObjectFormat:  // not code at all (a text file …): there is no signature to trust
      return Verdict::kUnsigned;
    case errSecCSReqFailed: return Verdict::kRequirementFailed;
    case errSecCSNoSuchCode:
    case kPosixErrorBase + ESRCH:  // the guest vanished while Security.framework was asking about it
      return Verdict::kGone;
    case errSecCSSignatureFailed:
    case errSecCSSignatureInvalid:
    case errSecCSSignatureUnsupported:
    case errSecCSGuestInvalid:
    case errSecCSStaticCodeChanged:
    case errSecCSResourcesNotSealed:
    case errSecCSResourcesNotFound:
    case errSecCSResourcesInvalid:
    case errSecCSBadResource:
    case errSecCSResourceRulesInvalid:
    case errSecCSResourceDirectoryFailed:
    case errSecCSInfoPlistFailed:
    case errSecCSNoMainExecutable:
    case errSecCSBadMainExecutable:
    case errSecCSUnsignedNestedCode:
    case errSecCSBadNestedCode:
    case errSecCSBadFrameworkVersion:
    case errSecCSUnsealedAppRoot:
    case errSecCSUnsealedFrameworkRoot:
    case errSecCSWeakResourceRules:
    case errSecCSWeakResourceEnvelope:
    case errSecCSInvalidSymlink:
    case errSecCSRegularFile:
    case errSecCSDSStoreSymlink:
    case errSecCSBadBundleFormat:
    case errSecCSAmbiguousBundleFormat:
      return Verdict::kInvalid;
    default: return Verdict::kError;
  }
}

struct SigningInfo {
  std::string executable;
  std::string team_id;
  std::string identifier;
  uint32_t flags = 0;
  bool has_cdhash = false;
  uint8_t cdhash[kCdhashLen] = {0};
};

// Details only; never a trust decision by itself (kSecCodeInfoTeamIdentifier is informational until a
// requirement pinning the OU has been satisfied).
OSStatus ReadSigningInfo(SecStaticCodeRef code, SigningInfo* out) {
  CFRef<CFDictionaryRef> info;
  OSStatus st = SecCodeCopySigningInformation(code, kSecCSSigningInformation, info.out());
  if (st != errSecSuccess) return st;
  if (info.get() == nullptr) return errSecCSInternalError;
  CFDictionaryRef d = info.get();
  out->executable = PathFrom(static_cast<CFURLRef>(CFDictionaryGetValue(d, kSecCodeInfoMainExecutable)));
  if (out->executable.empty()) {
    CFRef<CFURLRef> url;
    if (SecCodeCopyPath(code, kSecCSDefaultFlags, url.out()) == errSecSuccess) out->executable = PathFrom(url.get());
  }
  out->team_id = StringFrom(static_cast<CFStringRef>(CFDictionaryGetValue(d, kSecCodeInfoTeamIdentifier)));
  out->identifier = StringFrom(static_cast<CFStringRef>(CFDictionaryGetValue(d, kSecCodeInfoIdentifier)));
  CFTypeRef flags = CFDictionaryGetValue(d, kSecCodeInfoFlags);
  if (flags != nullptr && CFGetTypeID(flags) == CFNumberGetTypeID()) {
    int64_t value = 0;
    if (CFNumberGetValue(static_cast<CFNumberRef>(flags), kCFNumberSInt64Type, &value)) {
      out->flags = static_cast<uint32_t>(value);
    }
  }
  CFTypeRef unique = CFDictionaryGetValue(d, kSecCodeInfoUnique);
  if (unique != nullptr && CFGetTypeID(unique) == CFDataGetTypeID() &&
      CFDataGetLength(static_cast<CFDataRef>(unique)) >= static_cast<CFIndex>(kCdhashLen)) {
    memcpy(out->cdhash, CFDataGetBytePtr(static_cast<CFDataRef>(unique)), kCdhashLen);
    out->has_cdhash = true;
  }
  return errSecSuccess;
}

bool IsAdhoc(const SigningInfo& info) { return (info.flags & kSecCodeSignatureAdhoc) != 0; }

// The running instance must still be the code that was validated: live CDHash before == after == static.
enum class Binding { kBound, kMismatch, kGone };

Binding BindCdhash(const uint8_t before[kCdhashLen], const audit_token_t& token, const SigningInfo& info) {
  uint8_t after[kCdhashLen];
  int err = LiveCdhash(token, after);
  if (err == ESRCH) return Binding::kGone;
  if (err != 0 || !info.has_cdhash) return Binding::kMismatch;
  if (memcmp(before, after, kCdhashLen) != 0 || memcmp(after, info.cdhash, kCdhashLen) != 0) return Binding::kMismatch;
  return Binding::kBound;
}

void FillIdentity(const SigningInfo& info, oc_code_identity_t* out) {
  CopyTruncated(info.executable.c_str(), out->executable, sizeof(out->executable));
  CopyTruncated(info.team_id.c_str(), out->team_id, sizeof(out->team_id));
  CopyTruncated(info.identifier.c_str(), out->signing_id, sizeof(out->signing_id));
  out->adhoc = IsAdhoc(info) ? 1 : 0;
}

// Names read from a signature that did not validate are attacker-controlled: never hand them out.
void ForgetUnverified(oc_code_identity_t* out) {
  if (out->valid) return;
  out->team_id[0] = '\0';
  out->signing_id[0] = '\0';
}

// Applies the verdict of a plain validity check to `out`. Returns 0, or the errno to return.
int ApplyVerdict(OSStatus st, oc_code_identity_t* out) {
  switch (Classify(st)) {
    case Verdict::kValid:
      out->is_signed = 1;
      out->valid = 1;
      return 0;
    case Verdict::kUnsigned:
      out->os_status = st;
      CopyTruncated("unsigned", out->reason, sizeof(out->reason));
      return 0;
    case Verdict::kInvalid:
    case Verdict::kRequirementFailed:  // cannot happen without a requirement; treat as invalid
      out->is_signed = 1;
      out->os_status = st;
      CopyTruncated("invalid-signature", out->reason, sizeof(out->reason));
      return 0;
    case Verdict::kGone: return ESRCH;
    case Verdict::kError: break;
  }
  out->os_status = st;
  return EIO;
}

int IdentityOfToken(const audit_token_t& token, oc_code_identity_t* out) {
  out->pid = audit_token_to_pid(token);
  uint8_t before[kCdhashLen];
  int live_err = LiveCdhash(token, before);
  if (live_err == ESRCH) return ESRCH;

  CFRef<SecCodeRef> code;
  OSStatus st = CodeForToken(token, code.out());
  if (st == errSecCSNoSuchCode) return ESRCH;
  if (st != errSecSuccess) {
    out->os_status = st;
    return EIO;
  }
  int err = ApplyVerdict(SecCodeCheckValidity(code.get(), kSecCSDefaultFlags, nullptr), out);
  if (err != 0) return err;

  SigningInfo info;
  st = ReadSigningInfo(code.get(), &info);
  if (st == errSecCSNoSuchCode) return ESRCH;
  if (st != errSecSuccess) {
    out->os_status = st;
    return EIO;
  }
  FillIdentity(info, out);
  if (out->valid && out->adhoc) CopyTruncated("adhoc", out->reason, sizeof(out->reason));
  if (out->valid && live_err == 0) {
    switch (BindCdhash(before, token, info)) {
      case Binding::kGone: return ESRCH;
      case Binding::kMismatch:
        out->valid = 0;
        CopyTruncated("cdhash-mismatch", out->reason, sizeof(out->reason));
        break;
      case Binding::kBound:
        memcpy(out->cdhash, before, kCdhashLen);
        out->has_cdhash = 1;
        break;
    }
  }
  ForgetUnverified(out);
  return 0;
}

int IdentityOfPath(const char* path, oc_code_identity_t* out) {
  out->pid = -1;
  CFRef<SecStaticCodeRef> code;
  OSStatus st = errSecSuccess;
  int err = StaticCodeForPath(path, code.out(), &st);
  if (err != 0) return err;
  if (st != errSecSuccess) {
    err = ApplyVerdict(st, out);
    CopyTruncated(path, out->executable, sizeof(out->executable));
    return err;
  }
  err = ApplyVerdict(SecStaticCodeCheckValidity(code.get(), kSecCSCheckAllArchitectures | kSecCSStrictValidate, nullptr),
                     out);
  if (err != 0) return err;
  SigningInfo info;
  st = ReadSigningInfo(code.get(), &info);
  if (st != errSecSuccess) {
    out->os_status = st;
    return EIO;
  }
  FillIdentity(info, out);
  if (out->executable[0] == '\0') CopyTruncated(path, out->executable, sizeof(out->executable));
  if (out->valid && out->adhoc) CopyTruncated("adhoc", out->reason, sizeof(out->reason));
  if (out->valid && info.has_cdhash) {
    memcpy(out->cdhash, info.cdhash, kCdhashLen);
    out->has_cdhash = 1;
  }
  ForgetUnverified(out);
  return 0;
}

// Resolves a process target to an audit token. 0, ESRCH/EPERM, or EINVAL for a malformed target.
int TokenForTarget(const oc_code_target_t* target, audit_token_t* token) {
  if (target->kind == OC_TARGET_PEER) {
    if (target->peer == nullptr || !target->peer->has_audit_token) return EINVAL;
    memcpy(token, target->peer->audit_token, sizeof(*token));
    return 0;
  }
  if (target->pid <= 0) return EINVAL;
  return TokenForPid(static_cast<pid_t>(target->pid), token);
}

// ---- TeamID verification -------------------------------------------------------------------

void SetNo(oc_team_result_t* out, const char* reason, OSStatus st) {
  out->ok = 0;
  CopyTruncated(reason, out->reason, sizeof(out->reason));
  out->os_status = st;
}

bool TeamAllowed(const std::string& team, const char* const* team_ids, size_t team_count) {
  for (size_t i = 0; i < team_count; i++) {
    if (team_ids[i] != nullptr && team == team_ids[i]) return true;
  }
  return false;
}

// Maps a requirement check's status to a result. Returns 0 and sets *passed, or an errno.
int JudgeRequirement(OSStatus st, SecStaticCodeRef code, oc_team_result_t* out, bool* passed) {
  *passed = false;
  switch (Classify(st)) {
    case Verdict::kValid:
      *passed = true;
      return 0;
    case Verdict::kUnsigned: SetNo(out, "unsigned", st); return 0;
    case Verdict::kGone: SetNo(out, "process-exited", st); return 0;
    case Verdict::kInvalid: SetNo(out, "invalid-signature", st); return 0;
    case Verdict::kRequirementFailed: {
      // Ad-hoc code can never satisfy an anchor requirement; say so precisely.
      SigningInfo info;
      bool adhoc = ReadSigningInfo(code, &info) == errSecSuccess && IsAdhoc(info);
      SetNo(out, adhoc ? "adhoc" : "requirement-failed", st);
      return 0;
    }
    case Verdict::kError: break;
  }
  out->os_status = st;
  return EIO;
}

// After the requirement passed: read the details and make sure the TeamID the signature carries is one
// the caller allowed (the requirement pins the certificate OU; this rejects any OU/TeamID disagreement).
int AcceptSigner(SecStaticCodeRef code, const char* const* team_ids, size_t team_count, oc_team_result_t* out,
                 SigningInfo* info) {
  OSStatus st = ReadSigningInfo(code, info);
  if (st == errSecCSNoSuchCode) {
    SetNo(out, "process-exited", st);
    return 0;
  }
  if (st != errSecSuccess) {
    out->os_status = st;
    return EIO;
  }
  if (!TeamAllowed(info->team_id, team_ids, team_count)) {
    SetNo(out, "requirement-failed", errSecCSReqFailed);
    return 0;
  }
  out->ok = 1;
  CopyTruncated(info->team_id.c_str(), out->team_id, sizeof(out->team_id));
  CopyTruncated(info->identifier.c_str(), out->signing_id, sizeof(out->signing_id));
  return 0;
}

int VerifyProcess(const audit_token_t& token, SecRequirementRef req, const char* const* team_ids, size_t team_count,
                  oc_team_result_t* out) {
  uint8_t before[kCdhashLen];
  int live_err = LiveCdhash(token, before);
  if (live_err == ESRCH) {
    SetNo(out, "process-exited", 0);
    return 0;
  }
  CFRef<SecCodeRef> code;
  OSStatus st = CodeForToken(token, code.out());
  bool passed = false;
  int err = JudgeRequirement(st == errSecSuccess ? SecCodeCheckValidity(code.get(), kSecCSDefaultFlags, req) : st,
                             code.get(), out, &passed);
  if (err != 0 || !passed) return err;
  // The dynamic check passed; the on-disk code it was loaded from must satisfy the same requirement.
  CFRef<SecStaticCodeRef> on_disk;
  st = SecCodeCopyStaticCode(code.get(), kSecCSDefaultFlags, on_disk.out());
  if (st == errSecSuccess) st = SecStaticCodeCheckValidity(on_disk.get(), kSecCSDoNotValidateResources, req);
  err = JudgeRequirement(st, on_disk.get() != nullptr ? on_disk.get() : code.get(), out, &passed);
  if (err != 0 || !passed) return err;

  SigningInfo info;
  err = AcceptSigner(code.get(), team_ids, team_count, out, &info);
  if (err != 0 || !out->ok) return err;
  if (live_err != 0) {  // no kernel CDHash for a process that claims a valid team signature: fail closed
    SetNo(out, "cdhash-mismatch", 0);
    return 0;
  }
  switch (BindCdhash(before, token, info)) {
    case Binding::kBound: return 0;
    case Binding::kGone: SetNo(out, "process-exited", 0); return 0;
    case Binding::kMismatch: SetNo(out, "cdhash-mismatch", 0); return 0;
  }
  return 0;
}

int VerifyPath(const char* path, SecRequirementRef req, const char* const* team_ids, size_t team_count,
               oc_team_result_t* out) {
  CFRef<SecStaticCodeRef> code;
  OSStatus st = errSecSuccess;
  int err = StaticCodeForPath(path, code.out(), &st);
  if (err != 0) return err;
  if (st == errSecSuccess) {
    st = SecStaticCodeCheckValidity(code.get(), kSecCSCheckAllArchitectures | kSecCSStrictValidate, req);
  }
  bool passed = false;
  err = JudgeRequirement(st, code.get(), out, &passed);
  if (err != 0 || !passed) return err;
  SigningInfo info;
  return AcceptSigner(code.get(), team_ids, team_count, out, &info);
}

}  // namespace

int oc_code_identity(const oc_code_target_t* target, oc_code_identity_t* out) {
  if (target == nullptr || out == nullptr) return EINVAL;
  out->pid = -1;
  if (target->kind == OC_TARGET_PATH) {
    if (target->path == nullptr || target->path[0] == '\0') return EINVAL;
    return IdentityOfPath(target->path, out);
  }
  if (target->kind != OC_TARGET_PEER && target->kind != OC_TARGET_PID) return EINVAL;
  audit_token_t token;
  int err = TokenForTarget(target, &token);
  if (err != 0) return err;
  return IdentityOfToken(token, out);
}

int oc_verify_team_id(const oc_code_target_t* target, const char* const* team_ids, size_t team_count,
                      const char* signing_id, oc_team_result_t* out) {
  if (target == nullptr || out == nullptr || team_ids == nullptr) return EINVAL;
  // oc_team_requirement rejects any character outside [A-Z0-9] (team) / [A-Za-z0-9._-] (identifier), so
  // nothing caller-controlled can change the requirement's structure.
  char text[kMaxRequirement];
  int err = oc_team_requirement(team_ids, team_count, signing_id, text, sizeof(text));
  if (err != 0) return err;
  CFRef<CFStringRef> req_text(CFStringCreateWithCString(kCFAllocatorDefault, text, kCFStringEncodingUTF8));
  if (req_text.get() == nullptr) return ENOMEM;
  CFRef<SecRequirementRef> req;
  OSStatus st = SecRequirementCreateWithString(req_text.get(), kSecCSDefaultFlags, req.out());
  if (st != errSecSuccess) {
    out->os_status = st;
    return EIO;
  }
  if (target->kind == OC_TARGET_PATH) {
    if (target->path == nullptr || target->path[0] == '\0') return EINVAL;
    return VerifyPath(target->path, req.get(), team_ids, team_count, out);
  }
  if (target->kind != OC_TARGET_PEER && target->kind != OC_TARGET_PID) return EINVAL;
  audit_token_t token;
  err = TokenForTarget(target, &token);
  if (err == ESRCH) {
    SetNo(out, "process-exited", 0);
    return 0;
  }
  if (err != 0) return err;
  return VerifyProcess(token, req.get(), team_ids, team_count, out);
}
