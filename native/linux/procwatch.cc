// Linux parts of the runner (platform.h §4): a pidfd polls readable once its process has exited, and it
// is opened by pid after posix_spawn: the child is unreaped, so the pid cannot be reused meanwhile.
#include "../platform.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int oc_pipe_cloexec(int fds[2], int nonblock) {
  if (pipe2(fds, O_CLOEXEC | (nonblock ? O_NONBLOCK : 0)) != 0) return errno;
  return 0;
}

int oc_spawn_prepare(posix_spawn_file_actions_t* actions, short* flags) {
  (void)flags;  // a pidfd sees an exit that happened before pidfd_open: no need to start suspended
  // Every other descriptor is closed, whether or not someone forgot O_CLOEXEC (glibc >= 2.34).
  return posix_spawn_file_actions_addclosefrom_np(actions, 3);
}

int oc_proc_exit_fd(int32_t pid, int32_t* fd) { return oc_pidfd_open(pid, fd); }

int oc_spawn_resume(int32_t pid) {
  (void)pid;
  return 0;
}
