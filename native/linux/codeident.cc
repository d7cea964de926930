// Linux code identity: no code signatures, so the identity is the executable itself (path + SHA-256),
// read through /proc and trusted only while the pidfd says the same process instance is alive.
#include "../platform.h"
#include "../posix/sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

void SetReason(char* dst, size_t cap, const char* reason) { snprintf(dst, cap, "%s", reason); }

// Opens the running executable of the process pinned by pidfd. The open fd pins the inode the process
// executes, so hashing it later describes that binary even if the path is replaced meanwhile.
int OpenProcessExe(int32_t pid, int32_t pidfd, oc_code_identity_t* out, int* exe_fd) {
  char link[64];
  snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
  int fd = open(link, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    int32_t alive = 0;
    if (oc_pidfd_alive(pidfd, &alive) == 0 && !alive) return ESRCH;
    return err == ENOENT ? ESRCH : err;
  }
  int err = oc_process_executable(pid, pidfd, out->executable, sizeof(out->executable));
  if (err != 0) {
    close(fd);
    return err;
  }
  *exe_fd = fd;
  return 0;
}

int ResolvePid(const oc_code_target_t* target, int32_t* pid, int32_t* pidfd, bool* owned) {
  *owned = false;
  if (target->kind == OC_TARGET_PEER) {
    if (target->peer == nullptr || target->peer->pid <= 0) return ESRCH;
    *pid = target->peer->pid;
    if (target->peer->pidfd >= 0) {
      *pidfd = target->peer->pidfd;
      return 0;
    }
    // No SO_PEERPIDFD (old kernel): pin what the pid is now; the caller reported pidReliable:false.
  } else {
    *pid = target->pid;
  }
  int err = oc_pidfd_open(*pid, pidfd);
  if (err != 0) return err;
  *owned = true;
  return 0;
}

}  // namespace

int oc_code_identity(const oc_code_target_t* target, oc_code_identity_t* out) {
  if (target == nullptr || out == nullptr) return EINVAL;
  int exe_fd = -1;
  out->pid = -1;
  if (target->kind == OC_TARGET_PATH) {
    if (target->path == nullptr) return EINVAL;
    // O_NONBLOCK so a FIFO cannot stall open(); only regular files are hashed (not /dev/zero, FIFOs).
    exe_fd = open(target->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (exe_fd < 0) return errno;
    struct stat st;
    if (fstat(exe_fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      int err = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
      close(exe_fd);
      return err;
    }
    char resolved[PATH_MAX];
    char fdlink[64];
    snprintf(fdlink, sizeof(fdlink), "/proc/self/fd/%d", exe_fd);
    ssize_t n = readlink(fdlink, resolved, sizeof(resolved) - 1);
    if (n < 0) {
      int err = errno;
      close(exe_fd);
      return err;
    }
    resolved[n] = '\0';
    SetReason(out->executable, sizeof(out->executable), resolved);
  } else if (target->kind == OC_TARGET_PEER || target->kind == OC_TARGET_PID) {
    int32_t pid = -1, pidfd = -1;
    bool owned = false;
    int err = ResolvePid(target, &pid, &pidfd, &owned);
    if (err != 0) return err;
    err = OpenProcessExe(pid, pidfd, out, &exe_fd);
    if (owned) close(pidfd);
    if (err != 0) return err;
    out->pid = pid;
  } else {
    return EINVAL;
  }
  int err = oc_sha256_fd(exe_fd, out->sha256);
  close(exe_fd);
  if (err != 0) return err;
  out->has_sha256 = 1;
  out->is_signed = 0;
  out->valid = 0;
  out->adhoc = 0;
  out->has_cdhash = 0;
  out->team_id[0] = '\0';
  out->signing_id[0] = '\0';
  out->os_status = 0;
  SetReason(out->reason, sizeof(out->reason), "unsupported-platform");
  return 0;
}

int oc_verify_team_id(const oc_code_target_t* target, const char* const* team_ids, size_t team_count,
                      const char* signing_id, oc_team_result_t* out) {
  if (target == nullptr || out == nullptr) return EINVAL;
  // Linux has no code signatures: a TeamID requirement can never be satisfied (fail closed).
  out->ok = 0;
  out->team_id[0] = '\0';
  out->signing_id[0] = '\0';
  out->os_status = 0;
  SetReason(out->reason, sizeof(out->reason), "unsupported-platform");
  return 0;
}
