// Portable C API implemented once per OS. No N-API types here: native/addon.cc is the only file that
// talks to Node. Which file implements what is chosen by binding.gyp / CMakeLists.txt, not by #ifdef:
//
//   section               Linux                                  macOS
//   peer credentials      native/linux/peercred.cc               native/mac/peercred.mm
//   process handles       native/linux/peercred.cc (pidfd)       native/mac/peercred.mm (audit token)
//   code identity/TeamID  native/linux/codeident.cc              native/mac/codesign.mm
//   requirement string    native/posix/requirement.cc (shared by both)
//   TCC permissions       native/linux/tcc.cc (not-applicable)   native/mac/tcc.mm
//   process runner        native/posix/spawn.cc (shared) + native/linux/procwatch.cc / native/mac/procwatch.cc
//   file locks            native/posix/flock.cc (shared by both)
//   socket peer state     native/posix/socket-state.cc (shared by both)
//
// Conventions for every function below:
//   * return 0 on success, otherwise a POSITIVE errno value (never -1, never a negative errno);
//   * OS-specific status codes (macOS OSStatus) go in the result struct's `os_status` field, and the
//     function then returns 0 if the outcome is an expected "no" (see each contract) or EIO/EPERM etc.;
//   * "non-blocking" = a few syscalls, safe on the JS thread; "BLOCKING" = may hash files, wait on the
//     OS or the user: addon.cc calls it only from an AsyncWorker / own thread, never the JS thread;
//   * strings in result structs are NUL-terminated and truncated to fit (never overflow);
//   * out-structs are zeroed by the caller before the call; the callee fills every field it knows.
#pragma once
#include <spawn.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---------------------------------------------------------------------------------------------
// 1. Peer credentials of a connected AF_UNIX socket
// ---------------------------------------------------------------------------------------------

typedef struct {
  int32_t pid;          // -1 when the OS cannot tell
  int32_t uid;          // effective uid (Linux: SO_PEERCRED; macOS: getpeereid)
  int32_t gid;          // effective gid
  int32_t pidfd;        // Linux SO_PEERPIDFD (O_CLOEXEC), -1 when absent (ENOPROTOOPT etc.) or not Linux.
                        // Ownership passes to the caller, who must close it.
  int32_t pid_version;  // macOS audit-token pidversion, -1 elsewhere
  uint8_t audit_token[32];  // macOS LOCAL_PEERTOKEN (audit_token_t), zero elsewhere
  int32_t has_audit_token;  // 1 when audit_token is filled
} oc_peercred_t;

// Errors shared by oc_peer_uid / oc_peer_cred (both OSes must map to these):
//   EBADF closed fd; ENOTSOCK not a socket; EAFNOSUPPORT a socket but not AF_UNIX (TCP…);
//   ENOTCONN an AF_UNIX socket without a peer. Never report a uid that the OS did not give
//   (Linux SO_PEERCRED answers uid -1 / pid 0 for TCP and unconnected sockets: that is an error).
//
// macOS-only results of oc_peer_cred, outside every errno range (added by the macOS sources):
//   OC_ERR_PEER_UID_MISMATCH  the audit token's euid (now) differs from the connect-time LOCAL_PEERCRED
//                             uid: the fd changed hands (inherited/passed). Fail closed.
//                             addon.cc should surface it as code "ERR_PEERCRED_UID_MISMATCH".
//   OC_ERR_PEER_CHANGED       LOCAL_PEERPID and the audit token's pid disagree: two processes share the
//                             peer socket, so "who" is ambiguous. Code "ERR_PEERCRED_PEER_CHANGED".
#define OC_ERR_PEER_UID_MISMATCH 0x4f430001
#define OC_ERR_PEER_CHANGED 0x4f430002

// Non-blocking. Effective uid of the peer (the cheap path: one getsockopt when it succeeds).
int oc_peer_uid(int fd, int32_t* uid);

// Non-blocking. Full credentials plus the strongest identity the OS offers (pidfd / audit token).
// want_pidfd = 0: do not create (or immediately close) the pidfd, out->pidfd = -1.
int oc_peer_cred(int fd, int want_pidfd, oc_peercred_t* out);

// Non-blocking. Is the process behind a process handle still the same, live process?
// Linux: handle = pidfd, checked with pidfd_send_signal(pidfd, 0) (ESRCH -> *alive = 0).
// macOS: no pidfds; return ENOSYS (use oc_token_alive with the audit token instead).
int oc_pidfd_alive(int pidfd, int32_t* alive);

// Non-blocking. Linux: pidfd_open(pid, 0) with O_CLOEXEC semantics; ESRCH if no such pid, ENOSYS if
// the kernel lacks pidfd_open. The caller owns and closes *pidfd. macOS: returns ENOSYS.
int oc_pidfd_open(int32_t pid, int32_t* pidfd);

// Non-blocking (one readlink). Executable path of `pid`, confirmed afterwards with the pidfd (Linux):
// returns ESRCH if the process exited (or the pid was reused: the pidfd is dead) before or during the
// read, so a recycled pid is never described. Deleted executables keep the kernel's " (deleted)" suffix.
int oc_process_executable(int32_t pid, int32_t pidfd, char* path, size_t path_cap);

// Process handles by audit token (macOS; the token comes from oc_peer_cred, 32 bytes). A token names
// one process instance: pid + pidversion (xnu gives each new process a fresh pidversion; exec keeps it,
// like a Linux pidfd survives exec). Both functions ask the kernel to compare the token's pid and
// pidversion with the live process (csops_audittoken: ESRCH on a mismatch), which is the best check
// macOS offers without a pidfd. Linux (no audit tokens): both return ENOSYS.
//
// Non-blocking (one syscall). *alive = 1 while that very process is alive; 0 once it exited (also when
// it is a zombie) or its pid was reused. Other failures (e.g. EPERM from a sandbox) are returned.
int oc_token_alive(const uint8_t* token, size_t token_len, int32_t* alive);

// Non-blocking (proc_pidpath between two token checks). Executable path of the token's process;
// ESRCH if it exited or the pid was reused before or during the read, so a recycled pid is never
// described. EINVAL if token_len != 32 or path_cap == 0. Truncates to path_cap (NUL-terminated).
int oc_token_executable(const uint8_t* token, size_t token_len, char* path, size_t path_cap);

// ---------------------------------------------------------------------------------------------
// 2. Code identity and TeamID verification
// ---------------------------------------------------------------------------------------------

enum {
  OC_TARGET_PEER = 1,  // a connected peer: `peer` holds credentials captured on the JS thread
                       // (Linux: peer->pidfd; macOS: peer->audit_token, never the bare pid)
  OC_TARGET_PID = 2,   // a pid (Linux: pinned with pidfd_open before reading; macOS: racy by nature,
                       // use kSecGuestAttributePid and say so in `reason` only on failure)
  OC_TARGET_PATH = 3,  // a file or bundle on disk (macOS: SecStaticCodeCreateWithPath)
};

typedef struct {
  int32_t kind;               // OC_TARGET_*
  const oc_peercred_t* peer;  // OC_TARGET_PEER; owned by the caller for the duration of the call
  int32_t pid;                // OC_TARGET_PID
  const char* path;           // OC_TARGET_PATH (UTF-8, absolute or relative to cwd)
} oc_code_target_t;

typedef struct {
  char executable[4096];  // resolved executable (Linux: /proc/<pid>/exe; macOS: SecCodeCopyPath)
  int32_t is_signed;      // 1 signed (incl. ad-hoc), 0 unsigned / not applicable
  int32_t valid;          // 1 if the signature validated (SecCodeCheckValidity with no requirement)
  int32_t adhoc;          // 1 for ad-hoc signatures (kSecCodeSignatureAdhoc)
  char team_id[16];       // kSecCodeInfoTeamIdentifier, "" when none (always "" on Linux)
  char signing_id[256];   // kSecCodeInfoIdentifier, "" when none
  uint8_t cdhash[20];     // macOS live/static CDHash (SHA-1 width, as the kernel reports it)
  int32_t has_cdhash;
  uint8_t sha256[32];     // Linux: SHA-256 of the executable file's bytes
  int32_t has_sha256;
  int32_t pid;            // the process described (-1 for OC_TARGET_PATH)
  char reason[64];        // why not signed/valid: "unsupported-platform", "unsigned", "invalid-signature"…
  int32_t os_status;      // macOS OSStatus of the failing Security call, 0 otherwise
} oc_code_identity_t;

// BLOCKING (hashes the executable / validates signatures): worker thread only.
// Returns ESRCH when the target process exited (pidfd dead / audit token stale), ENOENT/EACCES for
// paths, EIO with os_status set for unexpected Security.framework failures. An unsigned or invalid
// binary is NOT an error: return 0 with is_signed/valid = 0 and `reason` filled.
int oc_code_identity(const oc_code_target_t* target, oc_code_identity_t* out);

typedef struct {
  int32_t ok;             // 1 = satisfies "anchor apple generic and certificate leaf[subject.OU] = <one of>"
  char team_id[16];       // matched TeamID when ok
  char signing_id[256];   // identifier when ok
  char reason[64];        // when !ok: "unsupported-platform" (Linux), "unsigned", "adhoc",
                          // "requirement-failed", "invalid-signature", "process-exited"
  int32_t os_status;      // OSStatus behind `reason` (e.g. errSecCSReqFailed), 0 otherwise
} oc_team_result_t;

// BLOCKING: worker thread only. team_ids are pre-validated by TypeScript (^[A-Z0-9]{10}$, 1..32 of
// them); signing_id is optional (NULL or [A-Za-z0-9._-]+) and, if given, is pinned with `identifier`.
// Build the requirement with oc_team_requirement(). A "no" is ok = 0 with reason and return 0.
// Linux: always ok = 0, reason "unsupported-platform" (fail closed), return 0.
int oc_verify_team_id(const oc_code_target_t* target, const char* const* team_ids, size_t team_count,
                      const char* signing_id, oc_team_result_t* out);

// Non-blocking, portable (native/posix/requirement.cc). Writes
//   [identifier "<signing_id>" and ]anchor apple generic and (certificate leaf[subject.OU] = "<T1>" or …)
// into buf. EINVAL on an empty list or any character outside the allowed sets (team [A-Z0-9]{10},
// identifier [A-Za-z0-9._-]{1,255}); ERANGE if buf is too small. Never emits unescaped quotes.
int oc_team_requirement(const char* const* team_ids, size_t team_count, const char* signing_id, char* buf,
                        size_t buf_cap);

// ---------------------------------------------------------------------------------------------
// 3. TCC permissions (macOS privacy); Linux answers "not-applicable" for every known name
// ---------------------------------------------------------------------------------------------

// Permission names (exactly as TypeScript passes them): "notifications", "screenRecording",
// "microphone", "camera", "speechRecognition", "appleScript", "accessibility".
enum {
  OC_TCC_GRANTED = 0,
  OC_TCC_DENIED = 1,
  OC_TCC_NOT_DETERMINED = 2,
  OC_TCC_RESTRICTED = 3,
  OC_TCC_UNKNOWN = 4,         // could not tell: `reason` says why (e.g. "no-app-bundle", "timeout")
  OC_TCC_NOT_APPLICABLE = 5,  // this OS has no such permission (Linux)
};

typedef struct {
  int32_t status;    // OC_TCC_*
  char reason[128];  // optional detail: "target-not-running" (AppleEvents procNotFound), "timeout"…
  int32_t os_status; // OSStatus where one exists (AEDeterminePermissionToAutomateTarget), else 0
} oc_tcc_result_t;

// BLOCKING (may wait for a completion handler, bounded by timeout_ms): worker thread only; must not
// need the main run loop. target_bundle_id is used for "appleScript" (TS default com.apple.Terminal),
// NULL otherwise. Unknown name -> EINVAL (TS rejects those first). Never prompts.
int oc_tcc_status(const char* permission, const char* target_bundle_id, int32_t timeout_ms,
                  oc_tcc_result_t* out);

// BLOCKING (may show a system prompt and wait for the user, bounded by timeout_ms; on timeout return 0
// with status OC_TCC_UNKNOWN, reason "timeout"): worker thread only. Same names and errors as above.
int oc_tcc_request(const char* permission, const char* target_bundle_id, int32_t timeout_ms,
                   oc_tcc_result_t* out);

// ---------------------------------------------------------------------------------------------
// 4. Process runner (posix_spawn). The runner itself is native/posix/spawn.cc (both OSes); these are
//    its per-OS parts (Linux: native/linux/procwatch.cc, macOS: native/mac/procwatch.cc). The
//    runner calls them in this order for each child:
//      oc_pipe_cloexec (stdio pipes) -> oc_spawn_prepare -> posix_spawn -> oc_proc_exit_fd
//      -> oc_spawn_resume (always, even when oc_proc_exit_fd failed) -> poll / waitpid.
// ---------------------------------------------------------------------------------------------

// Non-blocking. pipe() with FD_CLOEXEC on both ends (and O_NONBLOCK on both when nonblock != 0).
// Linux: pipe2, atomic. macOS has no pipe2: pipe + fcntl, so a fork() by another thread in between
// could inherit the fds (posix_spawn children are unaffected: they get only fds 0-2, see below).
int oc_pipe_cloexec(int fds[2], int nonblock);

// Non-blocking. OS-specific posix_spawn setup, called after the three stdio dup2 actions were added.
// Contract: afterwards only fds 0, 1, 2 reach the child, and the child cannot exit before
// oc_spawn_resume (so oc_proc_exit_fd can never miss the exit). May add bits to *flags (the caller
// passes them to posix_spawnattr_setflags). Returns 0 or the failing call's error.
// exec_fd (-1 for none) is the fd given to oc_spawn_exec_fd_path: it also stays open in the child up to
// the exec, which closes it (it is FD_CLOEXEC), so the executed program never holds it.
// Linux: posix_spawn_file_actions_addclosefrom_np(3) (glibc >= 2.34), or around exec_fd; a pidfd sees
// any exit, no suspend.
// macOS: POSIX_SPAWN_CLOEXEC_DEFAULT (+ addinherit_np for 0-2) and POSIX_SPAWN_START_SUSPENDED;
// ENOTSUP for exec_fd >= 0.
int oc_spawn_prepare(posix_spawn_file_actions_t* actions, short* flags, int exec_fd);

// Non-blocking. The path that makes posix_spawn execute the already-open file exec_fd (fexecve through
// posix_spawn): what was checked through that fd is what runs, whatever is renamed over its path after
// the check. Writes a NUL-terminated path into buf. EBADF if exec_fd is not open, EINVAL if it is below
// 3 or lacks FD_CLOEXEC (it would leak into the program), ERANGE if len is too small.
// Linux: "/proc/self/fd/N" (resolved by the kernel in the child, which has inherited fd N); a script is
// handed to its interpreter as /dev/fd/N, which the exec has closed, so callers use this for binaries.
// macOS: ENOTSUP (no fexecve, and posix_spawn takes only a path).
int oc_spawn_exec_fd_path(int exec_fd, char* buf, size_t len);

// Non-blocking. A file descriptor that polls readable (POLLIN) once `pid` (a child of this process,
// not yet reaped) has exited; the caller owns it and still reaps with waitpid(pid). It may turn
// readable a moment before waitpid(WNOHANG) can reap (macOS posts NOTE_EXIT just before the zombie
// state). ENOSYS where unsupported (then the runner is unavailable).
int oc_proc_exit_fd(int32_t pid, int32_t* fd);

// Non-blocking. Lets a child prepared by oc_spawn_prepare run (macOS: SIGCONT to the suspended child;
// Linux: nothing). Must be called before the runner waits for the child; when the runner gives up on a
// child it sends SIGKILL first and then calls this, so the child dies without running.
int oc_spawn_resume(int32_t pid);

// ---------------------------------------------------------------------------------------------
// 5. File locks (native/posix/flock.cc, both OSes): flock(2) on an open fd. Advisory, whole-file, held by
//    the open file description and released by the kernel when it closes (also on a crash).
// ---------------------------------------------------------------------------------------------

enum {
  OC_FLOCK_UNLOCK = 0,
  OC_FLOCK_TRY_EXCLUSIVE = 1,  // LOCK_EX | LOCK_NB: never waits
};

// Non-blocking (never waits for the lock; EINTR is retried). Returns 0 when done, EAGAIN when another
// open file description holds the lock, EBADF / EINVAL (unknown op) / ENOLCK / EOPNOTSUPP otherwise.
int oc_flock(int fd, int op);

// ---------------------------------------------------------------------------------------------
// 6. Socket peer state (native/posix/socket-state.cc, both OSes)
// ---------------------------------------------------------------------------------------------

// Non-blocking (one poll with a zero timeout). *hung_up = 1 when the peer of the connected stream socket
// `fd` has closed its end completely, 0 while it is still there, including after it only shut down its
// writing side (shutdown(SHUT_WR) / Node's socket.end()): a client that half-closes after its request is
// still waiting for the answer. Both OSes report the full close as POLLHUP on a POLLOUT poll:
// Linux sets it once both directions are shut (unix_release_sock sets SHUTDOWN_MASK on the peer), macOS
// when the send side can take no more (soisdisconnected -> EV_EOF on EVFILT_WRITE); a half-close sets only
// the receive side on both. POLLERR counts as hung up; POLLNVAL returns EBADF.
int oc_socket_hung_up(int fd, int32_t* hung_up);

#ifdef __cplusplus
}
#endif
