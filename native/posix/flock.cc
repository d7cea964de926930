// Advisory whole-file locks with flock(2), the same call on Linux and macOS. The kernel drops the lock
// when the last fd of the open file description closes, so a crashed holder never leaves a stale lock.
#include "../platform.h"

#include <errno.h>
#include <sys/file.h>

int oc_flock(int fd, int op) {
  int how;
  switch (op) {
    case OC_FLOCK_TRY_EXCLUSIVE:
      how = LOCK_EX | LOCK_NB;
      break;
    case OC_FLOCK_UNLOCK:
      how = LOCK_UN;
      break;
    default:
      return EINVAL;
  }
  for (;;) {
    if (flock(fd, how) == 0) return 0;
    if (errno == EINTR) continue;
    // Linux and macOS both give EWOULDBLOCK (== EAGAIN) for a lock held elsewhere; report one value.
    return errno == EWOULDBLOCK ? EAGAIN : errno;
  }
}
