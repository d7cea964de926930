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
#include <time.h>
#include <unistd.h>

#include <deque>
#include <mutex>

namespace {

void SetReason(char* dst, size_t cap, const char* reason) { snprintf(dst, cap, "%s", reason); }

// Digest cache: hashing a 100 MB node binary takes ~1 s, and a server asks about the same executables
// again and again. The key includes ctime, which the kernel bumps on every content or metadata change,
// so a rewritten file misses the cache. Bounded, and shared by the worker threads under a mutex.
struct DigestKey {
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime, ctime;
  bool operator==(const DigestKey& o) const {
    return dev == o.dev && ino == o.ino && size == o.size && mtime.tv_sec == o.mtime.tv_sec &&
           mtime.tv_nsec == o.mtime.tv_nsec && ctime.tv_sec == o.ctime.tv_sec && ctime.tv_nsec == o.ctime.tv_nsec;
  }
};

struct DigestEntry {
  DigestKey key;
  uint8_t digest[32];
};

const size_t kDigestCacheSize = 64;
const int64_t kRacyWindowMs = 50;  // > one timestamp tick (jiffy-based, up to 10 ms)
std::mutex g_digest_mu;
std::deque<DigestEntry> g_digests;  // most recent first

int HashFile(int fd, uint8_t digest[32]) {
  struct stat st;
  if (fstat(fd, &st) != 0) return errno;
  DigestKey key{st.st_dev, st.st_ino, st.st_size, st.st_mtim, st.st_ctim};
  {
    std::lock_guard<std::mutex> lock(g_digest_mu);
    for (auto it = g_digests.begin(); it != g_digests.end(); ++it) {
      if (it->key == key) {
        memcpy(digest, it->digest, 32);
        DigestEntry hit = *it;
        g_digests.erase(it);
        g_digests.push_front(hit);
        return 0;
      }
    }
  }
  int err = oc_sha256_fd(fd, digest);
  if (err != 0) return err;
  // Re-check: a write during hashing changes ctime, and then the digest must not be cached.
  struct stat after;
  if (fstat(fd, &after) != 0) return 0;
  DigestKey after_key{after.st_dev, after.st_ino, after.st_size, after.st_mtim, after.st_ctim};
  if (!(after_key == key)) return 0;
  // Timestamps move in kernel ticks: a write in the same tick as the last change leaves ctime as it was.
  // Cache only once the last change is older than a tick (with margin), as git does for "racy" entries.
  struct timespec now;
  if (clock_gettime(CLOCK_REALTIME, &now) != 0) return 0;
  int64_t age_ms = (static_cast<int64_t>(now.tv_sec) - after.st_ctim.tv_sec) * 1000 + (now.tv_nsec - after.st_ctim.tv_nsec) / 1000000;
  if (age_ms < kRacyWindowMs) return 0;
  std::lock_guard<std::mutex> lock(g_digest_mu);
  DigestEntry entry;
  entry.key = key;
  memcpy(entry.digest, digest, 32);
  g_digests.push_front(entry);
  if (g_digests.size() > kDigestCacheSize) g_digests.pop_back();
  return 0;
}

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
  int err = HashFile(exe_fd, out->sha256);
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
