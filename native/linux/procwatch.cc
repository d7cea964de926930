// Linux parts of the runner (platform.h §4): a pidfd polls readable once its process has exited, and it
// is opened by pid after posix_spawn: the child is unreaped, so the pid cannot be reused meanwhile.
#include "../platform.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int oc_pipe_cloexec(int fds[2], int nonblock) {
  if (pipe2(fds, O_CLOEXEC | (nonblock ? O_NONBLOCK : 0)) != 0) return errno;
  return 0;
}

int oc_spawn_prepare(posix_spawn_file_actions_t* actions, short* flags, int exec_fd) {
  (void)flags;  // a pidfd sees an exit that happened before pidfd_open: no need to start suspended
  // Every other descriptor is closed, whether or not someone forgot O_CLOEXEC (glibc >= 2.34).
  if (exec_fd < 3) return posix_spawn_file_actions_addclosefrom_np(actions, 3);
  // exec_fd itself must survive until the exec resolves /proc/self/fd/N; its FD_CLOEXEC closes it there.
  // glibc ignores EBADF from close actions, so closing fds that are not open is harmless.
  for (int fd = 3; fd < exec_fd; fd++) {
    int err = posix_spawn_file_actions_addclose(actions, fd);
    if (err != 0) return err;
  }
  return posix_spawn_file_actions_addclosefrom_np(actions, exec_fd + 1);
}

int oc_spawn_exec_fd_path(int exec_fd, char* buf, size_t len) {
  if (exec_fd < 3) return EINVAL;
  int fd_flags = fcntl(exec_fd, F_GETFD);
  if (fd_flags < 0) return errno;
  if (!(fd_flags & FD_CLOEXEC)) return EINVAL;
  int n = snprintf(buf, len, "/proc/self/fd/%d", exec_fd);
  if (n < 0 || static_cast<size_t>(n) >= len) return ERANGE;
  return 0;
}

int oc_proc_exit_fd(int32_t pid, int32_t* fd) { return oc_pidfd_open(pid, fd); }

int oc_spawn_resume(int32_t pid) {
  (void)pid;
  return 0;
}
