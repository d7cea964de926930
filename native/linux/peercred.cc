// Linux peer credentials: SO_PEERCRED (connect-time snapshot) and SO_PEERPIDFD (kernel >= 6.5), plus the
// pidfd helpers that pin a pid to one process instance.
#include "../platform.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

// SO_PEERCRED "succeeds" on TCP and unconnected sockets with uid -1 / pid 0; name the real problem.
static int no_peer_error(int fd) {
  int domain = 0;
  socklen_t len = sizeof(domain);
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0) return errno;
  return domain == AF_UNIX ? ENOTCONN : EAFNOSUPPORT;
}

static int read_ucred(int fd, struct ucred* cred) {
  socklen_t len = sizeof(*cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, &len) != 0) return errno;
  if (len != sizeof(*cred)) return EINVAL;
  if (cred->pid == 0 && cred->uid == (uid_t)-1) return no_peer_error(fd);
  return 0;
}

int oc_peer_uid(int fd, int32_t* uid) {
  struct ucred cred;
  int err = read_ucred(fd, &cred);
  if (err != 0) return err;
  *uid = (int32_t)cred.uid;
  return 0;
}

int oc_peer_cred(int fd, int want_pidfd, oc_peercred_t* out) {
  struct ucred cred;
  int err = read_ucred(fd, &cred);
  if (err != 0) return err;
  out->pid = cred.pid > 0 ? (int32_t)cred.pid : -1;
  out->uid = (int32_t)cred.uid;
  out->gid = (int32_t)cred.gid;
  out->pid_version = -1;
  out->has_audit_token = 0;
  out->pidfd = -1;
  if (!want_pidfd) return 0;

  int pidfd = -1;
  socklen_t pidfd_len = sizeof(pidfd);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &pidfd_len) == 0) {
    if (pidfd_len == sizeof(int) && pidfd >= 0) {
      out->pidfd = pidfd;
    } else if (pidfd >= 0) {
      close(pidfd);
    }
  }
  // Otherwise ENOPROTOOPT (kernel < 6.5) or ENODATA/ESRCH/EINVAL (no live peer): "no pidfd",
  // which callers see as pidReliable:false.
  return 0;
}

int oc_pidfd_alive(int pidfd, int32_t* alive) {
  if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0) {
    *alive = 1;
    return 0;
  }
  if (errno == ESRCH) {
    *alive = 0;
    return 0;
  }
  // EPERM means the process exists but we may not signal it (another uid, we are unprivileged).
  if (errno == EPERM) {
    *alive = 1;
    return 0;
  }
  return errno;
}

int oc_pidfd_open(int32_t pid, int32_t* pidfd) {
  if (pid <= 0) return ESRCH;
  long fd = syscall(SYS_pidfd_open, (pid_t)pid, 0);  // pidfds are always O_CLOEXEC
  if (fd < 0) return errno;
  *pidfd = (int32_t)fd;
  return 0;
}

int oc_process_executable(int32_t pid, int32_t pidfd, char* path, size_t path_cap) {
  if (pid <= 0 || path_cap == 0) return EINVAL;
  int32_t alive = 0;
  int err = oc_pidfd_alive(pidfd, &alive);
  if (err != 0) return err;
  if (!alive) return ESRCH;
  char link[64];
  snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
  ssize_t n = readlink(link, path, path_cap - 1);
  if (n < 0) return errno == ENOENT ? ESRCH : errno;
  path[n] = '\0';
  // Confirm afterwards: if the pidfd's process died, /proc/<pid> may already describe a newcomer.
  err = oc_pidfd_alive(pidfd, &alive);
  if (err != 0) return err;
  return alive ? 0 : ESRCH;
}

// Linux has no audit tokens: process handles are pidfds (above).
int oc_token_alive(const uint8_t* token, size_t token_len, int32_t* alive) {
  (void)token;
  (void)token_len;
  (void)alive;
  return ENOSYS;
}

int oc_token_executable(const uint8_t* token, size_t token_len, char* path, size_t path_cap) {
  (void)token;
  (void)token_len;
  (void)path;
  (void)path_cap;
  return ENOSYS;
}
