// Linux peer credentials: SO_PEERCRED (connect-time snapshot) and SO_PEERPIDFD (kernel >= 6.5).
#include "../platform.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

int oc_peer_uid(int fd, int32_t* uid) {
  struct ucred cred;
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return errno;
  if (len != sizeof(cred)) return EINVAL;
  *uid = (int32_t)cred.uid;
  return 0;
}

int oc_peer_cred(int fd, oc_peercred_t* out) {
  struct ucred cred;
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return errno;
  if (len != sizeof(cred)) return EINVAL;
  out->pid = cred.pid > 0 ? (int32_t)cred.pid : -1;
  out->uid = (int32_t)cred.uid;
  out->gid = (int32_t)cred.gid;
  out->pid_version = -1;
  out->has_audit_token = 0;

  int pidfd = -1;
  socklen_t pidfd_len = sizeof(pidfd);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &pidfd_len) == 0 && pidfd_len == sizeof(int)) {
    out->pidfd = pidfd;
  } else {
    // ENOPROTOOPT: kernel without SO_PEERPIDFD; ENODATA/ESRCH/EINVAL: no live peer process.
    // All mean "no pidfd", which callers see as pidReliable:false.
    out->pidfd = -1;
  }
  return 0;
}
