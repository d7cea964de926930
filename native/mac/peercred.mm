// macOS peer credentials of a connected AF_UNIX socket, and process handles by audit token (platform.h §1).
//
// Three kernel views of the peer, captured at different times (xnu bsd/kern/uipc_usrreq.c):
//   LOCAL_PEERCRED  (struct xucred): euid/egid snapshot taken at connect() (listen() for the server side);
//   LOCAL_PEERPID   : pid of the last process that did I/O on the peer socket, read now;
//   LOCAL_PEERTOKEN (audit_token_t): that same last process's audit token, read now.
// They can name different processes when the fd was inherited or passed, so the token (the only view
// bound to one process instance) is cross-checked against the connect-time uid.
#include <errno.h>
#include <libproc.h>
#include <string.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/ucred.h>
#include <sys/un.h>
#include <unistd.h>
#include <bsm/libbsm.h>

#include "../platform.h"

// The token is copied into a fixed 32-byte field shared with other platforms: prove it fits exactly.
static_assert(sizeof(audit_token_t) == 32, "audit_token_t is 8 x uint32");
static_assert(sizeof(((oc_peercred_t*)nullptr)->audit_token) == sizeof(audit_token_t), "oc_peercred_t token size");
// SOL_LOCAL/LOCAL_* come from <sys/un.h>; pin the values so a header mix-up cannot ship a wrong constant
// (one project shipped 0x005 for LOCAL_PEERTOKEN and failed closed on every connection).
static_assert(SOL_LOCAL == 0 && LOCAL_PEERCRED == 1 && LOCAL_PEERPID == 2 && LOCAL_PEERTOKEN == 6,
              "bsd/sys/un.h constants");

// Private libsystem_kernel syscall wrapper (xnu bsd/sys/codesign.h; also used by codesign.mm). With a
// token, xnu's csops_internal compares the token's pid and pidversion (val[5], val[7]) with the live
// process under a proc reference and answers ESRCH on a mismatch or when no such live process exists.
extern "C" int csops_audittoken(pid_t pid, unsigned int ops, void* useraddr, size_t usersize, audit_token_t* token);

namespace {

constexpr unsigned int kCsOpsStatus = 0;  // CS_OPS_STATUS: readable for any process, no privilege needed

// SOL_LOCAL is 0, which is also IPPROTO_IP: on a TCP socket LOCAL_PEERCRED (1) reads IP_OPTIONS instead
// and can "succeed" with garbage (getpeereid() has exactly this hole). Confirm AF_UNIX before any query.
int RequireUnixSocket(int fd) {
  struct sockaddr_storage addr;
  socklen_t len = sizeof(addr);
  memset(&addr, 0, sizeof(addr));
  if (getsockname(fd, reinterpret_cast<struct sockaddr*>(&addr), &len) != 0) return errno;  // EBADF, ENOTSOCK
  if (addr.ss_family != AF_UNIX) return EAFNOSUPPORT;
  return 0;
}

// Reads one fixed-size SOL_LOCAL option; a short answer is an error, never a partially filled value.
int GetLocalOpt(int fd, int option, void* value, socklen_t size) {
  socklen_t len = size;
  if (getsockopt(fd, SOL_LOCAL, option, value, &len) != 0) return errno;
  if (len != size) return EPROTO;
  return 0;
}

// Connect-time euid/egid. xnu answers EINVAL (datagram) or ENOTCONN (stream) when the socket never had a
// peer; the socket is already known to be AF_UNIX with a correctly sized buffer, so both mean "no peer".
int ConnectTimeCred(int fd, uid_t* uid, gid_t* gid) {
  struct xucred cred;
  memset(&cred, 0, sizeof(cred));
  int err = GetLocalOpt(fd, LOCAL_PEERCRED, &cred, sizeof(cred));
  if (err == EINVAL) return ENOTCONN;
  if (err != 0) return err;
  if (cred.cr_version != XUCRED_VERSION || cred.cr_ngroups < 1) return EPROTO;
  *uid = cred.cr_uid;
  *gid = cred.cr_groups[0];  // the effective gid, as getpeereid() reports it
  return 0;
}

}  // namespace

int oc_peer_uid(int fd, int32_t* uid) {
  int err = RequireUnixSocket(fd);
  if (err != 0) return err;
  uid_t u;
  gid_t g;
  err = ConnectTimeCred(fd, &u, &g);
  if (err != 0) return err;
  *uid = static_cast<int32_t>(u);
  return 0;
}

int oc_peer_cred(int fd, int want_pidfd, oc_peercred_t* out) {
  (void)want_pidfd;  // macOS has no pidfds; the audit token plays that role
  int err = RequireUnixSocket(fd);
  if (err != 0) return err;
  uid_t uid;
  gid_t gid;
  err = ConnectTimeCred(fd, &uid, &gid);
  if (err != 0) return err;

  audit_token_t token;
  memset(&token, 0, sizeof(token));
  err = GetLocalOpt(fd, LOCAL_PEERTOKEN, &token, sizeof(token));
  // xnu answers EINVAL when proc_find(last_pid) fails: the peer's last process has exited. The socket is
  // known to be AF_UNIX and the buffer is the right size, so that is the only EINVAL left.
  if (err == EINVAL) return ESRCH;
  if (err != 0) return err;
  // LOCAL_PEERPID reads the same last_pid the token was taken from. A different answer means a second
  // process did I/O on the peer socket in between: the peer is shared and "who" is ambiguous.
  pid_t last_pid = -1;
  err = GetLocalOpt(fd, LOCAL_PEERPID, &last_pid, sizeof(last_pid));
  if (err != 0) return err;
  if (last_pid != audit_token_to_pid(token)) return OC_ERR_PEER_CHANGED;
  // The connect-time uid is what the server authorised; the token is who is on the other end now.
  // If they disagree the fd changed hands (inherited or passed): refuse rather than guess.
  if (audit_token_to_euid(token) != uid) return OC_ERR_PEER_UID_MISMATCH;

  out->uid = static_cast<int32_t>(uid);
  out->gid = static_cast<int32_t>(gid);
  out->pid = static_cast<int32_t>(audit_token_to_pid(token));
  out->pid_version = static_cast<int32_t>(audit_token_to_pidversion(token));
  out->pidfd = -1;
  memcpy(out->audit_token, &token, sizeof(token));
  out->has_audit_token = 1;
  return 0;
}

// No pidfds on macOS: liveness of a specific process instance is the audit token's pidversion
// (oc_token_alive below; the code-identity functions check it the same way).
int oc_pidfd_alive(int pidfd, int32_t* alive) {
  (void)pidfd;
  (void)alive;
  return ENOSYS;
}

int oc_pidfd_open(int32_t pid, int32_t* pidfd) {
  (void)pid;
  (void)pidfd;
  return ENOSYS;
}

// proc_pidpath() describes whatever process holds `pid` now: without a pidfd this cannot be pinned to one
// process instance (racy by nature on macOS). Handles use oc_token_executable instead.
int oc_process_executable(int32_t pid, int32_t pidfd, char* path, size_t path_cap) {
  (void)pidfd;
  if (pid <= 0 || path == nullptr || path_cap == 0) return EINVAL;
  char buf[PROC_PIDPATHINFO_MAXSIZE];
  int n = proc_pidpath(pid, buf, sizeof(buf));
  if (n <= 0) return errno != 0 ? errno : ESRCH;
  size_t len = static_cast<size_t>(n) < sizeof(buf) ? static_cast<size_t>(n) : sizeof(buf) - 1;
  if (len >= path_cap) len = path_cap - 1;  // contract: truncate, never overflow
  memcpy(path, buf, len);
  path[len] = '\0';
  return 0;
}

namespace {

int TokenFrom(const uint8_t* bytes, size_t len, audit_token_t* token) {
  if (bytes == nullptr || len != sizeof(audit_token_t)) return EINVAL;
  memcpy(token, bytes, sizeof(audit_token_t));
  if (audit_token_to_pid(*token) <= 0) return EINVAL;
  return 0;
}

// 0 while the token's process instance is alive, ESRCH once it is gone (exited, zombie, or pid reused:
// xnu gives every new process a fresh pidversion), another errno if the kernel refused to answer.
int TokenCheck(const audit_token_t& token) {
  audit_token_t copy = token;  // the kernel takes a non-const pointer
  uint32_t status = 0;
  if (csops_audittoken(audit_token_to_pid(token), kCsOpsStatus, &status, sizeof(status), &copy) != 0) return errno;
  return 0;
}

}  // namespace

int oc_token_alive(const uint8_t* token_bytes, size_t token_len, int32_t* alive) {
  audit_token_t token;
  int err = TokenFrom(token_bytes, token_len, &token);
  if (err != 0) return err;
  err = TokenCheck(token);
  if (err == ESRCH) {
    *alive = 0;
    return 0;
  }
  if (err != 0) return err;
  *alive = 1;
  return 0;
}

// proc_pidpath takes a bare pid, so the token is checked before and after the read: while the token's
// process is alive its pid cannot name another process, so a path read between two successful checks
// belongs to that process (the same check-read-check as the Linux pidfd version).
int oc_token_executable(const uint8_t* token_bytes, size_t token_len, char* path, size_t path_cap) {
  if (path == nullptr || path_cap == 0) return EINVAL;
  audit_token_t token;
  int err = TokenFrom(token_bytes, token_len, &token);
  if (err != 0) return err;
  err = TokenCheck(token);
  if (err != 0) return err;
  char buf[PROC_PIDPATHINFO_MAXSIZE];
  int n = proc_pidpath(audit_token_to_pid(token), buf, sizeof(buf));
  if (n <= 0) return errno != 0 && errno != ESRCH ? errno : ESRCH;
  err = TokenCheck(token);
  if (err != 0) return err;
  size_t len = static_cast<size_t>(n) < sizeof(buf) ? static_cast<size_t>(n) : sizeof(buf) - 1;
  if (len >= path_cap) len = path_cap - 1;  // contract: truncate, never overflow
  memcpy(path, buf, len);
  path[len] = '\0';
  return 0;
}
