// macOS parts of the runner (platform.h §4). No pidfds and no pipe2 here; instead:
//   * exit fd: a kqueue holding one EVFILT_PROC/NOTE_EXIT knote. A kqueue fd polls readable while an
//     event is pending, and nobody ever collects it with kevent(), so it stays readable until closed:
//     exactly the pidfd contract the supervisor's poll loop relies on.
//   * no missed exits: a knote only sees events after it is attached (xnu filt_procattach: "only captures
//     edge-triggered events after this point"), so the child is started suspended
//     (POSIX_SPAWN_START_SUSPENDED: "as if it immediately received a SIGSTOP"), the knote attached, and
//     only then the child resumed with SIGCONT.
//   * fd hygiene: POSIX_SPAWN_CLOEXEC_DEFAULT (Apple extension) closes every fd in the child except the
//     targets of file actions, i.e. the stdio dup2s; addinherit_np(0..2) also covers a dup2 whose source
//     already was that number (a no-op dup2 would not clear close-on-exec).
#include "../platform.h"

#include <AvailabilityMacros.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/event.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

// posix_spawn_file_actions_addchdir_np (used by native/posix/spawn.cc for `cwd`) exists from macOS 10.15.
// Below that it would be weak-linked and NULL at run time; refuse to build instead.
#if !defined(MAC_OS_X_VERSION_MIN_REQUIRED) || MAC_OS_X_VERSION_MIN_REQUIRED < 101500
#error "the runner needs MACOSX_DEPLOYMENT_TARGET >= 10.15 (posix_spawn_file_actions_addchdir_np)"
#endif

namespace {

int SetFdFlag(int fd, int get, int set, int flag) {
  int flags = fcntl(fd, get);
  if (flags < 0 || fcntl(fd, set, flags | flag) != 0) return errno;
  return 0;
}

// Makes the kqueue readable now (the exit already happened or is under way, so no NOTE_EXIT will come).
int TriggerNow(int kq) {
  struct kevent ev;
  EV_SET(&ev, 1, EVFILT_USER, EV_ADD | EV_CLEAR, NOTE_TRIGGER, 0, nullptr);
  if (kevent(kq, &ev, 1, nullptr, 0, nullptr) != 0) return errno;
  return 0;
}

// True once `pid` (our unreaped child) is a zombie; WNOWAIT leaves it for the runner's waitpid.
bool AlreadyExited(pid_t pid) {
  siginfo_t info;
  info.si_pid = 0;
  if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return false;
  return info.si_pid == pid;
}

}  // namespace

int oc_pipe_cloexec(int fds[2], int nonblock) {
  if (pipe(fds) != 0) return errno;
  int err = 0;
  for (int i = 0; i < 2 && err == 0; i++) {
    err = SetFdFlag(fds[i], F_GETFD, F_SETFD, FD_CLOEXEC);
    if (err == 0 && nonblock) err = SetFdFlag(fds[i], F_GETFL, F_SETFL, O_NONBLOCK);
  }
  if (err != 0) {
    close(fds[0]);
    close(fds[1]);
    fds[0] = fds[1] = -1;
  }
  return err;
}

int oc_spawn_prepare(posix_spawn_file_actions_t* actions, short* flags, int exec_fd) {
  if (exec_fd >= 0) return ENOTSUP;  // see oc_spawn_exec_fd_path
  for (int fd = 0; fd <= 2; fd++) {
    int err = posix_spawn_file_actions_addinherit_np(actions, fd);
    if (err != 0) return err;
  }
  *flags |= POSIX_SPAWN_CLOEXEC_DEFAULT | POSIX_SPAWN_START_SUSPENDED;
  return 0;
}

// No fexecve on macOS and posix_spawn takes only a path (/dev/fd/N would name a closed fd in the child):
// callers re-check the file's identity right before spawning instead, which leaves a short window.
int oc_spawn_exec_fd_path(int exec_fd, char* buf, size_t len) {
  (void)exec_fd;
  (void)buf;
  (void)len;
  return ENOTSUP;
}

int oc_proc_exit_fd(int32_t pid, int32_t* fd) {
  if (pid <= 0) return ESRCH;
  int kq = kqueue();  // kqueues are not inherited by children; FD_CLOEXEC anyway, for exec in place
  if (kq < 0) return errno;
  int err = SetFdFlag(kq, F_GETFD, F_SETFD, FD_CLOEXEC);
  if (err == 0) {
    struct kevent ev;
    EV_SET(&ev, static_cast<uintptr_t>(pid), EVFILT_PROC, EV_ADD, NOTE_EXIT, 0, nullptr);
    if (kevent(kq, &ev, 1, nullptr, 0, nullptr) != 0) {
      // ESRCH: the child already exited (only an outside SIGKILL can do that while it is suspended);
      // it is still ours to reap, so report "exited" instead of failing.
      err = errno == ESRCH ? TriggerNow(kq) : errno;
    } else if (AlreadyExited(pid)) {
      err = TriggerNow(kq);
    }
  }
  if (err != 0) {
    close(kq);
    return err;
  }
  *fd = kq;
  return 0;
}

int oc_spawn_resume(int32_t pid) {
  if (kill(static_cast<pid_t>(pid), SIGCONT) != 0) return errno;
  return 0;
}
